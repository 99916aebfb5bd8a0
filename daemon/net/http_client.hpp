// SPDX-License-Identifier: Apache-2.0
#pragma once

// A small asynchronous HTTP/1.1 GET client for the exchange's REST API, plain or TLS, with one
// kept-alive connection and one request in flight at a time (requests queue in order). Beast is
// kept out of this header.

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>

#include "daemon/net/tls.hpp"
#include "daemon/net/url.hpp"

namespace boost::asio {
class io_context;
}

namespace screener::net {

struct HttpResponse {
  int status = 0;
  std::string body;
  std::int64_t used_weight_1m = -1;   ///< X-MBX-USED-WEIGHT-1M, -1 when absent
  std::int64_t retry_after_s = -1;    ///< Retry-After in seconds, -1 when absent
};

using HttpResult = std::expected<HttpResponse, std::string>;

struct HttpOptions {
  std::chrono::milliseconds timeout{15'000};   ///< connect + request + response
  std::size_t max_body_bytes = 64U << 20;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;

  /// `base` gives scheme, host and port; its target is ignored.
  [[nodiscard]] static std::shared_ptr<HttpClient> create(boost::asio::io_context& io, const Url& base,
                                                          std::shared_ptr<boost::asio::ssl::context> tls_context,
                                                          HttpOptions options = {});

  /// GET `target` ("/api/v3/klines?symbol=..."); `done` runs on the io_context's thread.
  virtual void get(std::string target, std::function<void(HttpResult)> done) = 0;
  /// Drops the queue (their callbacks get an error) and the connection.
  virtual void cancel_all() = 0;
  [[nodiscard]] virtual std::size_t pending() const noexcept = 0;
};

}  // namespace screener::net
