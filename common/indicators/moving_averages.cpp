// SPDX-License-Identifier: Apache-2.0
#include "common/indicators/moving_averages.hpp"

namespace screener::ta {

// The batch forms transcribe TA-Lib's loops (with startIdx = lookback, endIdx = size - 1) rather
// than driving the incremental classes, so that the tests comparing the two check something.

int sma(std::span<const double> in, int n, std::span<double> out) noexcept {
  const int lb = sma_lookback(n);
  const std::size_t size = in.size();
  detail::fill_nan(out, static_cast<std::size_t>(lb));
  if (size <= static_cast<std::size_t>(lb)) return lb;
  double total = 0.0;
  std::size_t i = 0;
  for (; i < static_cast<std::size_t>(lb); ++i) total += in[i];
  std::size_t trailing = 0;
  for (; i < size; ++i) {
    total += in[i];
    const double t = total;
    total -= in[trailing++];
    out[i] = t / n;
  }
  return lb;
}

int ema(std::span<const double> in, int n, std::span<double> out) noexcept {
  const int lb = ema_lookback(n);
  const std::size_t size = in.size();
  detail::fill_nan(out, static_cast<std::size_t>(lb));
  if (size <= static_cast<std::size_t>(lb)) return lb;
  const double k = ema_k(n);
  double seed = 0.0;
  std::size_t today = 0;
  for (int i = n; i-- > 0;) seed += in[today++];
  double prev = seed / n;
  out[today - 1] = prev;
  for (; today < size; ++today) {
    prev = ((in[today] - prev) * k) + prev;
    out[today] = prev;
  }
  return lb;
}

int wma(std::span<const double> in, int n, std::span<double> out) noexcept {
  const int lb = wma_lookback(n);
  const std::size_t size = in.size();
  detail::fill_nan(out, static_cast<std::size_t>(lb));
  if (size <= static_cast<std::size_t>(lb)) return lb;
  const auto divider = static_cast<double>((static_cast<long long>(n) * (n + 1)) >> 1);
  double period_sum = 0.0;
  double period_sub = 0.0;
  std::size_t in_idx = 0;
  long long i = 1;
  while (in_idx < static_cast<std::size_t>(lb)) {
    const double t = in[in_idx++];
    period_sub += t;
    period_sum += t * static_cast<double>(i);
    ++i;
  }
  double trailing_value = 0.0;
  std::size_t trailing_idx = 0;
  while (in_idx < size) {
    const double t = in[in_idx];
    period_sub += t;
    period_sub -= trailing_value;
    period_sum += t * n;
    trailing_value = in[trailing_idx++];
    out[in_idx++] = period_sum / divider;
    period_sum -= period_sub;
  }
  return lb;
}

}  // namespace screener::ta
