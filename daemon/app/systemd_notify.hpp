// SPDX-License-Identifier: Apache-2.0
#pragma once

// screenerd's side of the systemd service protocol (sd_notify(3)): READY=1, STATUS=, RELOADING=1,
// STOPPING=1 and the watchdog. libsystemd appears in this translation unit only. Everything is a
// no-op when screenerd was not started by systemd with Type=notify (NOTIFY_SOCKET unset), so
// running it by hand, from a test or under --spawn-workers costs nothing.

#include <chrono>
#include <string_view>

namespace screener::app::systemd {

/// True when the service manager listens (NOTIFY_SOCKET is set).
[[nodiscard]] bool enabled() noexcept;

/// READY=1, with a STATUS= line unless `status` is empty: the segment is READY and the workers'
/// socket is open (also after a reload).
void ready(std::string_view status = {}) noexcept;
/// RELOADING=1 (with MONOTONIC_USEC=, which systemd 253+ requires); follow it with ready().
void reloading() noexcept;
/// STOPPING=1 with a STATUS= line.
void stopping(std::string_view status) noexcept;
/// STATUS=<text>, shown by `systemctl status`.
void status(std::string_view text) noexcept;

/// WATCHDOG=1 at most every WatchdogSec/2 (sd_watchdog_enabled(3)); kick() is cheap enough to
/// call from a 100 ms loop. Does nothing when the unit has no WatchdogSec=.
class Watchdog {
 public:
  Watchdog() noexcept;
  [[nodiscard]] bool enabled() const noexcept { return interval_.count() > 0; }
  /// Sends WATCHDOG=1 when half the watchdog period has passed since the last one.
  void kick() noexcept;

 private:
  std::chrono::microseconds interval_{0};  ///< WatchdogSec / 2; zero when disabled
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace screener::app::systemd
