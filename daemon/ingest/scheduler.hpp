// SPDX-License-Identifier: Apache-2.0
#pragma once

// Deferred work for the ingest logic without tying it to Asio: the daemon implements it with a
// steady_timer on its io_context, tests with a manual clock.

#include <chrono>
#include <functional>

namespace screener::ingest {

class Scheduler {
 public:
  using Clock = std::chrono::steady_clock;
  virtual ~Scheduler() = default;
  [[nodiscard]] virtual Clock::time_point now() const = 0;
  /// Wall clock, for what the exchange counts per calendar minute.
  [[nodiscard]] virtual std::chrono::system_clock::time_point wall_now() const = 0;
  /// Runs `task` on the ingest thread after `delay` (zero: after the current handler returns).
  virtual void after(std::chrono::milliseconds delay, std::function<void()> task) = 0;
};

}  // namespace screener::ingest
