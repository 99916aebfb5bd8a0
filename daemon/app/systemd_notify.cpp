// SPDX-License-Identifier: Apache-2.0
#include "daemon/app/systemd_notify.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdlib>
#include <string>

namespace screener::app::systemd {
namespace {

void send(const std::string& state) noexcept {
  if (!enabled()) return;
  // 0: keep NOTIFY_SOCKET in the environment, later notifications (and children) still see it.
  (void)::sd_notify(0, state.c_str());
}

std::string status_line(std::string_view text) {
  std::string line = "STATUS=";
  line.append(text);
  return line;
}

}  // namespace

bool enabled() noexcept {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  return socket != nullptr && *socket != '\0';
}

void ready(std::string_view text) noexcept {
  try {
    send(text.empty() ? std::string("READY=1") : "READY=1\n" + status_line(text));
  } catch (...) {
  }
}

void reloading() noexcept {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const unsigned long long usec =
      static_cast<unsigned long long>(now.tv_sec) * 1'000'000ULL + static_cast<unsigned long long>(now.tv_nsec) / 1000;
  try {
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
  } catch (...) {
  }
}

void stopping(std::string_view text) noexcept {
  try {
    send("STOPPING=1\n" + status_line(text));
  } catch (...) {
  }
}

void status(std::string_view text) noexcept {
  try {
    send(status_line(text));
  } catch (...) {
  }
}

Watchdog::Watchdog() noexcept {
  std::uint64_t usec = 0;
  // > 0: WATCHDOG_USEC is set (and WATCHDOG_PID, if set, is this process).
  if (systemd::enabled() && ::sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    interval_ = std::chrono::microseconds(static_cast<std::int64_t>(usec / 2));
  }
}

void Watchdog::kick() noexcept {
  if (interval_.count() == 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (last_ != std::chrono::steady_clock::time_point{} && now - last_ < interval_) return;
  last_ = now;
  (void)::sd_notify(0, "WATCHDOG=1");
}

}  // namespace screener::app::systemd
