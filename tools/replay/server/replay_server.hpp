// SPDX-License-Identifier: Apache-2.0
#pragma once

// The network side of screener-replay: one port that speaks Binance's REST API and its
// WebSocket market streams (plain or TLS), a market clock that steps the ExchangeModel, and the
// fault switches. Everything runs on one Asio thread; Beast and Asio stay inside
// replay_server.cpp, so including this header costs nothing.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/replay/exchange_model.hpp"
#include "tools/replay/server/fault_switches.hpp"

namespace screener::replay {

struct ServerOptions {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 0;                        ///< 0: any free port (see port())
  std::string port_file;                                ///< written (atomically) once listening
  std::string tls_cert_file;                            ///< PEM chain; TLS when both files are set
  std::string tls_key_file;

  Speed speed;
  /// Step the clock before any client subscribed (and, at Speed max, while none is subscribed).
  bool run_without_clients = false;

  std::chrono::milliseconds ping_interval{20'000};       ///< Binance: a ping frame every 20 s
  std::chrono::milliseconds pong_timeout{60'000};        ///< Binance: no pong within 1 min disconnects
  std::size_t max_streams_per_connection = 1024;
  int max_messages_per_second = 5;                       ///< incoming; PING, PONG and JSON all count
  /// Frames waiting on one connection before it is closed as too slow (not at Speed max, where the
  /// clock waits for every client instead).
  std::size_t max_queued_frames = 100'000;

  /// REQUEST_WEIGHT per minute and IP; nothing: the limit the model advertises in exchangeInfo.
  std::optional<int> weight_limit;
  int ban_after_429s = 3;
  std::chrono::seconds ban_duration{120};

  FaultOptions faults;
  /// Symbol status changes, each due its `after` of wall time once the market clock starts
  /// (also at run time: POST /replay/fault?status=<SYMBOL>:<STATUS>). start() throws for a symbol
  /// the model does not list.
  std::vector<ScheduledStatusChange> status_changes;
  bool handle_signals = false;                           ///< stop cleanly on SIGINT / SIGTERM
};

/// Counters of GET /replay/status.
struct ServerStatus {
  std::int64_t market_time_ms = 0;
  bool started = false;
  bool finished = false;
  std::uint64_t steps = 0;
  std::uint64_t frames_sent = 0;
  std::uint64_t frames_skipped = 0;
  std::uint64_t malformed_sent = 0;
  std::uint64_t connections = 0;
  std::uint64_t connections_total = 0;
  std::uint64_t subscriptions = 0;
  std::uint64_t rest_requests = 0;
  int weight_used = 0;
  int weight_limit = 0;
  FaultOptions faults_pending;
};

class ReplayServer {
 public:
  ReplayServer(ServerOptions options, std::unique_ptr<ExchangeModel> model);
  ~ReplayServer();
  ReplayServer(const ReplayServer&) = delete;
  ReplayServer& operator=(const ReplayServer&) = delete;

  /// Binds and listens (and writes the port file). Throws std::runtime_error on failure.
  void start();
  /// The bound port; valid after start().
  [[nodiscard]] std::uint16_t port() const noexcept;
  /// Serves until stop(); call on the thread that owns the server.
  void run();
  /// Asks run() to return; safe from any thread and from a signal-free context.
  void stop();
  /// Status counters; safe from any thread (copied on the server thread).
  [[nodiscard]] ServerStatus status();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

/// Parses "realtime", "max" or "x<N>" (N > 0, e.g. "x60").
[[nodiscard]] std::optional<Speed> parse_speed(std::string_view text);

}  // namespace screener::replay
