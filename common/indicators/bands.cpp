// SPDX-License-Identifier: Apache-2.0
#include "common/indicators/bands.hpp"

namespace screener::ta {

int bbands(std::span<const double> in, int n, double k, std::span<double> upper, std::span<double> middle,
           std::span<double> lower, std::span<double> width, std::span<double> percent_b) noexcept {
  const int lb = bbands_lookback(n);
  const std::size_t size = in.size();
  for (auto out : {upper, middle, lower, width, percent_b}) detail::fill_nan(out, static_cast<std::size_t>(lb));
  if (size <= static_cast<std::size_t>(lb)) return lb;
  // TA_INT_SMA for the middle band, then TA_INT_stddev_using_precalc_ma over the same window.
  double total = 0.0;
  double total2 = 0.0;
  std::size_t i = 0;
  for (; i < static_cast<std::size_t>(lb); ++i) {
    total += in[i];
    double sq = in[i];
    sq *= sq;
    total2 += sq;
  }
  std::size_t trailing = 0;
  for (; i < size; ++i, ++trailing) {
    total += in[i];
    const double mid = total / n;
    total -= in[trailing];
    double sq = in[i];
    sq *= sq;
    total2 += sq;
    const double mean2 = total2 / n;
    double old_sq = in[trailing];
    old_sq *= old_sq;
    total2 -= old_sq;
    const BbandsValue v = detail::bbands_outputs(in[i], mid, mean2, k);
    upper[i] = v.upper;
    middle[i] = v.middle;
    lower[i] = v.lower;
    width[i] = v.width;
    percent_b[i] = v.percent_b;
  }
  return lb;
}

}  // namespace screener::ta
