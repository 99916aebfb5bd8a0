// SPDX-License-Identifier: Apache-2.0
#pragma once

// MACD(fast, slow, signal) as TA_MACD computes it. If slow < fast the two are swapped. The slow
// EMA is seeded with SMA(x[0..slow-1]); the fast EMA with SMA(x[slow-fast..slow-1]), a window that
// ends on the slow seed's bar (not x[0..fast-1]: that would be a different indicator); the line
// exists from bar slow-1 and the signal EMA is seeded with SMA(line[slow-1..slow-1+signal-1]).
// line, signal and hist (= line - signal) all start at the common lookback (slow-1)+(signal-1).

#include <span>
#include <utility>

#include "common/indicators/common.hpp"
#include "common/indicators/moving_averages.hpp"

namespace screener::ta {

[[nodiscard]] constexpr int macd_lookback(int fast, int slow, int signal) noexcept {
  if (slow < fast) std::swap(fast, slow);
  return (slow - 1) + (signal - 1);
}

struct MacdValue {
  double line = kNaN;
  double signal = kNaN;
  double hist = kNaN;
};

/// fast, slow >= 2, signal >= 1. All outputs the size of `in`. Allocates scratch buffers.
int macd(std::span<const double> in, int fast, int slow, int signal, std::span<double> line,
         std::span<double> signal_out, std::span<double> hist);

class Macd {
 public:
  Macd(int fast, int slow, int signal)
      : fast_(slow < fast ? slow : fast),
        slow_(slow < fast ? fast : slow),
        signal_(signal),
        k_fast_(ema_k(fast_)),
        k_slow_(ema_k(slow_)),
        k_signal_(ema_k(signal_)) {}

  void update(double x) noexcept {
    const int i = count_++;
    if (i < slow_ - 1) {
      slow_sum_ += x;
      if (i >= slow_ - fast_) fast_sum_ += x;
      return;
    }
    if (i == slow_ - 1) {
      slow_sum_ += x;
      fast_sum_ += x;
      slow_ema_ = slow_sum_ / slow_;
      fast_ema_ = fast_sum_ / fast_;
    } else {
      fast_ema_ = ((x - fast_ema_) * k_fast_) + fast_ema_;
      slow_ema_ = ((x - slow_ema_) * k_slow_) + slow_ema_;
    }
    const double line = fast_ema_ - slow_ema_;
    const int j = i - (slow_ - 1);  // index into the line series
    if (j < signal_ - 1) {
      signal_sum_ += line;
      return;
    }
    if (j == signal_ - 1) {
      signal_sum_ += line;
      value_.signal = signal_sum_ / signal_;
    } else {
      value_.signal = ((line - value_.signal) * k_signal_) + value_.signal;
    }
    value_.line = line;
    value_.hist = line - value_.signal;
  }
  [[nodiscard]] bool ready() const noexcept { return count_ > (slow_ - 1) + (signal_ - 1); }
  [[nodiscard]] MacdValue value() const noexcept { return value_; }

 private:
  int fast_;
  int slow_;
  int signal_;
  double k_fast_;
  double k_slow_;
  double k_signal_;
  int count_ = 0;
  double fast_sum_ = 0.0;
  double slow_sum_ = 0.0;
  double signal_sum_ = 0.0;
  double fast_ema_ = 0.0;
  double slow_ema_ = 0.0;
  MacdValue value_;
};

}  // namespace screener::ta
