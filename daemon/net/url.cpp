// SPDX-License-Identifier: Apache-2.0
#include "daemon/net/url.hpp"

#include <fmt/format.h>

#include <charconv>

namespace screener::net {

std::string Url::origin() const { return fmt::format("{}://{}:{}", tls ? "tls" : "tcp", host, port); }

std::expected<Url, std::string> parse_url(std::string_view text) {
  const auto fail = [&](std::string_view why) {
    return std::unexpected(fmt::format("invalid URL '{}': {}", text, why));
  };
  Url url;
  const std::size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) return fail("expected scheme://host");
  const std::string_view scheme = text.substr(0, scheme_end);
  if (scheme == "wss" || scheme == "https") {
    url.tls = true;
    url.port = "443";
  } else if (scheme == "ws" || scheme == "http") {
    url.port = "80";
  } else {
    return fail("scheme must be ws, wss, http or https");
  }
  std::string_view rest = text.substr(scheme_end + 3);
  const std::size_t target_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, target_start);
  url.target = target_start == std::string_view::npos ? "/" : std::string(rest.substr(target_start));
  if (!url.target.empty() && url.target.front() == '?') url.target.insert(0, "/");
  if (authority.empty()) return fail("no host");
  if (authority.front() == '[') {  // [v6 address]:port
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("unterminated [IPv6 address]");
    url.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':') return fail("junk after ]");
  } else {
    const std::size_t colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    authority = colon == std::string_view::npos ? std::string_view{} : authority.substr(colon);
  }
  if (!authority.empty()) {
    const std::string_view port = authority.substr(1);
    unsigned value = 0;
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (error != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
      return fail("port must be 1-65535");
    url.port = std::string(port);
  }
  if (url.host.empty()) return fail("no host");
  return url;
}

}  // namespace screener::net
