// SPDX-License-Identifier: Apache-2.0
#pragma once

// SMA, EMA and WMA as TA-Lib 0.6.x computes them (TA_INT_SMA, TA_INT_EMA with classic seeding,
// TA_WMA). All three have lookback n - 1 and require 2 <= n <= 100000 (see params.hpp); the
// incremental Sma also accepts n = 1 (identity), which STOCH's "slowing" MAs use.

#include <cstddef>
#include <span>

#include "common/indicators/common.hpp"

namespace screener::ta {

[[nodiscard]] constexpr int sma_lookback(int n) noexcept { return n - 1; }
[[nodiscard]] constexpr int ema_lookback(int n) noexcept { return n - 1; }
[[nodiscard]] constexpr int wma_lookback(int n) noexcept { return n - 1; }

/// EMA smoothing factor, TA-Lib's PER_TO_K: 2 / (n + 1).
[[nodiscard]] constexpr double ema_k(int n) noexcept { return 2.0 / static_cast<double>(n + 1); }

/// Batch forms: out.size() == in.size(); NaN before the lookback; returns the lookback.
int sma(std::span<const double> in, int n, std::span<double> out) noexcept;
int ema(std::span<const double> in, int n, std::span<double> out) noexcept;
int wma(std::span<const double> in, int n, std::span<double> out) noexcept;

/// Running-sum SMA: add x, output sum / n, subtract the value leaving the window.
class Sma {
 public:
  explicit Sma(int n) : n_(n), window_(static_cast<std::size_t>(n)) {}

  void update(double x) noexcept {
    total_ += x;
    window_.push(x);
    if (window_.count() >= window_.capacity()) {
      value_ = total_ / n_;
      // The oldest value of the window just used leaves before the next update.
      total_ -= window_.oldest();
    }
  }
  [[nodiscard]] bool ready() const noexcept { return window_.count() >= window_.capacity(); }
  [[nodiscard]] double value() const noexcept { return value_; }
  [[nodiscard]] int period() const noexcept { return n_; }

 private:
  int n_;
  detail::Ring window_;
  double total_ = 0.0;
  double value_ = kNaN;
};

/// EMA seeded with the SMA of the first n inputs (TA_COMPATIBILITY_DEFAULT), then
/// prev = (x - prev) * k + prev.
class Ema {
 public:
  explicit Ema(int n) : n_(n), k_(ema_k(n)) {}

  void update(double x) noexcept {
    ++count_;
    if (count_ < n_) {
      seed_ += x;
    } else if (count_ == n_) {
      seed_ += x;
      value_ = seed_ / n_;
    } else {
      value_ = ((x - value_) * k_) + value_;
    }
  }
  [[nodiscard]] bool ready() const noexcept { return count_ >= n_; }
  [[nodiscard]] double value() const noexcept { return value_; }

 private:
  int n_;
  double k_;
  int count_ = 0;
  double seed_ = 0.0;
  double value_ = kNaN;
};

/// Linearly weighted MA (weights 1..n, newest heaviest) in TA-Lib's running form: periodSum gains
/// x * n and loses periodSub (the plain sum of the window) each bar.
class Wma {
 public:
  // TA-Lib computes the divider n(n+1)/2 in int, which overflows above n = 46340; in 64 bits the
  // value is the same wherever TA-Lib's is defined.
  explicit Wma(int n)
      : n_(n),
        divider_(static_cast<double>((static_cast<long long>(n) * (n + 1)) >> 1)),
        window_(static_cast<std::size_t>(n)) {}

  void update(double x) noexcept {
    window_.push(x);
    const long long i = static_cast<long long>(window_.count());  // 1-based position of x
    if (i < n_) {
      sub_ += x;
      sum_ += x * static_cast<double>(i);
      return;
    }
    sub_ += x;
    sub_ -= trailing_;
    sum_ += x * n_;
    trailing_ = window_.oldest();
    value_ = sum_ / divider_;
    sum_ -= sub_;
  }
  [[nodiscard]] bool ready() const noexcept { return window_.count() >= static_cast<std::size_t>(n_); }
  [[nodiscard]] double value() const noexcept { return value_; }

 private:
  int n_;
  double divider_;
  detail::Ring window_;
  double sub_ = 0.0;
  double sum_ = 0.0;
  double trailing_ = 0.0;
  double value_ = kNaN;
};

}  // namespace screener::ta
