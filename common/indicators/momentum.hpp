// SPDX-License-Identifier: Apache-2.0
#pragma once

// RSI (TA_RSI, classic seeding), ROC (TA_ROC) and change_pct (= ROC under the screener's name).

#include <cstddef>
#include <span>

#include "common/indicators/common.hpp"

namespace screener::ta {

[[nodiscard]] constexpr int rsi_lookback(int n) noexcept { return n; }
[[nodiscard]] constexpr int roc_lookback(int n) noexcept { return n; }
[[nodiscard]] constexpr int change_pct_lookback(int n) noexcept { return n; }

/// RSI(n), n >= 2. Seed: plain means of the first n gains and losses (output at bar n), then
/// Wilder's avg = (avg * (n - 1) + x) / n. RSI = 100 * (g / (g + l)); 0 when g + l < 1e-14, so a
/// flat series gives 0 (not 50).
int rsi(std::span<const double> in, int n, std::span<double> out) noexcept;
/// ROC(n), n >= 1: (x / x[-n] - 1) * 100, 0 when x[-n] == 0 (exact).
int roc(std::span<const double> in, int n, std::span<double> out) noexcept;
/// change_pct(n) is ROC(n): the percentage change over n bars.
inline int change_pct(std::span<const double> in, int n, std::span<double> out) noexcept { return roc(in, n, out); }

class Rsi {
 public:
  explicit Rsi(int n) : n_(n) {}

  void update(double x) noexcept {
    if (count_ == 0) {
      prev_ = x;
      count_ = 1;
      return;
    }
    const double d = x - prev_;
    prev_ = x;
    if (count_ < n_) {
      accumulate(d);
    } else if (count_ == n_) {
      accumulate(d);
      loss_ /= n_;
      gain_ /= n_;
      publish();
    } else {
      loss_ *= (n_ - 1);
      gain_ *= (n_ - 1);
      accumulate(d);
      loss_ /= n_;
      gain_ /= n_;
      publish();
    }
    ++count_;
  }
  [[nodiscard]] bool ready() const noexcept { return count_ > n_; }
  [[nodiscard]] double value() const noexcept { return value_; }

 private:
  void accumulate(double d) noexcept {
    if (d < 0) {
      loss_ -= d;
    } else {
      gain_ += d;
    }
  }
  void publish() noexcept {
    const double sum = gain_ + loss_;
    value_ = !is_zero(sum) ? 100.0 * (gain_ / sum) : 0.0;
  }

  int n_;
  int count_ = 0;
  double prev_ = 0.0;
  double gain_ = 0.0;
  double loss_ = 0.0;
  double value_ = kNaN;
};

class Roc {
 public:
  explicit Roc(int n) : window_(static_cast<std::size_t>(n) + 1) {}

  void update(double x) noexcept {
    window_.push(x);
    if (window_.count() >= window_.capacity()) {
      const double then = window_.oldest();
      value_ = then != 0.0 ? ((x / then) - 1.0) * 100.0 : 0.0;
    }
  }
  [[nodiscard]] bool ready() const noexcept { return window_.count() >= window_.capacity(); }
  [[nodiscard]] double value() const noexcept { return value_; }

 private:
  detail::Ring window_;
  double value_ = kNaN;
};

using ChangePct = Roc;

}  // namespace screener::ta
