// SPDX-License-Identifier: Apache-2.0
#pragma once

// ws://, wss://, http:// and https:// URLs split into what a connection needs.

#include <expected>
#include <string>
#include <string_view>

namespace screener::net {

struct Url {
  bool tls = false;
  std::string host;
  std::string port;     ///< explicit, or the scheme's default
  std::string target;   ///< path and query, "/" at least

  /// "wss://host:port" — the URL without its target, for log lines.
  [[nodiscard]] std::string origin() const;
};

/// Parses `scheme://host[:port][/path][?query]`; the error names the URL and what is wrong.
[[nodiscard]] std::expected<Url, std::string> parse_url(std::string_view text);

}  // namespace screener::net
