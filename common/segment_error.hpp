// SPDX-License-Identifier: Apache-2.0
#pragma once

// Errors from creating, attaching to and validating a segment. The message always names the
// segment and prints the values involved (expected and found), so an operator can act on it.

#include <string>

namespace screener::shm {

enum class SegmentErrc {
  InvalidGeometry,     ///< a configured dimension is out of range
  WriterAlive,         ///< another writer holds the segment's lock
  LockFailed,          ///< the lock file could not be opened or locked
  GroupNotFound,       ///< the configured group does not exist
  CreateFailed,        ///< shm_open / ftruncate / fchmod / fchown failed
  NoSpace,             ///< /dev/shm cannot hold the segment
  MapFailed,           ///< mmap failed
  NotFound,            ///< no segment of that name (yet): retryable
  PermissionDenied,    ///< the segment exists but this user may not read it
  TooSmall,            ///< smaller than a header, or than the size the header states
  BadMagic,            ///< not a screener segment
  NotReady,            ///< the writer has not finished initialising it (yet): retryable
  VersionMismatch,     ///< written by a build with another layout version
  LayoutHashMismatch,  ///< written by a build with another struct layout
  Shutdown,            ///< the writer marked it SHUTDOWN
  TimedOut,            ///< a bounded wait for a retryable state ran out
};

struct SegmentError {
  SegmentErrc code;
  std::string message;
};

/// Whether waiting and retrying can help (Aeron's AWAIT_* states).
[[nodiscard]] constexpr bool is_retryable(SegmentErrc code) noexcept {
  return code == SegmentErrc::NotFound || code == SegmentErrc::NotReady || code == SegmentErrc::Shutdown ||
         code == SegmentErrc::TooSmall;
}

}  // namespace screener::shm
