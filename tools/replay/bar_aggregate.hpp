// SPDX-License-Identifier: Apache-2.0
#pragma once

// Bars of any interval folded from base bars, the forming state of a base bar at one of its
// updates, and their kline JSON. One fold serves the stream frames, REST klines and the tickers,
// so a higher-interval bar has the same doubles (and text) wherever it appears: open = first
// open, close = last close, high = max, low = min, volumes, quote volumes, trades and taker
// volumes summed left to right.
//
// Values remember where they came from. Prices are always some base bar's own field, so they keep
// the source's text; a sum over two or more bars is formatted so that it parses back to exactly
// the double the fold computed.

#include <array>
#include <cstdint>
#include <string>

#include "common/interval.hpp"
#include "common/kline_csv.hpp"
#include "tools/replay/market.hpp"

namespace screener::replay {

inline constexpr std::int64_t kComputed = -1;  ///< Val::source: text is formatted from the value
inline constexpr std::int64_t kPartial = -2;   ///< Val::source: text is the forming bar's

/// A folded value and where its text comes from: a base bar index (that bar's text of the same
/// field), kPartial or kComputed.
struct Val {
  double value = 0;
  std::int64_t source = kComputed;
};

/// A base bar part-way through: its state at forming update `update` of `updates`.
struct FormingBar {
  std::size_t index = 0;   ///< the base bar
  bool complete = false;   ///< the last update: the bar's own final values (fold the bar itself)
  shm::Bar bar{};
  std::array<std::string, kKlineFieldCount> text;
  std::int64_t first_id = -1;
  std::int64_t last_id = -1;
};

/// Several base bars (and possibly one forming bar) folded into one bar.
struct BarAgg {
  std::int64_t open_time_ms = 0;  ///< of the aggregated bar (set by the caller)
  std::size_t bars = 0;           ///< base bars folded, the forming one included
  Val open, high, low, close, volume, quote_volume, taker_base, taker_quote;
  std::int64_t trades = 0;
  std::int64_t first_id = -1;
  std::int64_t last_id = -1;
};

void fold_bar(BarAgg& agg, const SymbolBars& symbol, std::size_t index);
void fold_forming(BarAgg& agg, const SymbolBars& symbol, const FormingBar& forming);

/// The state of base bar `index` after update `update` (0-based) of `updates`: the fraction
/// (update + 1) / updates of its volume and trades, its price on a path open → first extreme →
/// second extreme → close (low first on rising bars). The high never falls and the low never
/// rises from one update to the next, and the last update is the bar itself.
[[nodiscard]] FormingBar make_forming(const SymbolBars& symbol, std::size_t index, std::uint32_t update,
                                      std::uint32_t updates);

/// Appends the text of `value` (field `field`) without quotes.
void append_val(std::string& out, const Val& value, KlineField field, const SymbolBars& symbol,
                const FormingBar* forming);

/// Appends a kline event payload (section 5.1 of the protocol notes).
void append_kline_event(std::string& out, std::int64_t event_ms, const SymbolBars& symbol, Interval interval,
                        const BarAgg& agg, bool closed, const FormingBar* forming);

/// Appends one REST klines element: [t,"o","h","l","c","v",T,"q",n,"V","Q","0"].
void append_kline_array(std::string& out, const SymbolBars& symbol, Interval interval, const BarAgg& agg,
                        const FormingBar* forming);

}  // namespace screener::replay
