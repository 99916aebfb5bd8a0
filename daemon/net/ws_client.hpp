// SPDX-License-Identifier: Apache-2.0
#pragma once

// One WebSocket client connection (plain or TLS), with Beast kept out of this header.
//
// The read loop always has one read outstanding, so the server's pings are answered as soon
// as they arrive (Beast only answers pings inside a read) and the frame handler runs right in
// the read completion. Outgoing text messages are paced, because the exchange counts every
// incoming message, pongs included, against a per-connection rate limit. A watchdog closes the
// connection when nothing (no frame, no ping) arrived for the configured time.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "daemon/net/tls.hpp"
#include "daemon/net/url.hpp"

namespace boost::asio {
class io_context;
}

namespace screener::net {

struct WsOptions {
  std::chrono::milliseconds connect_timeout{10'000};    ///< resolve + TCP + TLS + WebSocket handshake
  std::chrono::milliseconds watchdog_timeout{60'000};   ///< silence (no frame, no ping) that closes
  std::chrono::milliseconds send_spacing{300};          ///< min gap between our messages: <= 3.4/s
  std::size_t max_frame_bytes = 16U << 20;
};

struct WsHandlers {
  std::function<void()> on_open;
  /// One text frame. `data` stays valid only during the call and has at least
  /// `padded_capacity - size` readable bytes after it (for simdjson).
  std::function<void(const char* data, std::size_t size, std::size_t padded_capacity)> on_frame;
  /// Called exactly once, after the connection is gone, with the reason.
  std::function<void(const std::string& reason)> on_closed;
};

class WsConnection {
 public:
  virtual ~WsConnection() = default;

  /// Connects, then reads until closed. Handlers run on the io_context's thread. `tls_context`
  /// is required for wss:// URLs and ignored for ws://.
  [[nodiscard]] static std::shared_ptr<WsConnection> connect(boost::asio::io_context& io, const Url& url,
                                                             std::shared_ptr<boost::asio::ssl::context> tls_context,
                                                             WsOptions options,
                                                             WsHandlers handlers);

  /// Queues a text message; sent in order, paced by send_spacing.
  virtual void send(std::string text) = 0;
  /// Closes (WebSocket close frame, then the socket); on_closed follows with `reason`.
  virtual void close(const std::string& reason) = 0;
  [[nodiscard]] virtual bool is_open() const noexcept = 0;
  /// Frames received so far.
  [[nodiscard]] virtual std::uint64_t frames() const noexcept = 0;
};

}  // namespace screener::net
