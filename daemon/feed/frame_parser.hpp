// SPDX-License-Identifier: Apache-2.0
#pragma once

// Parses the text frames of a Binance spot market-data WebSocket: combined-stream frames
// ({"stream":"…","data":…}), raw-stream payloads, and replies to SUBSCRIBE & co.
//
// Contract:
//   * A frame is validated completely before anything is delivered: every field a handler
//     receives has passed its type, range and consistency checks (validation.hpp), and the
//     document's structure has been walked to its end (truncated or trailing bytes are BadJson).
//     So a malformed frame never reaches the segment. Values of keys this parser does not use
//     are skipped structurally, not grammar-checked (simdjson on-demand).
//   * One parser per connection, reused for every frame. Buffers grow by powers of two up to
//     the largest frame seen, after which parsing allocates nothing. Not thread-safe.
//   * Nothing throws. Handlers are noexcept and are called at most once per frame, after
//     validation, from inside parse(). String views handed to them point into the parser's
//     buffers and are valid only for the duration of the callback.
//   * Keys are case-sensitive ("t" open time, "T" close time); unknown keys are ignored; key
//     order does not matter.
//   * Symbols are UTF-8 byte strings, not [A-Z0-9]+; the stream-name check folds ASCII case only
//     and, for a symbol with non-ASCII bytes, checks only the "@kline_<i>" / "@miniTicker" suffix
//     (Binance does not document how it lower-cases non-ASCII names).
//   * Timestamps must be milliseconds: a connection opened with timeUnit=MICROSECOND yields
//     klines refused with CloseTimeMismatch. Klines of the "@+08:00" time-zone variant are
//     refused with StreamMismatch (their bars are not UTC-aligned).

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "common/interval.hpp"
#include "common/segment_layout.hpp"
#include "daemon/feed/validation.hpp"

namespace screener::feed {

/// Bytes that must be allocated (readable) after a frame for parse_padded to parse it in place.
inline constexpr std::size_t kFramePadding = 64;  // SIMDJSON_PADDING; asserted in the .cpp

/// One kline event (<symbol>@kline_<interval>), validated.
struct KlineUpdate {
  std::string_view symbol;       ///< the payload's "s", UTF-8 bytes; valid during the callback only
  Interval interval;
  shm::Bar bar;                  ///< t, o, h, l, c, v, q, n, V, Q
  bool closed;                   ///< k.x: this is the bar's final update
  std::int64_t event_time_ms;    ///< E
  std::int64_t first_trade_id;   ///< k.f; -1 for a candle without trades
  std::int64_t last_trade_id;    ///< k.L; -1 for a candle without trades
};

/// One 24hrMiniTicker element. price_change = c - o; price_change_pct = (c - o) / o * 100, 0 when o == 0.
struct MiniTickerUpdate {
  std::string_view symbol;       ///< valid during the callback only
  shm::Ticker ticker;            ///< event_time_ms = the element's own E (elements of one array differ)
};

/// A reply to a SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS / SET_PROPERTY / GET_PROPERTY request.
struct ControlReply {
  static constexpr std::int64_t kNoId = -1;
  std::int64_t id;               ///< the request's id; kNoId when the reply has "id": null or none
  bool ok;                       ///< "result" present and no "code"/"error"
  std::int64_t error_code;       ///< "code" (top level or inside "error"); 0 when ok
  std::string_view detail;       ///< ok: raw JSON text of "result" ("null", "[\"btcusdt@kline_1m\"]");
                                 ///< error: "msg". Valid during the callback only.
};

/// Receives validated frames. Called from inside FrameParser::parse, at most once per frame.
class FrameHandler {
 public:
  virtual ~FrameHandler() = default;
  virtual void on_kline(const KlineUpdate& update) noexcept = 0;
  /// !miniTicker@arr (the whole array, never empty) or a single <symbol>@miniTicker (span of 1).
  virtual void on_mini_tickers(std::span<const MiniTickerUpdate> updates) noexcept = 0;
  /// The server will close this connection soon: open a new one now.
  virtual void on_server_shutdown(std::int64_t event_time_ms) noexcept = 0;
  virtual void on_control_reply(const ControlReply& reply) noexcept = 0;
};

enum class FrameOutcome : std::uint8_t {
  Delivered,  ///< validated and handed to the handler
  Ignored,    ///< well-formed but not for us: depth, bookTicker, aggTrade, other events and arrays
  Rejected,   ///< malformed or inconsistent; nothing was delivered
  Count,
};
inline constexpr std::size_t kFrameOutcomeCount = static_cast<std::size_t>(FrameOutcome::Count);

/// What a frame turned out to be (as far as it was read before a rejection).
enum class FrameKind : std::uint8_t {
  Unknown,         ///< rejected before it could be told (bad JSON, not an object)
  Kline,
  MiniTickers,     ///< an array of 24hrMiniTicker, or one
  ServerShutdown,
  ControlReply,
  OtherEvent,      ///< an object with an "e" this parser does not handle (depthUpdate, aggTrade, 24hrTicker…)
  NoEventType,     ///< an object without "e" and not a control reply (bookTicker, partial depth)
  OtherArray,      ///< an array payload that is not mini tickers (e.g. !ticker_1h@arr)
  Count,
};
inline constexpr std::size_t kFrameKindCount = static_cast<std::size_t>(FrameKind::Count);

struct ParseResult {
  FrameOutcome outcome;
  FrameKind kind;
  RejectReason reason;  ///< RejectReason::None unless outcome == Rejected
};

/// Running counts since construction (or reset_stats). Every frame lands in exactly one outcome,
/// one kind, and, when rejected, one reason.
struct ParseStats {
  std::uint64_t frames = 0;
  std::uint64_t bytes = 0;
  std::uint64_t copied = 0;        ///< frames copied into the internal buffer for lack of padding
  std::uint64_t mini_tickers = 0;  ///< elements delivered through on_mini_tickers
  std::array<std::uint64_t, kFrameOutcomeCount> by_outcome{};
  std::array<std::uint64_t, kFrameKindCount> by_kind{};
  std::array<std::uint64_t, kRejectReasonCount> by_reason{};

  [[nodiscard]] std::uint64_t count(FrameOutcome outcome) const noexcept {
    return by_outcome[static_cast<std::size_t>(outcome)];
  }
  [[nodiscard]] std::uint64_t count(FrameKind kind) const noexcept { return by_kind[static_cast<std::size_t>(kind)]; }
  [[nodiscard]] std::uint64_t count(RejectReason reason) const noexcept {
    return by_reason[static_cast<std::size_t>(reason)];
  }
};

struct FrameParserOptions {
  std::size_t initial_capacity = 256 * 1024;       ///< bytes of document the parser is sized for up front
  std::size_t max_frame_bytes = 16 * 1024 * 1024;  ///< larger frames are rejected (TooLarge)
  std::size_t initial_mini_tickers = 4096;         ///< scratch elements reserved for !miniTicker@arr
};

class FrameParser {
 public:
  /// Allocates the parser's buffers (start-up; may throw std::bad_alloc like any allocation).
  explicit FrameParser(const FrameParserOptions& options = {});
  ~FrameParser();
  FrameParser(FrameParser&& other) noexcept;
  FrameParser& operator=(FrameParser&& other) noexcept;
  FrameParser(const FrameParser&) = delete;
  FrameParser& operator=(const FrameParser&) = delete;

  /// Parses one frame whose bytes end at frame.end(); copies it into an internal padded buffer
  /// (one memcpy, no allocation once warm), since nothing is known about the bytes after it.
  [[nodiscard]] ParseResult parse(std::string_view frame, FrameHandler& handler) noexcept;

  /// Parses `length` bytes at `data` in place when `capacity - length >= kFramePadding` (the
  /// bytes after the frame are readable, e.g. a receive buffer with spare room; their content
  /// does not matter), else like parse().
  [[nodiscard]] ParseResult parse_padded(const char* data, std::size_t length, std::size_t capacity,
                                         FrameHandler& handler) noexcept;

  [[nodiscard]] const ParseStats& stats() const noexcept;
  void reset_stats() noexcept;

 private:
  struct Impl;  // keeps simdjson.h (≈1 MB of header) out of every includer
  std::unique_ptr<Impl> impl_;
};

[[nodiscard]] const char* to_string(FrameOutcome outcome) noexcept;
[[nodiscard]] const char* to_string(FrameKind kind) noexcept;

}  // namespace screener::feed
