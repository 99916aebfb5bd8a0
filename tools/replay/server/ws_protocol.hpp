// SPDX-License-Identifier: Apache-2.0
#pragma once

// Binance's market-stream protocol as text, without sockets: which streams a connection URL
// asks for, what a live control message means, and the exact replies. Kept apart from the
// Beast code so it is cheap to compile and to test.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/json_escape.hpp"

namespace screener::replay {

/// Binance's limit of streams on one connection.
inline constexpr std::size_t kMaxStreamsPerConnection = 1024;
/// Stream every connection receives without subscribing.
inline constexpr std::string_view kServerShutdownStream = "!serverShutdown";

/// Decodes %XY escapes ("+" stays "+": Binance stream URLs never use form encoding).
[[nodiscard]] std::string percent_decode(std::string_view text);

/// Value of `key` in a raw query string ("a=1&b=2"), percent-decoded; nothing when absent.
[[nodiscard]] std::optional<std::string> query_param(std::string_view query, std::string_view key);

/// Every key=value pair of a raw query string, percent-decoded, in order.
[[nodiscard]] std::vector<std::pair<std::string, std::string>> query_params(std::string_view query);

/// What a WebSocket upgrade URL asks for.
struct StreamRequest {
  bool combined = false;               ///< /stream wraps frames; /ws sends payloads
  std::vector<std::string> streams;    ///< initial subscriptions, in URL order, without duplicates
};

/// Parses "/ws", "/ws/<s1>/<s2>", "/stream", "/stream?streams=<s1>/<s2>". Nothing when the path is
/// neither. Stream names are kept exactly as sent: Binance matches them case-sensitively.
[[nodiscard]] std::optional<StreamRequest> parse_stream_target(std::string_view target);

/// Whether `name` can be a stream name at all (not whether the market has it: like Binance, a
/// well-formed name of an unknown symbol is accepted and simply never sends anything).
[[nodiscard]] bool is_valid_stream_name(std::string_view name) noexcept;

enum class ControlMethod { Subscribe, Unsubscribe, ListSubscriptions, SetProperty, GetProperty };

/// A well-formed live control message.
struct ControlRequest {
  ControlMethod method = ControlMethod::ListSubscriptions;
  std::string id_json = "null";        ///< the request id, as JSON to echo back
  std::vector<std::string> streams;    ///< SUBSCRIBE / UNSUBSCRIBE
  bool combined = false;               ///< SET_PROPERTY value
};

/// A rejected control message: Binance's code and text, and the id to echo when it was readable.
struct ControlError {
  int code = 2;
  std::string msg;
  std::string id_json = "null";
};

/// Parses one text frame sent by a client, with Binance's validation order and error codes.
[[nodiscard]] std::variant<ControlRequest, ControlError> parse_control_message(std::string_view text);

/// {"result":null,"id":<id>}
[[nodiscard]] std::string control_result_null(std::string_view id_json);
/// {"result":true|false,"id":<id>}
[[nodiscard]] std::string control_result_bool(bool value, std::string_view id_json);
/// {"result":["a","b"],"id":<id>}
[[nodiscard]] std::string control_result_list(const std::vector<std::string>& streams, std::string_view id_json);
/// {"error":{"code":<n>,"msg":"..."},"id":<id>}: the shape Binance puts on the wire (its docs
/// table shows only the inner object).
[[nodiscard]] std::string control_error_reply(const ControlError& error);

/// {"stream":"<name>","data":<payload>}
[[nodiscard]] std::string wrap_combined(std::string_view stream, std::string_view payload);

using screener::json_escape;

}  // namespace screener::replay
