// SPDX-License-Identifier: Apache-2.0
#pragma once

// CCI(n), n >= 2, as TA_CCI computes it: TP = (H + L + C) / 3 kept in a circular buffer; avg and the
// mean absolute deviation MD are summed over the buffer in slot order (TA-Lib's order, which fixes
// the rounding); CCI = (TP − avg) / (0.015 · MD), 0 when TP − avg == 0 or MD == 0 (exact). Lookback
// n − 1. The mean deviation needs the whole window, so update() is O(n), not O(1).

#include <cstddef>
#include <span>

#include "common/indicators/common.hpp"

namespace screener::ta {

[[nodiscard]] constexpr int cci_lookback(int n) noexcept { return n - 1; }

int cci(std::span<const double> high, std::span<const double> low, std::span<const double> close, int n,
        std::span<double> out);

namespace detail {
/// CCI of the full circular buffer `slots` whose newest value is `last`.
[[nodiscard]] inline double cci_of(std::span<const double> slots, double last) noexcept {
  const auto n = static_cast<double>(slots.size());
  double average = 0.0;
  for (const double v : slots) average += v;
  average /= n;
  double deviation = 0.0;
  for (const double v : slots) deviation += std::fabs(v - average);
  const double diff = last - average;
  return (diff != 0.0 && deviation != 0.0) ? diff / (0.015 * (deviation / n)) : 0.0;
}
}  // namespace detail

class Cci {
 public:
  explicit Cci(int n) : window_(static_cast<std::size_t>(n)) {}

  void update(double high, double low, double close) noexcept {
    const double tp = typical_price(high, low, close);
    window_.push(tp);
    if (window_.count() >= window_.capacity()) value_ = detail::cci_of(window_.slots(), tp);
  }
  void update(const shm::Bar& bar) noexcept { update(bar.high, bar.low, bar.close); }
  [[nodiscard]] bool ready() const noexcept { return window_.count() >= window_.capacity(); }
  [[nodiscard]] double value() const noexcept { return value_; }

 private:
  detail::Ring window_;
  double value_ = kNaN;
};

}  // namespace screener::ta
