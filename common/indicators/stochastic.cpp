// SPDX-License-Identifier: Apache-2.0
#include "common/indicators/stochastic.hpp"

#include <vector>

#include "common/indicators/extremes.hpp"

namespace screener::ta {

namespace {

// fastK from bar fastk_n−1 on, as TA_STOCH / TA_STOCHF fill their temporary buffer.
std::vector<double> fast_k_series(std::span<const double> high, std::span<const double> low,
                                  std::span<const double> close, int fastk_n) {
  const std::size_t size = close.size();
  const auto first = static_cast<std::size_t>(fastk_n - 1);
  if (size <= first) return {};
  std::vector<double> hh(size);
  std::vector<double> ll(size);
  if (fastk_n > 1) {
    highest(high, fastk_n, hh);
    lowest(low, fastk_n, ll);
  } else {
    hh.assign(high.begin(), high.end());
    ll.assign(low.begin(), low.end());
  }
  std::vector<double> k(size - first);
  for (std::size_t i = first; i < size; ++i) k[i - first] = detail::fast_k(close[i], hh[i], ll[i]);
  return k;
}

}  // namespace

int stoch(std::span<const double> high, std::span<const double> low, std::span<const double> close, int fastk_n,
          int slowk_n, int slowd_n, std::span<double> slow_k, std::span<double> slow_d) {
  const int lb = stoch_lookback(fastk_n, slowk_n, slowd_n);
  const std::size_t size = close.size();
  detail::fill_nan(slow_k, static_cast<std::size_t>(lb));
  detail::fill_nan(slow_d, static_cast<std::size_t>(lb));
  if (size <= static_cast<std::size_t>(lb)) return lb;
  const std::vector<double> k = fast_k_series(high, low, close, fastk_n);
  std::vector<double> sk(k.size());
  std::vector<double> sd(k.size());
  sma(k, slowk_n, sk);
  const auto sk_first = static_cast<std::size_t>(slowk_n - 1);
  sma(std::span<const double>(sk).subspan(sk_first), slowd_n, std::span<double>(sd).subspan(sk_first));
  const auto offset = static_cast<std::size_t>(fastk_n - 1);
  for (std::size_t i = static_cast<std::size_t>(lb); i < size; ++i) {
    slow_k[i] = sk[i - offset];
    slow_d[i] = sd[i - offset];
  }
  return lb;
}

int stochf(std::span<const double> high, std::span<const double> low, std::span<const double> close, int fastk_n,
           int fastd_n, std::span<double> fast_k, std::span<double> fast_d) {
  const int lb = stochf_lookback(fastk_n, fastd_n);
  const std::size_t size = close.size();
  detail::fill_nan(fast_k, static_cast<std::size_t>(lb));
  detail::fill_nan(fast_d, static_cast<std::size_t>(lb));
  if (size <= static_cast<std::size_t>(lb)) return lb;
  const std::vector<double> k = fast_k_series(high, low, close, fastk_n);
  std::vector<double> d(k.size());
  sma(k, fastd_n, d);
  const auto offset = static_cast<std::size_t>(fastk_n - 1);
  for (std::size_t i = static_cast<std::size_t>(lb); i < size; ++i) {
    fast_k[i] = k[i - offset];
    fast_d[i] = d[i - offset];
  }
  return lb;
}

int stochrsi(std::span<const double> in, int n, int fastk_n, int fastd_n, std::span<double> fast_k,
             std::span<double> fast_d) {
  const int lb = stochrsi_lookback(n, fastk_n, fastd_n);
  const std::size_t size = in.size();
  detail::fill_nan(fast_k, static_cast<std::size_t>(lb));
  detail::fill_nan(fast_d, static_cast<std::size_t>(lb));
  if (size <= static_cast<std::size_t>(lb)) return lb;
  std::vector<double> r(size);
  rsi(in, n, r);
  const auto first = static_cast<std::size_t>(rsi_lookback(n));
  const std::span<const double> rs = std::span<const double>(r).subspan(first);
  stochf(rs, rs, rs, fastk_n, fastd_n, fast_k.subspan(first), fast_d.subspan(first));
  return lb;
}

}  // namespace screener::ta
