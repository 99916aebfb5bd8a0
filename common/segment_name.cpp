// SPDX-License-Identifier: Apache-2.0
#include "common/segment_name.hpp"

#include <fmt/format.h>

#include <system_error>

namespace screener::shm {

std::expected<SegmentName, SegmentError> parse_segment_name(std::string_view name) {
  if (!name.empty() && name.front() == '/') name.remove_prefix(1);
  auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  };
  bool valid = !name.empty() && name.size() <= 200 && name.front() != '.';
  for (const char c : name) valid = valid && allowed(c);
  if (!valid)
    return std::unexpected(SegmentError{
        SegmentErrc::InvalidGeometry,
        fmt::format("segment name '{}' is invalid: use 1 to 200 characters of [A-Za-z0-9._-], not starting "
                    "with '.'",
                    name)});
  SegmentName result;
  result.name = std::string(name);
  result.shm_object = "/" + result.name;
  result.file_path = fmt::format("{}/{}", kShmDirectory, result.name);
  result.lock_path = result.file_path + ".lock";
  return result;
}

std::string errno_text(int error) { return std::system_category().message(error); }

}  // namespace screener::shm
