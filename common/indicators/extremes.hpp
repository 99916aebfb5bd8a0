// SPDX-License-Identifier: Apache-2.0
#pragma once

// highest(src, n) / lowest(src, n): the maximum / minimum of the last n values, the current one
// included (TA_MAX / TA_MIN, lookback n − 1, n >= 2). The batch form follows TA-Lib's index tracker
// (rescan only when the extreme leaves the window); the incremental form keeps a monotonic deque
// (amortised O(1)). Both return one of the inputs, so they agree exactly.

#include <cstddef>
#include <span>

#include "common/indicators/common.hpp"

namespace screener::ta {

[[nodiscard]] constexpr int highest_lookback(int n) noexcept { return n - 1; }
[[nodiscard]] constexpr int lowest_lookback(int n) noexcept { return n - 1; }

int highest(std::span<const double> in, int n, std::span<double> out) noexcept;
int lowest(std::span<const double> in, int n, std::span<double> out) noexcept;

template <bool Greater>
class RollingExtreme {
 public:
  explicit RollingExtreme(int n) : n_(static_cast<std::size_t>(n)), window_(static_cast<std::size_t>(n)) {}

  void update(double x) noexcept { window_.push(x); }
  [[nodiscard]] bool ready() const noexcept { return window_.count() >= n_; }
  [[nodiscard]] double value() const noexcept { return ready() ? window_.value() : kNaN; }

 private:
  std::size_t n_;
  detail::MonotonicWindow<Greater> window_;
};

using Highest = RollingExtreme<true>;
using Lowest = RollingExtreme<false>;

}  // namespace screener::ta
