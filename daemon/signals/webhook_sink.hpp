// SPDX-License-Identifier: Apache-2.0
#pragma once

// POSTs each signal's JSON to a URL (Content-Type application/json, Idempotency-Key: the signal
// id, the configured extra headers), from its own thread. A network error, a timeout, 5xx, 408
// and 429 are retried with exponential backoff (backoff, doubling, capped at backoff_max; a
// Retry-After in seconds is honoured instead, up to 10 minutes), up to `retries` times, then the
// signal is given up (error log, `failed` counter). Other replies (2xx delivered, 4xx refused)
// end the signal's attempts. Deliveries pass a token bucket of max_per_minute per minute, with
// bursts of a tenth of that (at least 1). The queue is bounded: on overflow the oldest signal is
// dropped (counter, throttled log).

#include <memory>
#include <string>

#include "config/screener_config.hpp"
#include "daemon/signals/sink_fanout.hpp"

namespace boost::asio::ssl {
class context;
}

namespace screener::signals {

/// Throws std::runtime_error for an unusable URL or CA file.
[[nodiscard]] std::unique_ptr<SignalSink> make_webhook_sink(const config::SinkConfig& config,
                                                            const std::string& ca_file);

}  // namespace screener::signals
