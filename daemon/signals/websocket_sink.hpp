// SPDX-License-Identifier: Apache-2.0
#pragma once

// A WebSocket endpoint for live signals: clients connect to ws://HOST:PORT/signals (every
// signal) or /signals?trader=A&trader=B (those traders' signals) and receive each signal's JSON
// as one text message. The server runs on the sink's own thread; a client that cannot keep up
// (more than `queue` messages waiting for it) is dropped with a close frame saying so.

#include <memory>
#include <string>
#include <string_view>
#include <expected>
#include <vector>

#include "config/screener_config.hpp"
#include "daemon/signals/sink_fanout.hpp"

namespace screener::signals {

[[nodiscard]] std::unique_ptr<SignalSink> make_websocket_sink(const config::SinkConfig& config);

/// The traders a request target subscribes to: "/signals" (all: empty list) or
/// "/signals?trader=A&trader=B"; an error for another path or parameter.
[[nodiscard]] std::expected<std::vector<std::string>, std::string> parse_signals_target(std::string_view target);

}  // namespace screener::signals
