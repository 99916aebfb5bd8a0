// SPDX-License-Identifier: Apache-2.0
#pragma once

// OBV as TA_OBV computes it: OBV[0] = volume[0] (not 0); then + volume when the close rose, −
// volume when it fell, unchanged when equal. Lookback 0. The level depends on the first bar given;
// only differences are independent of the window.

#include <cstddef>
#include <span>

#include "common/indicators/common.hpp"

namespace screener::ta {

[[nodiscard]] constexpr int obv_lookback() noexcept { return 0; }

int obv(std::span<const double> close, std::span<const double> volume, std::span<double> out) noexcept;

class Obv {
 public:
  void update(double close, double volume) noexcept {
    if (!started_) {
      started_ = true;
      value_ = volume;
    } else if (close > prev_close_) {
      value_ += volume;
    } else if (close < prev_close_) {
      value_ -= volume;
    }
    prev_close_ = close;
  }
  void update(const shm::Bar& bar) noexcept { update(bar.close, bar.volume); }
  [[nodiscard]] bool ready() const noexcept { return started_; }
  [[nodiscard]] double value() const noexcept { return value_; }

 private:
  bool started_ = false;
  double prev_close_ = 0.0;
  double value_ = kNaN;
};

}  // namespace screener::ta
