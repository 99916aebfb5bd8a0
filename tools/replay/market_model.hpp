// SPDX-License-Identifier: Apache-2.0
#pragma once

// The exchange model over a bar market (synthetic or CSV): the market clock and its schedule,
// the kline and miniTicker frames of each step, and REST klines and tickers at the clock.
//
// Schedule, with B the base interval in ms and U the forming updates per base bar: a base bar
// opening at t gets forming updates (x=false) at t + floor(j*B/U) for j = 0..U-1, the last of
// them carrying the bar's final values, and its final frame (x=true) at t + B, in the same step
// as the next bar's first update. Every served interval gets a frame at each of those steps:
// the closed base bars of its open bar so far plus the forming one. `!miniTicker@arr` goes out at
// each whole second of market time. Windows where no symbol has a bar produce no steps at all.
// A symbol set not TRADING (set_listing_status) sends no kline frames and leaves the ticker array;
// its bars go on closing underneath, so REST serves them and its frames resume where the clock is.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tools/replay/bar_aggregate.hpp"
#include "tools/replay/market.hpp"
#include "tools/replay/rest_api.hpp"

namespace screener::replay {

/// Whether bars of `interval` are unions of whole `base` bars (same boundaries, Monday weeks and
/// calendar months included).
[[nodiscard]] bool can_build(Interval base, Interval interval) noexcept;

class MarketModel final : public RestExchange {
 public:
  /// `live_slot`: timeline index of the first live bar; `updates`: forming updates per base bar.
  MarketModel(Market market, std::vector<Interval> intervals, std::size_t live_slot, std::uint32_t updates,
              int weight_limit);

  [[nodiscard]] const std::vector<Interval>& intervals() const override { return intervals_; }
  [[nodiscard]] std::int64_t now_ms() const override { return now_; }
  [[nodiscard]] std::optional<std::int64_t> next_step_ms() const override { return next_; }
  std::vector<StreamFrame> step() override;
  [[nodiscard]] Interval base_interval() const override { return market_.base_interval(); }

  [[nodiscard]] const Market& market() const noexcept { return market_; }
  [[nodiscard]] std::uint32_t updates_per_bar() const noexcept { return updates_; }

 protected:
  [[nodiscard]] std::string klines_body(std::size_t symbol, Interval interval, std::optional<std::int64_t> start_ms,
                                        std::optional<std::int64_t> end_ms, std::size_t limit) const override;
  [[nodiscard]] bool serves_klines(Interval interval) const override {
    return can_build(market_.base_interval(), interval);
  }
  [[nodiscard]] TickerStats ticker_stats(std::size_t symbol) const override;

 private:
  struct SymbolState {
    std::size_t closed = 0;           ///< base bars closed at now_ (open + B <= now_)
    std::vector<BarAgg> open_bars;    ///< per served interval: the closed base bars of its open bar
    std::vector<std::string> streams; ///< per served interval: "<symbol>@kline_<interval>"
    std::size_t window_lo = 0, window_hi = 0;  ///< closed bars folded into `window`
    BarAgg window;                    ///< closed bars of the 24 h window, refolded when it moves
    bool ticker_sent = false;
    std::array<double, 6> last_ticker{};  ///< c, o, h, l, v, q as last sent
  };

  [[nodiscard]] std::uint32_t last_update(std::int64_t offset) const noexcept;
  [[nodiscard]] std::int64_t update_offset(std::uint32_t update) const noexcept;
  [[nodiscard]] bool closes_bar(const SymbolBars& symbol, std::size_t index, Interval interval) const noexcept;
  [[nodiscard]] std::optional<FormingBar> forming_now(std::size_t symbol) const;
  /// The 24 h statistics at now_: window [lo, closed) plus the forming bar.
  [[nodiscard]] BarAgg day_stats(std::size_t symbol, const FormingBar* forming, std::size_t& lo) const;
  [[nodiscard]] std::optional<std::int64_t> compute_next();
  void append_mini_tickers(std::vector<StreamFrame>& frames);

  Market market_;
  std::vector<Interval> intervals_;
  std::uint32_t updates_;
  std::int64_t base_ms_;
  std::size_t slot_ = 0;
  std::int64_t now_ = 0;
  bool started_ = false;
  std::optional<std::int64_t> next_;
  std::vector<SymbolState> state_;
};

}  // namespace screener::replay
