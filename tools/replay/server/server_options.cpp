// SPDX-License-Identifier: Apache-2.0
#include <charconv>

#include "tools/replay/server/replay_server.hpp"

namespace screener::replay {

std::optional<Speed> parse_speed(std::string_view text) {
  if (text == "realtime" || text == "x1") return Speed{Speed::Mode::RealTime, 1.0};
  if (text == "max") return Speed{Speed::Mode::AsFastAsRead, 1.0};
  if (text.size() < 2 || (text.front() != 'x' && text.front() != 'X')) return std::nullopt;
  double multiple = 0;
  const auto [end, error] = std::from_chars(text.data() + 1, text.data() + text.size(), multiple);
  if (error != std::errc() || end != text.data() + text.size() || !(multiple > 0)) return std::nullopt;
  return Speed{Speed::Mode::Multiple, multiple};
}

}  // namespace screener::replay
