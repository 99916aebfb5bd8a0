// SPDX-License-Identifier: Apache-2.0
#pragma once

// A segment's name and the paths derived from it. POSIX shared memory lives in /dev/shm on
// Linux, so "screener" is the object "/screener" and the file /dev/shm/screener; the writer's
// lock file sits beside it.

#include <expected>
#include <string>
#include <string_view>

#include "common/segment_error.hpp"

namespace screener::shm {

inline constexpr std::string_view kShmDirectory = "/dev/shm";

struct SegmentName {
  std::string name;          ///< as configured, without the leading slash: "screener"
  std::string shm_object;    ///< the shm_open(3) name: "/screener"
  std::string file_path;     ///< "/dev/shm/screener"
  std::string lock_path;     ///< "/dev/shm/screener.lock"
};

/// Accepts "screener" or "/screener": 1 to 200 characters of [A-Za-z0-9._-], not starting with '.'.
[[nodiscard]] std::expected<SegmentName, SegmentError> parse_segment_name(std::string_view name);

/// strerror(3) text of an errno value, thread-safe.
[[nodiscard]] std::string errno_text(int error);

}  // namespace screener::shm
