// SPDX-License-Identifier: Apache-2.0
#include "common/indicators/willr.hpp"

#include <vector>

#include "common/indicators/extremes.hpp"

namespace screener::ta {

int willr(std::span<const double> high, std::span<const double> low, std::span<const double> close, int n,
          std::span<double> out) {
  const int lb = willr_lookback(n);
  const std::size_t size = close.size();
  detail::fill_nan(out, static_cast<std::size_t>(lb));
  if (size <= static_cast<std::size_t>(lb)) return lb;
  std::vector<double> hh(size);
  std::vector<double> ll(size);
  highest(high, n, hh);
  lowest(low, n, ll);
  for (std::size_t i = static_cast<std::size_t>(lb); i < size; ++i) out[i] = detail::willr_of(close[i], hh[i], ll[i]);
  return lb;
}

}  // namespace screener::ta
