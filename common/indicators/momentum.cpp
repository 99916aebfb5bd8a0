// SPDX-License-Identifier: Apache-2.0
#include "common/indicators/momentum.hpp"

namespace screener::ta {

int rsi(std::span<const double> in, int n, std::span<double> out) noexcept {
  const int lb = rsi_lookback(n);
  const std::size_t size = in.size();
  detail::fill_nan(out, static_cast<std::size_t>(lb));
  if (size <= static_cast<std::size_t>(lb)) return lb;
  std::size_t today = 0;
  double prev_value = in[today++];
  double prev_gain = 0.0;
  double prev_loss = 0.0;
  for (int i = n; i > 0; --i) {
    const double v = in[today++];
    const double d = v - prev_value;
    prev_value = v;
    if (d < 0) {
      prev_loss -= d;
    } else {
      prev_gain += d;
    }
  }
  prev_loss /= n;
  prev_gain /= n;
  double sum = prev_gain + prev_loss;
  out[today - 1] = !is_zero(sum) ? 100.0 * (prev_gain / sum) : 0.0;
  for (; today < size; ++today) {
    const double v = in[today];
    const double d = v - prev_value;
    prev_value = v;
    prev_loss *= (n - 1);
    prev_gain *= (n - 1);
    if (d < 0) {
      prev_loss -= d;
    } else {
      prev_gain += d;
    }
    prev_loss /= n;
    prev_gain /= n;
    sum = prev_gain + prev_loss;
    out[today] = !is_zero(sum) ? 100.0 * (prev_gain / sum) : 0.0;
  }
  return lb;
}

int roc(std::span<const double> in, int n, std::span<double> out) noexcept {
  const int lb = roc_lookback(n);
  const std::size_t size = in.size();
  detail::fill_nan(out, static_cast<std::size_t>(lb));
  std::size_t trailing = 0;
  for (std::size_t i = static_cast<std::size_t>(lb); i < size; ++i) {
    const double then = in[trailing++];
    out[i] = then != 0.0 ? ((in[i] / then) - 1.0) * 100.0 : 0.0;
  }
  return lb;
}

}  // namespace screener::ta
