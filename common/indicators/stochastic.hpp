// SPDX-License-Identifier: Apache-2.0
#pragma once

// STOCH, STOCHF and STOCHRSI as TA-Lib computes them, with SMA smoothing only (TA_MAType_SMA, the
// default; other MA types are not offered).
//  - fastK = (C − LL) / ((HH − LL) / 100) over the last fastk_n bars (current included); 0 when
//    HH == LL (exact). Running-sum SMAs over fastK can leave a tiny residual in a flat window.
//  - STOCH(fastk_n, slowk_n, slowd_n): slowK = SMA(slowk_n) of fastK, slowD = SMA(slowd_n) of
//    slowK; lookback (fastk_n−1)+(slowk_n−1)+(slowd_n−1).
//  - STOCHF(fastk_n, fastd_n): fastK and fastD = SMA(fastd_n) of fastK; lookback
//    (fastk_n−1)+(fastd_n−1).
//  - STOCHRSI(n, fastk_n, fastd_n): STOCHF over RSI(n) values (RSI as high, low and close);
//    lookback n + (fastk_n−1)+(fastd_n−1).
// Values before the common lookback are dropped (NaN). fastk_n, slowk_n, slowd_n, fastd_n >= 1.

#include <span>

#include "common/indicators/common.hpp"
#include "common/indicators/momentum.hpp"
#include "common/indicators/moving_averages.hpp"

namespace screener::ta {

[[nodiscard]] constexpr int stoch_lookback(int fastk_n, int slowk_n, int slowd_n) noexcept {
  return (fastk_n - 1) + (slowk_n - 1) + (slowd_n - 1);
}
[[nodiscard]] constexpr int stochf_lookback(int fastk_n, int fastd_n) noexcept { return (fastk_n - 1) + (fastd_n - 1); }
[[nodiscard]] constexpr int stochrsi_lookback(int n, int fastk_n, int fastd_n) noexcept {
  return rsi_lookback(n) + stochf_lookback(fastk_n, fastd_n);
}

struct StochValue {
  double k = kNaN;  ///< slowK for STOCH, fastK for STOCHF / STOCHRSI
  double d = kNaN;  ///< slowD for STOCH, fastD for STOCHF / STOCHRSI
};

namespace detail {
[[nodiscard]] constexpr double fast_k(double close, double hh, double ll) noexcept {
  const double diff = (hh - ll) / 100.0;
  return diff != 0.0 ? (close - ll) / diff : 0.0;
}
}  // namespace detail

/// Batch forms (allocate scratch buffers).
int stoch(std::span<const double> high, std::span<const double> low, std::span<const double> close, int fastk_n,
          int slowk_n, int slowd_n, std::span<double> slow_k, std::span<double> slow_d);
int stochf(std::span<const double> high, std::span<const double> low, std::span<const double> close, int fastk_n,
           int fastd_n, std::span<double> fast_k, std::span<double> fast_d);
int stochrsi(std::span<const double> in, int n, int fastk_n, int fastd_n, std::span<double> fast_k,
             std::span<double> fast_d);

class Stoch {
 public:
  Stoch(int fastk_n, int slowk_n, int slowd_n)
      : hh_(fastk_n), ll_(fastk_n), fastk_n_(fastk_n), slow_k_(slowk_n), slow_d_(slowd_n) {}

  void update(double high, double low, double close) noexcept {
    hh_.push(high);
    ll_.push(low);
    if (hh_.count() < static_cast<std::size_t>(fastk_n_)) return;
    slow_k_.update(detail::fast_k(close, hh_.value(), ll_.value()));
    if (slow_k_.ready()) slow_d_.update(slow_k_.value());
  }
  void update(const shm::Bar& bar) noexcept { update(bar.high, bar.low, bar.close); }
  [[nodiscard]] bool ready() const noexcept { return slow_d_.ready(); }
  [[nodiscard]] StochValue value() const noexcept {
    return ready() ? StochValue{slow_k_.value(), slow_d_.value()} : StochValue{};
  }

 private:
  detail::MonotonicWindow<true> hh_;
  detail::MonotonicWindow<false> ll_;
  int fastk_n_;
  Sma slow_k_;
  Sma slow_d_;
};

class Stochf {
 public:
  Stochf(int fastk_n, int fastd_n) : hh_(fastk_n), ll_(fastk_n), fastk_n_(fastk_n), fast_d_(fastd_n) {}

  void update(double high, double low, double close) noexcept {
    hh_.push(high);
    ll_.push(low);
    if (hh_.count() < static_cast<std::size_t>(fastk_n_)) return;
    k_ = detail::fast_k(close, hh_.value(), ll_.value());
    fast_d_.update(k_);
  }
  void update(const shm::Bar& bar) noexcept { update(bar.high, bar.low, bar.close); }
  [[nodiscard]] bool ready() const noexcept { return fast_d_.ready(); }
  [[nodiscard]] StochValue value() const noexcept { return ready() ? StochValue{k_, fast_d_.value()} : StochValue{}; }

 private:
  detail::MonotonicWindow<true> hh_;
  detail::MonotonicWindow<false> ll_;
  int fastk_n_;
  double k_ = kNaN;
  Sma fast_d_;
};

class StochRsi {
 public:
  StochRsi(int n, int fastk_n, int fastd_n) : rsi_(n), stochf_(fastk_n, fastd_n) {}

  void update(double x) noexcept {
    rsi_.update(x);
    if (rsi_.ready()) stochf_.update(rsi_.value(), rsi_.value(), rsi_.value());
  }
  [[nodiscard]] bool ready() const noexcept { return stochf_.ready(); }
  [[nodiscard]] StochValue value() const noexcept { return stochf_.value(); }

 private:
  Rsi rsi_;
  Stochf stochf_;
};

}  // namespace screener::ta
