// SPDX-License-Identifier: Apache-2.0
#include "common/indicators/range.hpp"

namespace screener::ta {

namespace {

// TA_ATR's loop, handing each output to `emit(index, atr)`.
template <class Emit>
int atr_impl(std::span<const double> high, std::span<const double> low, std::span<const double> close, int n,
             std::span<double> out, Emit emit) noexcept {
  const int lb = atr_lookback(n);
  const std::size_t size = close.size();
  detail::fill_nan(out, static_cast<std::size_t>(lb));
  if (size <= static_cast<std::size_t>(lb)) return lb;
  // Seed: TA_INT_SMA over TR[1..n], i.e. their sum in order, divided by n.
  double sum = 0.0;
  std::size_t today = 1;
  for (; today <= static_cast<std::size_t>(n); ++today) sum += true_range(high[today], low[today], close[today - 1]);
  double prev = sum / n;
  emit(today - 1, prev);
  for (; today < size; ++today) {
    prev *= n - 1;
    prev += true_range(high[today], low[today], close[today - 1]);
    prev /= n;
    emit(today, prev);
  }
  return lb;
}

}  // namespace

int trange(std::span<const double> high, std::span<const double> low, std::span<const double> close,
           std::span<double> out) noexcept {
  detail::fill_nan(out, 1);
  for (std::size_t i = 1; i < close.size(); ++i) out[i] = true_range(high[i], low[i], close[i - 1]);
  return trange_lookback();
}

int atr(std::span<const double> high, std::span<const double> low, std::span<const double> close, int n,
        std::span<double> out) noexcept {
  return atr_impl(high, low, close, n, out, [&](std::size_t i, double v) { out[i] = v; });
}

int natr(std::span<const double> high, std::span<const double> low, std::span<const double> close, int n,
         std::span<double> out) noexcept {
  return atr_impl(high, low, close, n, out, [&](std::size_t i, double v) { out[i] = detail::natr_of(v, close[i]); });
}

}  // namespace screener::ta
