// SPDX-License-Identifier: Apache-2.0
#pragma once

// The one wrapper around futex(2) for the segment's wake-up word.
//
// Always the *shared* operations: a private futex is keyed by (mm, address) and cannot wake a
// process that maps the same page elsewhere. std::atomic::wait/notify use the private flag and a
// per-process waiter table, so they cannot be used across processes at all.

#include <linux/futex.h>

#include <chrono>
#include <cstdint>

namespace screener::shm {

inline constexpr int kFutexWaitOp = FUTEX_WAIT;
inline constexpr int kFutexWakeOp = FUTEX_WAKE;
static_assert((kFutexWaitOp & FUTEX_PRIVATE_FLAG) == 0, "segment futex must be shared");
static_assert((kFutexWakeOp & FUTEX_PRIVATE_FLAG) == 0, "segment futex must be shared");

enum class FutexWaitResult {
  Woken,          ///< returned 0: woken, or spuriously; re-check the word
  ValueChanged,   ///< EAGAIN: the word already differed from `expected`
  TimedOut,       ///< ETIMEDOUT
  Interrupted,    ///< EINTR: a signal arrived
  Failed,         ///< EFAULT or EINVAL: the word is not a mapped, aligned futex word
};

/// Sleeps while `*word == expected`, at most `timeout` (relative, CLOCK_MONOTONIC).
/// Works on a PROT_READ mapping.
[[nodiscard]] FutexWaitResult futex_wait(const std::uint32_t* word, std::uint32_t expected,
                                         std::chrono::nanoseconds timeout) noexcept;

/// Wakes every waiter on `word`; returns how many were woken.
int futex_wake_all(const std::uint32_t* word) noexcept;

}  // namespace screener::shm
