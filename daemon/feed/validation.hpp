// SPDX-License-Identifier: Apache-2.0
#pragma once

// The checks every Binance value passes before it may reach the segment, shared by the live
// frame parser and the REST parsers so that a bar is accepted or refused by the same rules
// whichever path it came by.
//
// Decimals arrive as strings ("0.00000638"); they are converted with std::from_chars, which
// GCC 12 implements exactly rounded, so "0.00000638" becomes the same double as the literal
// 0.00000638. Nothing here allocates or throws.

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>

#include "common/interval.hpp"
#include "common/segment_layout.hpp"

namespace screener::feed {

/// Why a frame (or REST element) was refused. Every value names one real check.
enum class RejectReason : std::uint8_t {
  None = 0,            ///< not rejected
  BadJson,             ///< not well-formed JSON: syntax, truncation, trailing bytes, bad UTF-8 or escape
  TooLarge,            ///< larger than the parser's configured maximum, or no memory to hold it
  NotAnObject,         ///< the frame, its payload or an array element is not an object where one is needed
  MissingField,        ///< a required key is absent (keys are case-sensitive: "t" is not "T")
  WrongType,           ///< e.g. a number where Binance sends a decimal string, or a fraction for an id
  BadNumber,           ///< a decimal string that is not a number ("", "1.2.3", "12x"), or an int64 overflow
  NonFinite,           ///< "NaN", "inf", or a decimal beyond the range of a double
  NegativeValue,       ///< a price, volume, count, time or trade id (below -1) that is negative
  BadSymbol,           ///< symbol empty, longer than shm::kSymbolNameCapacity bytes, or containing NUL
  HighBelowLow,        ///< high < low
  OpenOutsideRange,    ///< kline open not within [low, high]
  CloseOutsideRange,   ///< kline close not within [low, high]
  TakerExceedsTotal,   ///< taker buy volume (V or Q) above the total volume (v or q)
  UnknownInterval,     ///< k.i is not one of Binance's sixteen interval names
  MisalignedOpenTime,  ///< k.t is not a bar boundary of k.i
  CloseTimeMismatch,   ///< k.T != bar_close_time(k.i, k.t), e.g. microsecond timestamps
  SymbolMismatch,      ///< k.s != s
  StreamMismatch,      ///< the combined-stream name contradicts the payload (symbol, interval or event type)
  Count,
};
inline constexpr std::size_t kRejectReasonCount = static_cast<std::size_t>(RejectReason::Count);

/// Stable, greppable name of a reason ("HighBelowLow"); "?" for out-of-range values.
[[nodiscard]] const char* to_string(RejectReason reason) noexcept;

/// Converts a Binance decimal string. Accepts what std::from_chars(general) accepts and nothing
/// around it: no spaces, no '+'. Refuses non-finite and negative results; -0 becomes +0.
[[nodiscard]] inline RejectReason parse_decimal(std::string_view text, double& out) noexcept {
  const char* const last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(text.data(), last, out);
  if (ec == std::errc::result_out_of_range) return RejectReason::NonFinite;
  if (ec != std::errc{} || end != last) return RejectReason::BadNumber;
  if (!std::isfinite(out)) return RejectReason::NonFinite;  // "nan", "inf", "infinity"
  if (out < 0) return RejectReason::NegativeValue;
  if (out == 0) out = 0.0;  // a "-0.0" must not leak a sign bit into the segment
  return RejectReason::None;
}

/// A symbol the segment can store: 1..kSymbolNameCapacity bytes of UTF-8 without NUL (the
/// segment NUL-pads names). Non-ASCII bytes are allowed: Binance symbols may be Unicode.
[[nodiscard]] constexpr RejectReason check_symbol(std::string_view symbol) noexcept {
  if (symbol.empty() || symbol.size() > shm::kSymbolNameCapacity) return RejectReason::BadSymbol;
  if (symbol.find('\0') != std::string_view::npos) return RejectReason::BadSymbol;
  return RejectReason::None;
}

/// The relations a finished bar must satisfy, given its decimals already passed parse_decimal.
/// Order matters only for which reason is reported when several apply.
[[nodiscard]] constexpr RejectReason check_bar(Interval interval, const shm::Bar& bar,
                                               std::int64_t close_time_ms) noexcept {
  if (bar.trades < 0 || bar.open_time_ms < 0) return RejectReason::NegativeValue;
  if (bar.high < bar.low) return RejectReason::HighBelowLow;
  if (bar.open < bar.low || bar.open > bar.high) return RejectReason::OpenOutsideRange;
  if (bar.close < bar.low || bar.close > bar.high) return RejectReason::CloseOutsideRange;
  // Decimal-to-double rounding is monotonic, so V <= v as decimals implies V <= v as doubles:
  // this cannot refuse an exact-equality case such as an all-taker candle.
  if (bar.taker_buy_base_volume > bar.volume || bar.taker_buy_quote_volume > bar.quote_volume)
    return RejectReason::TakerExceedsTotal;
  if (!is_bar_open_time(interval, bar.open_time_ms)) return RejectReason::MisalignedOpenTime;
  if (close_time_ms != bar_close_time(interval, bar.open_time_ms)) return RejectReason::CloseTimeMismatch;
  return RejectReason::None;
}

/// The relations of 24 h rolling statistics. Only high >= low is enforced, not open/last within
/// [low, high]: nothing documents that for symbols without trades in the window (halted or quiet
/// ones, whose open/high/low may be 0 beside a carried-forward last price), and one doubtful
/// element must not make a whole !miniTicker@arr frame, i.e. every symbol's update, be dropped.
[[nodiscard]] constexpr RejectReason check_ticker(const shm::Ticker& ticker) noexcept {
  if (ticker.event_time_ms < 0) return RejectReason::NegativeValue;
  if (ticker.high_24h < ticker.low_24h) return RejectReason::HighBelowLow;
  return RejectReason::None;
}

/// Fills the derived ticker fields the way the whole project defines them.
constexpr void derive_price_change(shm::Ticker& ticker) noexcept {
  ticker.price_change = ticker.last_price - ticker.open_24h;
  ticker.price_change_pct = ticker.open_24h != 0 ? ticker.price_change / ticker.open_24h * 100.0 : 0.0;
}

}  // namespace screener::feed
