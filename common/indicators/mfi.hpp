// SPDX-License-Identifier: Apache-2.0
#pragma once

// MFI(n), n >= 2, as TA_MFI of TA-Lib 0.6.x computes it: TP = (H + L + C) / 3, MF = TP · V, a
// positive flow when TP > TP₋₁, negative when TP < TP₋₁, neither when equal. Bar 0 is only the
// reference TP; the window holds the flows of the last n bars. MFI = 100 · (pos / (pos + neg)),
// 0 when pos + neg < 1.0: an absolute threshold in price × volume units, so a flat window, zero
// volume or a low-notional pair gives 0 (not 50). Lookback n. (Newer upstream TA-Lib replaced the
// < 1.0 rule with a scale-aware test; the project keeps 0.6.x.)

#include <cstddef>
#include <span>

#include "common/indicators/common.hpp"

namespace screener::ta {

[[nodiscard]] constexpr int mfi_lookback(int n) noexcept { return n; }

int mfi(std::span<const double> high, std::span<const double> low, std::span<const double> close,
        std::span<const double> volume, int n, std::span<double> out);

namespace detail {
[[nodiscard]] constexpr double mfi_of(double pos, double neg) noexcept {
  const double sum = pos + neg;
  return sum < 1.0 ? 0.0 : 100.0 * (pos / sum);
}
}  // namespace detail

class Mfi {
 public:
  explicit Mfi(int n) : pos_flows_(static_cast<std::size_t>(n)), neg_flows_(static_cast<std::size_t>(n)) {}

  void update(double high, double low, double close, double volume) noexcept {
    double tp = typical_price(high, low, close);
    if (first_) {
      first_ = false;
      prev_tp_ = tp;
      return;
    }
    const bool full = pos_flows_.count() >= pos_flows_.capacity();
    if (full) {
      // The flow of the bar n bars ago leaves the window before the new one enters.
      pos_ -= pos_flows_.oldest();
      neg_ -= neg_flows_.oldest();
    }
    const double change = tp - prev_tp_;
    prev_tp_ = tp;
    tp *= volume;
    if (change < 0) {
      neg_flows_.push(tp);
      neg_ += tp;
      pos_flows_.push(0.0);
    } else if (change > 0) {
      pos_flows_.push(tp);
      pos_ += tp;
      neg_flows_.push(0.0);
    } else {
      pos_flows_.push(0.0);
      neg_flows_.push(0.0);
    }
    if (pos_flows_.count() >= pos_flows_.capacity()) value_ = detail::mfi_of(pos_, neg_);
  }
  void update(const shm::Bar& bar) noexcept { update(bar.high, bar.low, bar.close, bar.volume); }
  [[nodiscard]] bool ready() const noexcept { return pos_flows_.count() >= pos_flows_.capacity(); }
  [[nodiscard]] double value() const noexcept { return value_; }

 private:
  detail::Ring pos_flows_;
  detail::Ring neg_flows_;
  bool first_ = true;
  double prev_tp_ = 0.0;
  double pos_ = 0.0;
  double neg_ = 0.0;
  double value_ = kNaN;
};

}  // namespace screener::ta
