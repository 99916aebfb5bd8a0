// SPDX-License-Identifier: Apache-2.0
#pragma once

// Wilder's directional movement system as TA-Lib computes it (TA_PLUS_DI, TA_MINUS_DI, TA_DX,
// TA_ADX), every period n >= 2. (TA-Lib also accepts n = 1 for ±DI, returning unsmoothed values;
// we refuse it.)
//  - For bar i >= 1: up = H − H₋₁, dn = L₋₁ − L. −DM = dn if dn > 0 and dn > up; otherwise
//    +DM = up if up > 0 and up > dn; ties give neither.
//  - Seed: plain sums of +DM, −DM and TR over bars 1..n−1; from bar n Wilder's sum smoothing
//    S = S − S/n + x (so bar n = S·(n−1)/n + x, not the sum of bars 1..n).
//  - ±DI = 100·(DM_S / TR_S), 0 when |TR_S| < 1e-14; lookback n.
//  - DX = 100·(|−DI − +DI| / (−DI + +DI)); lookback n. When TR_S or the DI sum is below 1e-14 the
//    bar has no DX: TA_DX repeats its previous output (0 at bar n).
//  - ADX: first value at bar 2n−1 = (Σ of the defined DX of bars n..2n−1) / n, then
//    adx = (adx·(n−1) + DX) / n; a bar without DX leaves the ADX unchanged. Lookback 2n−1.

#include <cmath>
#include <span>

#include "common/indicators/common.hpp"

namespace screener::ta {

[[nodiscard]] constexpr int plus_di_lookback(int n) noexcept { return n; }
[[nodiscard]] constexpr int minus_di_lookback(int n) noexcept { return n; }
[[nodiscard]] constexpr int dx_lookback(int n) noexcept { return n; }
[[nodiscard]] constexpr int adx_lookback(int n) noexcept { return 2 * n - 1; }

int plus_di(std::span<const double> high, std::span<const double> low, std::span<const double> close, int n,
            std::span<double> out) noexcept;
int minus_di(std::span<const double> high, std::span<const double> low, std::span<const double> close, int n,
             std::span<double> out) noexcept;
int dx(std::span<const double> high, std::span<const double> low, std::span<const double> close, int n,
       std::span<double> out) noexcept;
int adx(std::span<const double> high, std::span<const double> low, std::span<const double> close, int n,
        std::span<double> out) noexcept;

namespace detail {

/// The smoothed +DM, −DM and TR shared by all four indicators.
class DirectionalCore {
 public:
  explicit DirectionalCore(int n) : n_(n) {}

  /// Returns the index of the bar just consumed (0 for the first).
  long long update(double high, double low, double close) noexcept {
    const long long i = count_++;
    if (i == 0) {
      prev_high_ = high;
      prev_low_ = low;
      prev_close_ = close;
      return i;
    }
    const double diff_p = high - prev_high_;
    prev_high_ = high;
    const double diff_m = prev_low_ - low;
    prev_low_ = low;
    if (i >= n_) {
      minus_dm_ -= minus_dm_ / n_;
      plus_dm_ -= plus_dm_ / n_;
    }
    if ((diff_m > 0) && (diff_p < diff_m)) {
      minus_dm_ += diff_m;
    } else if ((diff_p > 0) && (diff_p > diff_m)) {
      plus_dm_ += diff_p;
    }
    const double tr = true_range(high, low, prev_close_);
    if (i < n_) {
      tr_ += tr;
    } else {
      tr_ = tr_ - (tr_ / n_) + tr;
    }
    prev_close_ = close;
    return i;
  }
  [[nodiscard]] double plus_dm() const noexcept { return plus_dm_; }
  [[nodiscard]] double minus_dm() const noexcept { return minus_dm_; }
  [[nodiscard]] double tr() const noexcept { return tr_; }
  [[nodiscard]] int period() const noexcept { return n_; }
  [[nodiscard]] long long count() const noexcept { return count_; }

 private:
  int n_;
  long long count_ = 0;
  double prev_high_ = 0.0;
  double prev_low_ = 0.0;
  double prev_close_ = 0.0;
  double plus_dm_ = 0.0;
  double minus_dm_ = 0.0;
  double tr_ = 0.0;
};

[[nodiscard]] constexpr double di_of(double dm, double tr) noexcept { return !is_zero(tr) ? 100.0 * (dm / tr) : 0.0; }

/// DX of the current smoothed sums, or false when TA-Lib defines none for this bar.
[[nodiscard]] inline bool dx_of(double plus_dm, double minus_dm, double tr, double& out) noexcept {
  if (is_zero(tr)) return false;
  const double minus = 100.0 * (minus_dm / tr);
  const double plus = 100.0 * (plus_dm / tr);
  const double sum = minus + plus;
  if (is_zero(sum)) return false;
  out = 100.0 * (std::fabs(minus - plus) / sum);
  return true;
}

}  // namespace detail

/// +DI (Plus = true) or −DI.
template <bool Plus>
class DirectionalIndicator {
 public:
  explicit DirectionalIndicator(int n) : core_(n) {}

  void update(double high, double low, double close) noexcept {
    if (core_.update(high, low, close) >= core_.period())
      value_ = detail::di_of(Plus ? core_.plus_dm() : core_.minus_dm(), core_.tr());
  }
  void update(const shm::Bar& bar) noexcept { update(bar.high, bar.low, bar.close); }
  [[nodiscard]] bool ready() const noexcept { return core_.count() > core_.period(); }
  [[nodiscard]] double value() const noexcept { return value_; }

 private:
  detail::DirectionalCore core_;
  double value_ = kNaN;
};

using PlusDi = DirectionalIndicator<true>;
using MinusDi = DirectionalIndicator<false>;

class Dx {
 public:
  explicit Dx(int n) : core_(n) {}

  void update(double high, double low, double close) noexcept {
    if (core_.update(high, low, close) < core_.period()) return;
    double v = 0.0;
    if (detail::dx_of(core_.plus_dm(), core_.minus_dm(), core_.tr(), v)) {
      value_ = v;
    } else if (core_.count() == core_.period() + 1LL) {
      value_ = 0.0;  // no DX at the first bar: TA_DX outputs 0, later bars repeat the previous
    }
  }
  void update(const shm::Bar& bar) noexcept { update(bar.high, bar.low, bar.close); }
  [[nodiscard]] bool ready() const noexcept { return core_.count() > core_.period(); }
  [[nodiscard]] double value() const noexcept { return value_; }

 private:
  detail::DirectionalCore core_;
  double value_ = kNaN;
};

class Adx {
 public:
  explicit Adx(int n) : core_(n) {}

  void update(double high, double low, double close) noexcept {
    const long long i = core_.update(high, low, close);
    const int n = core_.period();
    if (i < n) return;
    double v = 0.0;
    const bool have = detail::dx_of(core_.plus_dm(), core_.minus_dm(), core_.tr(), v);
    if (i < 2LL * n - 1) {
      if (have) sum_dx_ += v;
    } else if (i == 2LL * n - 1) {
      if (have) sum_dx_ += v;
      value_ = sum_dx_ / n;
    } else if (have) {
      value_ = ((value_ * (n - 1)) + v) / n;
    }
  }
  void update(const shm::Bar& bar) noexcept { update(bar.high, bar.low, bar.close); }
  [[nodiscard]] bool ready() const noexcept { return core_.count() > 2LL * core_.period() - 1; }
  [[nodiscard]] double value() const noexcept { return value_; }

 private:
  detail::DirectionalCore core_;
  double sum_dx_ = 0.0;
  double value_ = kNaN;
};

}  // namespace screener::ta
