// SPDX-License-Identifier: Apache-2.0
#include "common/futex.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <ctime>

namespace screener::shm {

FutexWaitResult futex_wait(const std::uint32_t* word, std::uint32_t expected,
                           std::chrono::nanoseconds timeout) noexcept {
  const auto ns = timeout.count() < 0 ? 0 : timeout.count();
  const timespec relative{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  const long rc = syscall(SYS_futex, word, kFutexWaitOp, expected, &relative, nullptr, 0);
  if (rc == 0) return FutexWaitResult::Woken;
  switch (errno) {
    case EAGAIN: return FutexWaitResult::ValueChanged;
    case ETIMEDOUT: return FutexWaitResult::TimedOut;
    case EINTR: return FutexWaitResult::Interrupted;
    default: return FutexWaitResult::Failed;
  }
}

int futex_wake_all(const std::uint32_t* word) noexcept {
  const long rc = syscall(SYS_futex, word, kFutexWakeOp, INT_MAX, nullptr, nullptr, 0);
  return rc < 0 ? 0 : static_cast<int>(rc);
}

}  // namespace screener::shm
