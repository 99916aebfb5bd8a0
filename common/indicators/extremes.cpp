// SPDX-License-Identifier: Apache-2.0
#include "common/indicators/extremes.hpp"

namespace screener::ta {

namespace {

// TA_MAX / TA_MIN: remember where the extreme is; rescan the window only when it has left.
template <bool Greater>
int extreme(std::span<const double> in, int n, std::span<double> out) noexcept {
  const int lb = n - 1;
  const std::size_t size = in.size();
  detail::fill_nan(out, static_cast<std::size_t>(lb));
  std::size_t trailing = 0;
  std::size_t best_idx = 0;
  bool have = false;
  double best = 0.0;
  for (std::size_t today = static_cast<std::size_t>(lb); today < size; ++today, ++trailing) {
    const double tmp = in[today];
    if (!have || best_idx < trailing) {
      have = true;
      best_idx = trailing;
      best = in[best_idx];
      for (std::size_t i = best_idx + 1; i <= today; ++i) {
        if (Greater ? in[i] > best : in[i] < best) {
          best_idx = i;
          best = in[i];
        }
      }
    } else if (Greater ? tmp >= best : tmp <= best) {
      best_idx = today;
      best = tmp;
    }
    out[today] = best;
  }
  return lb;
}

}  // namespace

int highest(std::span<const double> in, int n, std::span<double> out) noexcept { return extreme<true>(in, n, out); }
int lowest(std::span<const double> in, int n, std::span<double> out) noexcept { return extreme<false>(in, n, out); }

}  // namespace screener::ta
