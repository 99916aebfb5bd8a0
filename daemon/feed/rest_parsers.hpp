// SPDX-License-Identifier: Apache-2.0
#pragma once

// Parsers of Binance spot REST bodies for start-up and backfill: /api/v3/klines,
// /api/v3/exchangeInfo, /api/v3/ticker/24hr and error bodies.
//
// The whole body is validated (simdjson DOM) before anything is returned. Nothing throws on bad
// input: a failure is a std::unexpected message that says what was wrong and where, with the
// values found, e.g. `klines[12][4] (close): expected a decimal string, got number`. (Memory
// exhaustion still surfaces as std::bad_alloc, as from any container.)
//
// Bars pass the same checks as live klines (validation.hpp). Times must be milliseconds: a body
// fetched with `X-MBX-TIME-UNIT: MICROSECOND` fails the close-time check.

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/interval.hpp"
#include "common/segment_layout.hpp"

namespace screener::feed {

/// One element of a /api/v3/klines response.
struct RestKline {
  shm::Bar bar;
  std::int64_t close_time_ms;  ///< as sent; equals bar_close_time(interval, open time), checked
};

/// Parses the array of 12-value arrays of /api/v3/klines for `interval`. Elements must be in
/// strictly increasing open-time order. Values after the 12th are ignored (room for a future
/// column). A request without endTime returns the still-open candle last; telling it apart
/// (close_time_ms >= now) is the caller's business.
[[nodiscard]] std::expected<std::vector<RestKline>, std::string> parse_klines_response(std::string_view body,
                                                                                       Interval interval);

struct SymbolListing {
  std::string symbol;             ///< UTF-8 bytes, as sent; may exceed shm::kSymbolNameCapacity (caller filters)
  std::string base_asset;
  std::string quote_asset;
  shm::TradingStatus status;      ///< TradingStatus::Unknown for any status this build does not know
  std::string status_text;        ///< the status as sent, e.g. "FOO_BAR"
  double tick_size;               ///< PRICE_FILTER tickSize; 0 when the symbol has no PRICE_FILTER
  double step_size;               ///< LOT_SIZE stepSize; 0 when the symbol has no LOT_SIZE
  bool spot_allowed;              ///< isSpotTradingAllowed; true when the field is absent
};

struct ExchangeInfo {
  std::vector<SymbolListing> symbols;
  /// REQUEST_WEIGHT limit as a per-minute rate: limit * 60 s / (intervalNum * interval length),
  /// rounded down (e.g. 6000 per 5 MINUTE -> 1200; 100 per 10 SECOND -> 600). With several
  /// REQUEST_WEIGHT entries, the smallest per-minute figure. 0 when none is listed.
  std::int64_t request_weight_per_minute;
  std::int64_t server_time_ms;
};

/// Parses /api/v3/exchangeInfo, both the 2021 shape and current ones (permissionSets, NOTIONAL,
/// CANCEL_ONLY…). Unknown keys, filter types and statuses are not errors.
[[nodiscard]] std::expected<ExchangeInfo, std::string> parse_exchange_info(std::string_view body);

/// Binance's symbol status name -> enum; TradingStatus::Unknown for anything else.
[[nodiscard]] shm::TradingStatus parse_trading_status(std::string_view status) noexcept;

struct TickerSnapshot {
  std::string symbol;
  shm::Ticker ticker;  ///< event_time_ms = closeTime; price_change(_pct) derived from last and open
};

/// Parses /api/v3/ticker/24hr in FULL or MINI form: an array, or one object (single `symbol`).
[[nodiscard]] std::expected<std::vector<TickerSnapshot>, std::string> parse_ticker_24hr(std::string_view body);

struct ErrorBody {
  std::int64_t code;  ///< e.g. -1121
  std::string msg;    ///< e.g. "Invalid symbol."
};

/// Recognises {"code":-1121,"msg":"Invalid symbol."}; nullopt for anything else.
[[nodiscard]] std::optional<ErrorBody> parse_error_body(std::string_view body);

}  // namespace screener::feed
