// SPDX-License-Identifier: Apache-2.0
#include "common/indicators/cci.hpp"

#include <vector>

namespace screener::ta {

int cci(std::span<const double> high, std::span<const double> low, std::span<const double> close, int n,
        std::span<double> out) {
  const int lb = cci_lookback(n);
  const std::size_t size = close.size();
  detail::fill_nan(out, static_cast<std::size_t>(lb));
  if (size <= static_cast<std::size_t>(lb)) return lb;
  // TA-Lib's CIRCBUF: bar k of the input lives in slot k % n.
  std::vector<double> circ(static_cast<std::size_t>(n), 0.0);
  for (std::size_t i = 0; i < size; ++i) {
    const double tp = typical_price(high[i], low[i], close[i]);
    circ[i % circ.size()] = tp;
    if (i >= static_cast<std::size_t>(lb)) out[i] = detail::cci_of(circ, tp);
  }
  return lb;
}

}  // namespace screener::ta
