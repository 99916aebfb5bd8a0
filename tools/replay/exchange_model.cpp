// SPDX-License-Identifier: Apache-2.0
#include "tools/replay/exchange_model.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "common/kline_csv.hpp"
#include "tools/replay/capture_model.hpp"
#include "tools/replay/market.hpp"
#include "tools/replay/market_model.hpp"

namespace screener::replay {

namespace {

constexpr std::int64_t kUpdateSpacingMs = 2'000;  // Binance: kline updates every 2 s (1 s for 1s bars)

std::expected<std::vector<Interval>, std::string> served_intervals(Interval base, const std::vector<Interval>& asked) {
  std::vector<Interval> out;
  if (asked.empty()) {
    out.push_back(base);
    for (const Interval i : {Interval::m1, Interval::m5, Interval::m15, Interval::h1, Interval::h4, Interval::d1})
      if (can_build(base, i)) out.push_back(i);
  } else {
    for (const Interval i : asked) {
      if (!can_build(base, i))
        return std::unexpected(fmt::format("interval {} cannot be built from the source's {} bars", interval_name(i),
                                           interval_name(base)));
      out.push_back(i);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::expected<std::size_t, std::string> live_slot(Market& market, const ModelOptions& options) {
  if (!options.live_from) return market.default_live_slot();
  if (const auto* bars = std::get_if<LiveFromBars>(&*options.live_from)) {
    market.ensure_slots(bars->history_bars + 1);
    return std::min(bars->history_bars, market.timeline().size());
  }
  const std::int64_t time = std::get<LiveFromTime>(*options.live_from).time_ms;
  if (market.timeline().empty()) return std::size_t{0};
  const std::int64_t first = market.timeline().front();
  if (std::holds_alternative<SyntheticSource>(options.source) && time > first) {
    // The synthetic timeline is regular and grows on demand: generate up to the requested start.
    const std::int64_t slots = (time - first + market.base_ms() - 1) / market.base_ms();
    if (slots > 50'000'000)
      return std::unexpected(fmt::format("live_from {} is {} bars after the synthetic start: too far", time, slots));
    market.ensure_slots(static_cast<std::size_t>(slots) + 1);
  }
  const auto& timeline = market.timeline();
  return static_cast<std::size_t>(std::lower_bound(timeline.begin(), timeline.end(), time) - timeline.begin());
}

}  // namespace

std::expected<std::unique_ptr<ExchangeModel>, std::string> make_exchange_model(const ModelOptions& options) {
  if (options.weight_limit <= 0)
    return std::unexpected(fmt::format("weight limit must be positive ({})", options.weight_limit));
  if (const auto* capture = std::get_if<CaptureSource>(&options.source))
    return make_capture_model(capture->file, options.weight_limit);

  std::expected<Market, std::string> market;
  if (const auto* synthetic = std::get_if<SyntheticSource>(&options.source)) {
    market = Market::synthetic(*synthetic);
  } else {
    const auto& csv = std::get<CsvSource>(options.source);
    if (csv.files.empty()) return std::unexpected(std::string("CSV source: no files given"));
    auto series = load_kline_csv_files(csv.files, KlineCsvOptions{csv.symbol, csv.interval});
    if (!series) return std::unexpected(series.error());
    market = Market::from_series(std::move(*series));
  }
  if (!market) return std::unexpected(market.error());

  auto intervals = served_intervals(market->base_interval(), options.intervals);
  if (!intervals) return std::unexpected(intervals.error());
  const std::int64_t base_ms = market->base_ms();
  const std::uint32_t updates =
      options.updates_per_bar != 0
          ? options.updates_per_bar
          : static_cast<std::uint32_t>(std::max<std::int64_t>(1, std::min<std::int64_t>(base_ms / kUpdateSpacingMs,
                                                                                          1'000'000)));
  if (updates > base_ms)
    return std::unexpected(fmt::format("{} updates per bar is more than one per millisecond of a {} bar", updates,
                                       interval_name(market->base_interval())));
  auto slot = live_slot(*market, options);
  if (!slot) return std::unexpected(slot.error());
  return std::make_unique<MarketModel>(std::move(*market), std::move(*intervals), *slot, updates,
                                       options.weight_limit);
}

}  // namespace screener::replay
