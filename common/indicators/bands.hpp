// SPDX-License-Identifier: Apache-2.0
#pragma once

// Bollinger Bands as TA_BBANDS(n, k, k, SMA) computes them: middle = running-sum SMA(n); sd is the
// population deviation sqrt(Σx²/n − middle²) from a running Σx², and 0 when that variance is below
// 1e-14 (TA_IS_ZERO_OR_NEG). upper/lower = middle ± sd·k. The running sums can leave a small
// non-zero sd over a perfectly flat window; that is TA-Lib's behaviour and is kept (no two-pass
// deviation).
//
// Two derived outputs (not in TA-Lib):
//  - width     = (upper − lower) / middle, 0 when middle == 0;
//  - percent_b = (close − lower) / (upper − lower), 0 when upper == lower.

#include <cmath>
#include <cstddef>
#include <span>

#include "common/indicators/common.hpp"

namespace screener::ta {

[[nodiscard]] constexpr int bbands_lookback(int n) noexcept { return n - 1; }

struct BbandsValue {
  double upper = kNaN;
  double middle = kNaN;
  double lower = kNaN;
  double width = kNaN;
  double percent_b = kNaN;
};

namespace detail {
[[nodiscard]] inline BbandsValue bbands_outputs(double x, double middle, double mean2, double k) noexcept {
  // TA_INT_stddev_using_precalc_ma: variance = Σx²/n − middle², zero below 1e-14.
  const double variance = mean2 - middle * middle;
  const double sd = !is_zero_or_neg(variance) ? std::sqrt(variance) : 0.0;
  const double dev = sd * k;
  BbandsValue v;
  v.middle = middle;
  v.upper = middle + dev;
  v.lower = middle - dev;
  v.width = middle != 0.0 ? (v.upper - v.lower) / middle : 0.0;
  v.percent_b = v.upper != v.lower ? (x - v.lower) / (v.upper - v.lower) : 0.0;
  return v;
}
}  // namespace detail

/// n >= 2, k any finite number. Every output the size of `in`.
int bbands(std::span<const double> in, int n, double k, std::span<double> upper, std::span<double> middle,
           std::span<double> lower, std::span<double> width, std::span<double> percent_b) noexcept;

class Bbands {
 public:
  Bbands(int n, double k) : n_(n), k_(k), window_(static_cast<std::size_t>(n)) {}

  void update(double x) noexcept {
    total_ += x;
    double sq = x;
    sq *= sq;
    total2_ += sq;
    window_.push(x);
    if (window_.count() < window_.capacity()) return;
    const double middle = total_ / n_;
    const double mean2 = total2_ / n_;
    const double old = window_.oldest();
    total_ -= old;
    double old_sq = old;
    old_sq *= old_sq;
    total2_ -= old_sq;
    value_ = detail::bbands_outputs(x, middle, mean2, k_);
  }
  [[nodiscard]] bool ready() const noexcept { return window_.count() >= window_.capacity(); }
  [[nodiscard]] BbandsValue value() const noexcept { return value_; }

 private:
  int n_;
  double k_;
  detail::Ring window_;
  double total_ = 0.0;
  double total2_ = 0.0;
  BbandsValue value_;
};

}  // namespace screener::ta
