// SPDX-License-Identifier: Apache-2.0
#pragma once

// A tiny HTTP/1.1 server for metrics and health checks: GET routes answered by callbacks, 404
// for any other path, 405 for any other method, one request per connection (the reply closes
// it). Requests are small (8 KiB of header, no body) and must arrive within a few seconds.
// Everything runs on the given io_context's thread, without blocking it; a route callback runs
// there too and should be quick. Beast is kept out of this header.

#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace boost::asio {
class io_context;
}

namespace screener::net {

struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

/// "HOST:PORT" split, for listen addresses; the port may be 0 (any). The error says what is
/// wrong with `text`.
struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};
[[nodiscard]] std::expected<ListenAddress, std::string> parse_listen_address(std::string_view text);

class HttpServer {
 public:
  virtual ~HttpServer() = default;

  /// Binds and listens on `listen` ("127.0.0.1:9464", "[::1]:0"); an error names the address and
  /// the reason.
  [[nodiscard]] static std::expected<std::shared_ptr<HttpServer>, std::string> create(boost::asio::io_context& io,
                                                                                      std::string_view listen);

  /// Routes GET `path` (the target without its query) to `handler`. Before start() only.
  virtual void route(std::string path, std::function<HttpReply()> handler) = 0;
  /// Starts accepting.
  virtual void start() = 0;
  /// Closes the listener and every connection. Idempotent.
  virtual void stop() = 0;
  /// The bound port (useful with port 0).
  [[nodiscard]] virtual std::uint16_t port() const noexcept = 0;
};

}  // namespace screener::net
