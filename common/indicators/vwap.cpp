// SPDX-License-Identifier: Apache-2.0
#include "common/indicators/vwap.hpp"

namespace screener::ta {

int vwap(std::span<const std::int64_t> open_time_ms, std::span<const double> high, std::span<const double> low,
         std::span<const double> close, std::span<const double> volume, std::span<double> out) noexcept {
  double pv = 0.0;
  double v = 0.0;
  for (std::size_t i = 0; i < close.size(); ++i) {
    if (i == 0 || utc_day(open_time_ms[i]) != utc_day(open_time_ms[i - 1])) {
      pv = 0.0;
      v = 0.0;
    }
    const double tp = typical_price(high[i], low[i], close[i]);
    pv += tp * volume[i];
    v += volume[i];
    out[i] = v != 0.0 ? pv / v : tp;
  }
  return vwap_lookback();
}

}  // namespace screener::ta
