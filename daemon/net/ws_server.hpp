// SPDX-License-Identifier: Apache-2.0
#pragma once

// A small WebSocket server that pushes text messages to its clients (it ignores what they send).
// Each client is admitted by a callback that looks at the request target and returns the tags it
// subscribes to (none: everything); broadcast() sends a message to the clients subscribed to its
// tag. Beast answers pings and sends its own when a client is idle (its suggested server
// timeouts). A client whose queue of unsent messages exceeds the limit is dropped with a close
// frame saying why. Everything runs on the io_context's thread; broadcast() and stop() must be
// called there. Beast stays in the .cpp.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace screener::net {

struct WsServerOptions {
  std::size_t max_queued_messages = 1024;  ///< per client; beyond it the client is dropped
  std::size_t max_clients = 256;
};

/// The tags a client subscribes to (empty: all), or the reason (HTTP 404 with it) to refuse it.
using WsAdmit = std::function<std::expected<std::vector<std::string>, std::string>(std::string_view target)>;

struct WsServerStats {
  std::uint64_t clients = 0;
  std::uint64_t accepted = 0;
  std::uint64_t dropped_slow = 0;
  std::uint64_t messages_sent = 0;
};

class WsServer {
 public:
  virtual ~WsServer() = default;

  /// Binds and listens on `listen` ("127.0.0.1:8765"); the error names the address and reason.
  [[nodiscard]] static std::expected<std::shared_ptr<WsServer>, std::string> create(boost::asio::io_context& io,
                                                                                    std::string_view listen,
                                                                                    WsServerOptions options,
                                                                                    WsAdmit admit);
  virtual void start() = 0;
  /// Closes the listener and every client. Idempotent.
  virtual void stop() = 0;
  /// Queues `text` for every client subscribed to `tag`.
  virtual void broadcast(std::string_view tag, std::shared_ptr<const std::string> text) = 0;
  [[nodiscard]] virtual std::uint16_t port() const noexcept = 0;
  [[nodiscard]] virtual WsServerStats stats() const noexcept = 0;
};

}  // namespace screener::net
