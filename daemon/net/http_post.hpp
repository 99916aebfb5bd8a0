// SPDX-License-Identifier: Apache-2.0
#pragma once

// One HTTP/1.1 POST on a fresh connection, plain or TLS (certificates and host name verified
// with the context from daemon/net/tls.hpp), bounded by one deadline that covers resolving,
// connecting, the handshake, sending and receiving. For webhooks: rare enough that a connection
// per request costs nothing, and no kept-alive state can go stale. Beast stays in the .cpp.

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "daemon/net/tls.hpp"
#include "daemon/net/url.hpp"

namespace boost::asio {
class io_context;
}

namespace screener::net {

struct PostReply {
  int status = 0;
  std::int64_t retry_after_s = -1;  ///< Retry-After in seconds, -1 when absent or not a number
  std::string body;                 ///< at most 64 KiB
};

struct PostRequest {
  Url url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type = "application/json";
  std::string body;
  std::chrono::milliseconds timeout{3000};
};

/// Starts the POST; `done` runs once on the io_context's thread, with the reply (any status) or
/// the network error's text. `tls_context` is required for https:// URLs.
void http_post(boost::asio::io_context& io, std::shared_ptr<boost::asio::ssl::context> tls_context,
               PostRequest request, std::function<void(std::expected<PostReply, std::string>)> done);

}  // namespace screener::net
