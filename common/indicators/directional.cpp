// SPDX-License-Identifier: Apache-2.0
#include "common/indicators/directional.hpp"

namespace screener::ta {

namespace {

// The loops shared by TA_PLUS_DI, TA_MINUS_DI, TA_DX and TA_ADX: plain sums over bars 1..n−1, then
// Wilder's sum smoothing; `emit(i, plus_dm, minus_dm, tr)` is called for every bar i >= n.
template <class Emit>
void directional_loop(std::span<const double> high, std::span<const double> low, std::span<const double> close,
                      int n, Emit emit) noexcept {
  const std::size_t size = close.size();
  std::size_t today = 0;
  double prev_high = high[today];
  double prev_low = low[today];
  double prev_close = close[today];
  double plus_dm = 0.0;
  double minus_dm = 0.0;
  double prev_tr = 0.0;
  for (int i = n - 1; i-- > 0;) {
    ++today;
    double t = high[today];
    const double diff_p = t - prev_high;
    prev_high = t;
    t = low[today];
    const double diff_m = prev_low - t;
    prev_low = t;
    if ((diff_m > 0) && (diff_p < diff_m)) {
      minus_dm += diff_m;
    } else if ((diff_p > 0) && (diff_p > diff_m)) {
      plus_dm += diff_p;
    }
    prev_tr += true_range(prev_high, prev_low, prev_close);
    prev_close = close[today];
  }
  while (today + 1 < size) {
    ++today;
    double t = high[today];
    const double diff_p = t - prev_high;
    prev_high = t;
    t = low[today];
    const double diff_m = prev_low - t;
    prev_low = t;
    minus_dm -= minus_dm / n;
    plus_dm -= plus_dm / n;
    if ((diff_m > 0) && (diff_p < diff_m)) {
      minus_dm += diff_m;
    } else if ((diff_p > 0) && (diff_p > diff_m)) {
      plus_dm += diff_p;
    }
    prev_tr = prev_tr - (prev_tr / n) + true_range(prev_high, prev_low, prev_close);
    prev_close = close[today];
    emit(today, plus_dm, minus_dm, prev_tr);
  }
}

template <bool Plus>
int di(std::span<const double> high, std::span<const double> low, std::span<const double> close, int n,
       std::span<double> out) noexcept {
  const int lb = plus_di_lookback(n);
  detail::fill_nan(out, static_cast<std::size_t>(lb));
  if (close.size() <= static_cast<std::size_t>(lb)) return lb;
  directional_loop(high, low, close, n, [&](std::size_t i, double plus_dm, double minus_dm, double tr) {
    out[i] = detail::di_of(Plus ? plus_dm : minus_dm, tr);
  });
  return lb;
}

}  // namespace

int plus_di(std::span<const double> high, std::span<const double> low, std::span<const double> close, int n,
            std::span<double> out) noexcept {
  return di<true>(high, low, close, n, out);
}

int minus_di(std::span<const double> high, std::span<const double> low, std::span<const double> close, int n,
             std::span<double> out) noexcept {
  return di<false>(high, low, close, n, out);
}

int dx(std::span<const double> high, std::span<const double> low, std::span<const double> close, int n,
       std::span<double> out) noexcept {
  const int lb = dx_lookback(n);
  detail::fill_nan(out, static_cast<std::size_t>(lb));
  if (close.size() <= static_cast<std::size_t>(lb)) return lb;
  directional_loop(high, low, close, n, [&](std::size_t i, double plus_dm, double minus_dm, double tr) {
    double v = 0.0;
    if (detail::dx_of(plus_dm, minus_dm, tr, v)) {
      out[i] = v;
    } else {
      out[i] = i == static_cast<std::size_t>(lb) ? 0.0 : out[i - 1];
    }
  });
  return lb;
}

int adx(std::span<const double> high, std::span<const double> low, std::span<const double> close, int n,
        std::span<double> out) noexcept {
  const int lb = adx_lookback(n);
  detail::fill_nan(out, static_cast<std::size_t>(lb));
  if (close.size() <= static_cast<std::size_t>(lb)) return lb;
  double sum_dx = 0.0;
  double prev_adx = 0.0;
  directional_loop(high, low, close, n, [&](std::size_t i, double plus_dm, double minus_dm, double tr) {
    double v = 0.0;
    const bool have = detail::dx_of(plus_dm, minus_dm, tr, v);
    if (i < static_cast<std::size_t>(lb)) {
      if (have) sum_dx += v;
      return;
    }
    if (i == static_cast<std::size_t>(lb)) {
      if (have) sum_dx += v;
      prev_adx = sum_dx / n;
    } else if (have) {
      prev_adx = ((prev_adx * (n - 1)) + v) / n;
    }
    out[i] = prev_adx;
  });
  return lb;
}

}  // namespace screener::ta
