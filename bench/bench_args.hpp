// SPDX-License-Identifier: Apache-2.0
#pragma once

// Command-line numbers for the benchmarks: the whole text must be the number.

#include <charconv>
#include <string_view>
#include <system_error>

namespace screener::bench {

template <class T>
[[nodiscard]] bool parse_number(std::string_view text, T& out) {
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && ptr == text.data() + text.size();
}

}  // namespace screener::bench
