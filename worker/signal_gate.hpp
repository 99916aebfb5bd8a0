// SPDX-License-Identifier: Apache-2.0
#pragma once

// The rules that keep a trader from spamming, for one (trader, symbol):
//  - edge-triggered: it fires when the condition goes from a known false to true; a condition that
//    stays true fires once, and "not ready" (NaN) leaves the last known state as it was, so the
//    first ready value after a warm-up never fires by itself;
//  - at most once per bar (open time), also for intrabar evaluation, which sees a bar many times;
//  - then quiet for the trader's cooldown, measured in bar time (deterministic under replay and
//    on backfilled bars, where wall-clock time would mean nothing).

#include <cmath>
#include <cstdint>
#include <limits>

#include "common/interval.hpp"

namespace screener::worker {

inline constexpr std::int64_t kNeverFired = std::numeric_limits<std::int64_t>::min();

struct GateState {
  std::int8_t last_truth = -1;                ///< -1 unknown, 0 false, 1 true
  std::int64_t last_fired_open_ms = kNeverFired;
  std::int64_t last_intrabar_ms = 0;          ///< steady-clock ms of the last intrabar evaluation
};

struct Cooldown {
  std::int64_t ms = 0;
  std::uint32_t bars = 0;
  Interval interval = Interval::m1;
};

enum class GateDecision : std::uint8_t {
  None,        ///< no edge
  Fire,        ///< a false -> true edge, allowed: emit the signal
  Suppressed,  ///< a false -> true edge held back by once-per-bar or the cooldown
};

/// The first bar open time at which a trader may fire again after firing on `fired_open_ms`.
[[nodiscard]] constexpr std::int64_t cooldown_end(const Cooldown& c, std::int64_t fired_open_ms) noexcept {
  if (fired_open_ms == kNeverFired) return kNeverFired;
  std::int64_t end = fired_open_ms + c.ms;
  if (c.bars > 0) {
    end = fired_open_ms;
    for (std::uint32_t i = 0; i < c.bars; ++i) end = next_bar_open_time(c.interval, end);
  }
  return end;
}

/// One evaluation of the condition at the bar opening at `bar_open_ms`.
[[nodiscard]] constexpr GateDecision gate_step(GateState& state, std::int64_t bar_open_ms, double value,
                                               const Cooldown& cooldown) noexcept {
  if (std::isnan(value)) return GateDecision::None;
  const bool truth = value != 0.0;
  const std::int8_t previous = state.last_truth;
  state.last_truth = truth ? 1 : 0;
  if (!truth || previous != 0) return GateDecision::None;
  if (state.last_fired_open_ms == bar_open_ms) return GateDecision::Suppressed;
  if (state.last_fired_open_ms != kNeverFired && bar_open_ms < cooldown_end(cooldown, state.last_fired_open_ms))
    return GateDecision::Suppressed;
  state.last_fired_open_ms = bar_open_ms;
  return GateDecision::Fire;
}

}  // namespace screener::worker
