// SPDX-License-Identifier: Apache-2.0
#pragma once

// The in-memory market every bar source turns into: per symbol, its listing and its closed base
// bars with their source texts, plus the timeline (sorted union of all base bar open times) that
// drives the clock. The synthetic source grows it lazily, so an endless market costs memory only
// for the time actually replayed.

#include <cstdint>
#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "common/kline_csv.hpp"
#include "tools/replay/exchange_model.hpp"

namespace screener::replay {

/// One listed symbol and its base bars.
struct SymbolBars {
  Listing listing;
  KlineSeries series;
  /// Per bar: the id its first trade gets (the next id when it has no trade); ids are synthetic
  /// for every source (archives carry none), consecutive across bars.
  std::vector<std::int64_t> first_trade_id;
  int price_decimals = 8;  ///< decimals of the tick size; interpolated forming prices use them

  [[nodiscard]] const shm::Bar& bar(std::size_t i) const noexcept { return series.bars()[i]; }
  [[nodiscard]] std::size_t size() const noexcept { return series.size(); }
  /// Binance's `f` and `L`: -1 when the bar has no trades.
  [[nodiscard]] std::int64_t first_id(std::size_t i) const noexcept {
    return bar(i).trades > 0 ? first_trade_id[i] : -1;
  }
  [[nodiscard]] std::int64_t last_id(std::size_t i) const noexcept {
    return bar(i).trades > 0 ? first_trade_id[i] + bar(i).trades - 1 : -1;
  }
  /// Index of the first bar opening at or after `time_ms`.
  [[nodiscard]] std::size_t lower_bound(std::int64_t time_ms) const noexcept;
};

class SyntheticGenerator;

class Market {
 public:
  Market();
  Market(Market&&) noexcept;
  Market& operator=(Market&&) noexcept;
  ~Market();

  /// The synthetic market of `source`, generated up to its first live bar (more on demand).
  [[nodiscard]] static std::expected<Market, std::string> synthetic(const SyntheticSource& source);
  /// A market over loaded series (one interval, unique symbols); listings are inferred: assets
  /// from known quote-asset suffixes, tick and step sizes from the decimals of the source texts.
  [[nodiscard]] static std::expected<Market, std::string> from_series(std::vector<KlineSeries> series);

  [[nodiscard]] Interval base_interval() const noexcept { return base_interval_; }
  [[nodiscard]] std::int64_t base_ms() const noexcept { return interval_info(base_interval_).duration_ms; }
  [[nodiscard]] const std::vector<SymbolBars>& symbols() const noexcept { return symbols_; }
  [[nodiscard]] const std::vector<std::int64_t>& timeline() const noexcept { return timeline_; }
  /// Default live start of the source, as a timeline index (synthetic: its start_ms).
  [[nodiscard]] std::size_t default_live_slot() const noexcept { return default_live_slot_; }

  /// Makes timeline()[count - 1] exist when the source can grow; false when it cannot.
  bool ensure_slots(std::size_t count);

 private:
  Interval base_interval_ = Interval::m1;
  std::vector<SymbolBars> symbols_;
  std::vector<std::int64_t> timeline_;
  std::size_t default_live_slot_ = 0;
  std::unique_ptr<SyntheticGenerator> generator_;
};

/// Splits a symbol into base and quote asset by the longest known quote-asset suffix.
[[nodiscard]] std::pair<std::string, std::string> split_symbol(std::string_view symbol);

}  // namespace screener::replay
