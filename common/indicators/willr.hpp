// SPDX-License-Identifier: Apache-2.0
#pragma once

// Williams %R(n), n >= 2, as TA_WILLR computes it: (HH − C) / ((HH − LL) / −100) over the last n
// bars (current included); range [−100, 0]; 0 when HH == LL (exact). Lookback n − 1.

#include <cstddef>
#include <span>

#include "common/indicators/common.hpp"

namespace screener::ta {

[[nodiscard]] constexpr int willr_lookback(int n) noexcept { return n - 1; }

int willr(std::span<const double> high, std::span<const double> low, std::span<const double> close, int n,
          std::span<double> out);

namespace detail {
[[nodiscard]] constexpr double willr_of(double close, double hh, double ll) noexcept {
  const double diff = (hh - ll) / (-100.0);
  return diff != 0.0 ? (hh - close) / diff : 0.0;
}
}  // namespace detail

class Willr {
 public:
  explicit Willr(int n) : n_(static_cast<std::size_t>(n)), hh_(n_), ll_(n_) {}

  void update(double high, double low, double close) noexcept {
    hh_.push(high);
    ll_.push(low);
    if (hh_.count() >= n_) value_ = detail::willr_of(close, hh_.value(), ll_.value());
  }
  void update(const shm::Bar& bar) noexcept { update(bar.high, bar.low, bar.close); }
  [[nodiscard]] bool ready() const noexcept { return hh_.count() >= n_; }
  [[nodiscard]] double value() const noexcept { return value_; }

 private:
  std::size_t n_;
  detail::MonotonicWindow<true> hh_;
  detail::MonotonicWindow<false> ll_;
  double value_ = kNaN;
};

}  // namespace screener::ta
