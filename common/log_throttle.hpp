// SPDX-License-Identifier: Apache-2.0
#pragma once

// Rate limiting for log lines that a misbehaving peer or a broken disk could repeat thousands of
// times a second: one line per interval, and the next line says how many were held back.

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace screener {

class LogThrottle {
 public:
  explicit LogThrottle(std::chrono::steady_clock::duration interval = std::chrono::seconds(10)) noexcept
      : interval_(interval) {}

  /// Whether to log now; if so, `suppressed` is how many were held back since the last one.
  bool allow(std::uint64_t& suppressed) noexcept {
    const auto now = std::chrono::steady_clock::now();
    if (logged_once_ && now - last_ < interval_) {
      ++suppressed_;
      return false;
    }
    logged_once_ = true;
    last_ = now;
    suppressed = std::exchange(suppressed_, 0);
    return true;
  }

 private:
  std::chrono::steady_clock::duration interval_;
  std::chrono::steady_clock::time_point last_{};
  std::uint64_t suppressed_ = 0;
  bool logged_once_ = false;
};

/// " (N similar messages suppressed)", or nothing when N is 0: the tail of a throttled line.
[[nodiscard]] inline std::string suppressed_note(std::uint64_t suppressed) {
  return suppressed == 0 ? std::string() : fmt::format(" ({} similar messages suppressed)", suppressed);
}

}  // namespace screener
