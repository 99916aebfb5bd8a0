// SPDX-License-Identifier: Apache-2.0
#include "common/indicators/mfi.hpp"

#include <vector>

namespace screener::ta {

int mfi(std::span<const double> high, std::span<const double> low, std::span<const double> close,
        std::span<const double> volume, int n, std::span<double> out) {
  const int lb = mfi_lookback(n);
  const std::size_t size = close.size();
  detail::fill_nan(out, static_cast<std::size_t>(lb));
  if (size <= static_cast<std::size_t>(lb)) return lb;
  struct Flow {
    double positive;
    double negative;
  };
  std::vector<Flow> flows(static_cast<std::size_t>(n), Flow{0.0, 0.0});
  std::size_t idx = 0;
  std::size_t today = 0;
  double prev_value = typical_price(high[today], low[today], close[today]);
  double pos_sum = 0.0;
  double neg_sum = 0.0;
  ++today;
  // Stores this bar's flow in the current slot (TA-Lib's mflow circular buffer).
  auto record = [&](std::size_t i) {
    double tp = typical_price(high[i], low[i], close[i]);
    const double change = tp - prev_value;
    prev_value = tp;
    tp *= volume[i];
    if (change < 0) {
      flows[idx] = Flow{0.0, tp};
      neg_sum += tp;
    } else if (change > 0) {
      flows[idx] = Flow{tp, 0.0};
      pos_sum += tp;
    } else {
      flows[idx] = Flow{0.0, 0.0};
    }
  };
  for (int i = n; i > 0; --i) {
    record(today++);
    if (++idx == flows.size()) idx = 0;
  }
  out[today - 1] = detail::mfi_of(pos_sum, neg_sum);
  for (; today < size; ++today) {
    pos_sum -= flows[idx].positive;
    neg_sum -= flows[idx].negative;
    record(today);
    out[today] = detail::mfi_of(pos_sum, neg_sum);
    if (++idx == flows.size()) idx = 0;
  }
  return lb;
}

}  // namespace screener::ta
