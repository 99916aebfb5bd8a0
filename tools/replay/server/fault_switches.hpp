// SPDX-License-Identifier: Apache-2.0
#pragma once

// Fault switches: the ways screener-replay misbehaves on purpose so that tests can watch a client
// recover. Set from the command line (armed for every connection) or at run time through
// POST /replay/fault?<name>=<value>. The frame mutations live here too: they are pure text work.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace screener::replay {

/// Standing fault rules. Zero means off. "after N frames" counts the frames sent on each
/// connection, from its opening (command line) or from the moment the rule is set (run time).
struct FaultOptions {
  std::uint64_t drop_after_frames = 0;              ///< close the TCP connection after N frames
  std::uint64_t stall_after_frames = 0;             ///< then go silent for stall_ms (once per connection)
  std::uint64_t stall_ms = 0;
  std::uint64_t malformed_every = 0;                ///< every Nth frame of a connection is malformed
  std::uint64_t server_shutdown_after_frames = 0;   ///< send !serverShutdown after N frames (once)
  std::uint64_t rest_429 = 0;                       ///< answer the next N REST requests with 429
  std::uint64_t rest_418 = 0;                       ///< answer the next N REST requests with 418
  std::uint64_t skip_closed = 0;                    ///< drop the next N x=true kline frames for everyone
};

/// A change of one symbol's exchange status (ExchangeModel::set_listing_status).
struct StatusChange {
  std::string symbol;   ///< as listed: "BTCUSDT"
  std::string status;   ///< a Binance symbol status: "BREAK", "TRADING", …
};

/// A status change due `after` the market clock starts, in wall time (--status-after-ms).
struct ScheduledStatusChange {
  StatusChange change;
  std::chrono::milliseconds after{0};
};

/// One-shot actions a runtime request can ask for besides changing the rules.
struct FaultActions {
  bool drop_now = false;
  bool server_shutdown_now = false;
  bool stall_now = false;                            ///< stall every connection for stall_ms now
  std::vector<StatusChange> status_changes;          ///< status=<SYMBOL>:<STATUS>, in order
};

/// Whether `status` is one of Binance's spot symbol statuses (PRE_TRADING, TRADING, POST_TRADING,
/// END_OF_DAY, HALT, AUCTION_MATCH, BREAK).
[[nodiscard]] bool is_symbol_status(std::string_view status) noexcept;

/// Parses "<SYMBOL>:<STATUS>" (split at the last ':'); an error text when malformed or when the
/// status is not a Binance symbol status. Whether the symbol is listed is the model's to say.
[[nodiscard]] std::optional<std::string> parse_status_change(std::string_view text, StatusChange& out);

/// Applies one `name=value` of POST /replay/fault to `rules`/`actions`. Returns an error text
/// when the name is unknown or the value is not what the name takes.
[[nodiscard]] std::optional<std::string> apply_fault_param(std::string_view name, std::string_view value,
                                                           FaultOptions& rules, FaultActions& actions);

/// `rules` as a JSON object.
[[nodiscard]] std::string faults_json(const FaultOptions& rules);

/// The kinds of malformed frame, in the order --malformed-every rotates through them.
enum class MalformedKind : std::uint8_t { BadJson, Truncated, NegativePrice, HighBelowLow, MisalignedOpenTime };
inline constexpr int kMalformedKinds = 5;

[[nodiscard]] std::string_view malformed_kind_name(MalformedKind kind) noexcept;

/// Whether `payload` is a kline event whose bar is closed ("x":true).
[[nodiscard]] bool is_closed_kline(std::string_view stream, std::string_view payload) noexcept;

/// Turns the wire text of a frame (`wire`, raw payload or combined wrapper) into a malformed one
/// of `kind`, by mutating the real kline inside it. The kline-specific kinds fall back to a
/// truncated frame when `wire` holds no kline.
[[nodiscard]] std::string make_malformed(std::string_view wire, MalformedKind kind);

}  // namespace screener::replay
