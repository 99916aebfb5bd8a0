// SPDX-License-Identifier: Apache-2.0
#pragma once

// A small blocking WebSocket and HTTP client for tests, plain or TLS. Every call takes a
// deadline, so a misbehaving server fails a test instead of hanging it. Beast stays in
// ws_test_client.cpp: including this header is cheap.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace screener::test {

using namespace std::chrono_literals;

struct Endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  bool tls = false;
  std::string ca_file;       ///< TLS: the only CA trusted (none: verification must fail)
  std::string verify_name;   ///< TLS: name or IP the certificate must carry (default: host)
};

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;   ///< names lower-cased
  std::string body;

  /// Value of header `name` (any case), or "" when absent.
  [[nodiscard]] std::string header(std::string_view name) const;
};

/// One request on a fresh connection. Throws std::runtime_error on failure or timeout.
HttpReply http_request(const Endpoint& endpoint, std::string_view method, std::string_view target,
                       std::chrono::milliseconds timeout = 5s);

class WsClient {
 public:
  /// Connects and upgrades to `target` ("/ws/x", "/stream?streams=a/b"). Throws
  /// std::runtime_error with the reason (TLS verification, HTTP refusal, timeout).
  WsClient(const Endpoint& endpoint, std::string_view target, std::chrono::milliseconds timeout = 5s);
  ~WsClient();   // drops the TCP connection without a close handshake
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  enum class Read { Message, Timeout, Closed };

  /// Waits up to `timeout` for one message. Pings are answered only while a read waits, as with
  /// any Beast client; between reads the client is deaf.
  Read read(std::string& message, std::chrono::milliseconds timeout);
  /// Reads until a message satisfies `match` (returned) or the deadline (nothing). Messages read
  /// on the way are appended to `skipped` when given.
  std::optional<std::string> read_until(const std::function<bool(const std::string&)>& match,
                                        std::chrono::milliseconds timeout,
                                        std::vector<std::string>* skipped = nullptr);
  /// Reads until the connection ends; true when it did within `timeout`.
  bool wait_closed(std::chrono::milliseconds timeout);

  void send(std::string_view text, std::chrono::milliseconds timeout = 5s);
  void send_ping(std::string_view payload, std::chrono::milliseconds timeout = 5s);

  [[nodiscard]] bool closed() const noexcept;
  /// Why the connection ended: "close <code> <reason>" for a close frame, else the error text.
  [[nodiscard]] std::string close_reason() const;
  /// When each server ping arrived.
  [[nodiscard]] std::vector<std::chrono::steady_clock::time_point> pings() const;
  /// When each pong (to our pings) arrived.
  [[nodiscard]] std::vector<std::chrono::steady_clock::time_point> pongs() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace screener::test
