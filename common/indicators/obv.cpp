// SPDX-License-Identifier: Apache-2.0
#include "common/indicators/obv.hpp"

namespace screener::ta {

int obv(std::span<const double> close, std::span<const double> volume, std::span<double> out) noexcept {
  const std::size_t size = close.size();
  if (size == 0) return obv_lookback();
  double prev_obv = volume[0];
  double prev_real = close[0];
  for (std::size_t i = 0; i < size; ++i) {
    const double t = close[i];
    if (t > prev_real) {
      prev_obv += volume[i];
    } else if (t < prev_real) {
      prev_obv -= volume[i];
    }
    out[i] = prev_obv;
    prev_real = t;
  }
  return obv_lookback();
}

}  // namespace screener::ta
