// SPDX-License-Identifier: Apache-2.0
#pragma once

// True range, ATR and NATR as TA_TRANGE, TA_ATR and TA_NATR compute them.
//  - TRANGE: max(H − L, |H − C₋₁|, |L − C₋₁|); bar 0 has none (lookback 1).
//  - ATR(n), n >= 1: seed = mean(TR[1..n]) at bar n, then atr = (atr·(n−1) + TR) / n.
//  - NATR(n), n >= 2: (atr / close)·100, 0 when |close| < 1e-14. (TA-Lib's NATR with n = 1
//    returns the raw TRANGE, un-normalised; we refuse n = 1 rather than copy that.)

#include <cstddef>
#include <span>

#include "common/indicators/common.hpp"

namespace screener::ta {

[[nodiscard]] constexpr int trange_lookback() noexcept { return 1; }
[[nodiscard]] constexpr int atr_lookback(int n) noexcept { return n; }
[[nodiscard]] constexpr int natr_lookback(int n) noexcept { return n; }

int trange(std::span<const double> high, std::span<const double> low, std::span<const double> close,
           std::span<double> out) noexcept;
int atr(std::span<const double> high, std::span<const double> low, std::span<const double> close, int n,
        std::span<double> out) noexcept;
int natr(std::span<const double> high, std::span<const double> low, std::span<const double> close, int n,
         std::span<double> out) noexcept;

namespace detail {
[[nodiscard]] constexpr double natr_of(double atr, double close) noexcept {
  return !is_zero(close) ? (atr / close) * 100.0 : 0.0;
}
}  // namespace detail

class Trange {
 public:
  void update(double high, double low, double close) noexcept {
    if (count_++ > 0) value_ = true_range(high, low, prev_close_);
    prev_close_ = close;
  }
  void update(const shm::Bar& bar) noexcept { update(bar.high, bar.low, bar.close); }
  [[nodiscard]] bool ready() const noexcept { return count_ > 1; }
  [[nodiscard]] double value() const noexcept { return value_; }

 private:
  long long count_ = 0;
  double prev_close_ = 0.0;
  double value_ = kNaN;
};

class Atr {
 public:
  explicit Atr(int n) : n_(n) {}

  void update(double high, double low, double close) noexcept {
    const long long i = count_++;
    if (i > 0) {
      const double tr = true_range(high, low, prev_close_);
      if (i < n_) {
        sum_ += tr;
      } else if (i == n_) {
        sum_ += tr;
        value_ = sum_ / n_;
      } else {
        value_ *= n_ - 1;
        value_ += tr;
        value_ /= n_;
      }
    }
    prev_close_ = close;
  }
  void update(const shm::Bar& bar) noexcept { update(bar.high, bar.low, bar.close); }
  [[nodiscard]] bool ready() const noexcept { return count_ > n_; }
  [[nodiscard]] double value() const noexcept { return value_; }

 private:
  int n_;
  long long count_ = 0;
  double prev_close_ = 0.0;
  double sum_ = 0.0;
  double value_ = kNaN;
};

class Natr {
 public:
  explicit Natr(int n) : atr_(n) {}

  void update(double high, double low, double close) noexcept {
    atr_.update(high, low, close);
    if (atr_.ready()) value_ = detail::natr_of(atr_.value(), close);
  }
  void update(const shm::Bar& bar) noexcept { update(bar.high, bar.low, bar.close); }
  [[nodiscard]] bool ready() const noexcept { return atr_.ready(); }
  [[nodiscard]] double value() const noexcept { return value_; }

 private:
  Atr atr_;
  double value_ = kNaN;
};

}  // namespace screener::ta
