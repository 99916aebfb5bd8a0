// SPDX-License-Identifier: Apache-2.0
#pragma once

// Clocks shared through the segment. CLOCK_MONOTONIC is system-wide, so a heartbeat stamped by
// the writer can be aged by any reader on the same host; CLOCK_REALTIME gives wall-clock stamps.

#include <cstdint>
#include <ctime>

namespace screener {

[[nodiscard]] inline std::uint64_t monotonic_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

[[nodiscard]] inline std::uint64_t realtime_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace screener
