// SPDX-License-Identifier: Apache-2.0
#pragma once

// Daily VWAP (TA-Lib has none): Σ(TP · V) / ΣV with TP = (H + L + C) / 3, the sums restarting with
// the first bar whose open time is in a later UTC day than the previous bar's (the first bar at or
// after 00:00 UTC, even when bars are missing around midnight). When ΣV == 0 the value is the bar's
// TP. Lookback 0: the first bar given starts a session, whatever its time of day.

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/indicators/common.hpp"

namespace screener::ta {

[[nodiscard]] constexpr int vwap_lookback() noexcept { return 0; }

inline constexpr std::int64_t kMsPerDay = 86'400'000;

/// The UTC day number of an open time in ms since the epoch (floor division: negatives too).
[[nodiscard]] constexpr std::int64_t utc_day(std::int64_t open_time_ms) noexcept {
  const std::int64_t q = open_time_ms / kMsPerDay;
  return (open_time_ms % kMsPerDay < 0) ? q - 1 : q;
}

int vwap(std::span<const std::int64_t> open_time_ms, std::span<const double> high, std::span<const double> low,
         std::span<const double> close, std::span<const double> volume, std::span<double> out) noexcept;

class Vwap {
 public:
  void update(std::int64_t open_time_ms, double high, double low, double close, double volume) noexcept {
    const std::int64_t day = utc_day(open_time_ms);
    if (!started_ || day != day_) {
      started_ = true;
      day_ = day;
      pv_ = 0.0;
      v_ = 0.0;
    }
    const double tp = typical_price(high, low, close);
    pv_ += tp * volume;
    v_ += volume;
    value_ = v_ != 0.0 ? pv_ / v_ : tp;
  }
  void update(const shm::Bar& bar) noexcept { update(bar.open_time_ms, bar.high, bar.low, bar.close, bar.volume); }
  [[nodiscard]] bool ready() const noexcept { return started_; }
  [[nodiscard]] double value() const noexcept { return value_; }

 private:
  bool started_ = false;
  std::int64_t day_ = 0;
  double pv_ = 0.0;
  double v_ = 0.0;
  double value_ = kNaN;
};

}  // namespace screener::ta
