// SPDX-License-Identifier: Apache-2.0
#include "common/indicators/macd.hpp"

#include <vector>

namespace screener::ta {

namespace {

// TA_INT_EMA(startIdx, ...) over in[0..]: the EMA seeded with the SMA of the n values ending at
// `start`, written to out[start..]. Returns nothing: the caller knows where it starts.
void int_ema(std::span<const double> in, std::size_t start, int n, double k, std::span<double> out) noexcept {
  std::size_t today = start + 1 - static_cast<std::size_t>(n);
  double sum = 0.0;
  for (int i = n; i-- > 0;) sum += in[today++];
  double prev = sum / n;
  out[start] = prev;
  for (; today < in.size(); ++today) {
    prev = ((in[today] - prev) * k) + prev;
    out[today] = prev;
  }
}

}  // namespace

int macd(std::span<const double> in, int fast, int slow, int signal, std::span<double> line,
         std::span<double> signal_out, std::span<double> hist) {
  if (slow < fast) std::swap(fast, slow);
  const int lb = macd_lookback(fast, slow, signal);
  const std::size_t size = in.size();
  detail::fill_nan(line, static_cast<std::size_t>(lb));
  detail::fill_nan(signal_out, static_cast<std::size_t>(lb));
  detail::fill_nan(hist, static_cast<std::size_t>(lb));
  if (size <= static_cast<std::size_t>(lb)) return lb;
  // Both EMAs start at bar slow-1 (TA_MACD calls TA_INT_EMA with startIdx = lookback - signal
  // lookback); the buffers hold the whole input for simple indexing.
  const auto first = static_cast<std::size_t>(slow - 1);
  std::vector<double> fast_ema(size);
  std::vector<double> slow_ema(size);
  int_ema(in, first, fast, ema_k(fast), fast_ema);
  int_ema(in, first, slow, ema_k(slow), slow_ema);
  std::vector<double> macd_line(size - first);
  for (std::size_t i = first; i < size; ++i) macd_line[i - first] = fast_ema[i] - slow_ema[i];
  std::vector<double> sig(macd_line.size());
  int_ema(macd_line, static_cast<std::size_t>(signal - 1), signal, ema_k(signal), sig);
  for (std::size_t i = static_cast<std::size_t>(lb); i < size; ++i) {
    line[i] = macd_line[i - first];
    signal_out[i] = sig[i - first];
    hist[i] = line[i] - signal_out[i];
  }
  return lb;
}

}  // namespace screener::ta
