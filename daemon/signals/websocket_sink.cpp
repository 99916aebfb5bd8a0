// SPDX-License-Identifier: Apache-2.0
#include "daemon/signals/websocket_sink.hpp"

#include "daemon/net/ws_server.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <stdexcept>
#include <thread>

namespace screener::signals {

namespace {

namespace asio = boost::asio;

/// Messages posted to the sink's thread and not yet handed to the server; beyond this the
/// server's thread is stuck and new signals are dropped rather than piled up.
constexpr std::uint64_t kMaxInFlight = 100'000;

class WebSocketSink final : public SignalSink {
 public:
  explicit WebSocketSink(const config::SinkConfig& config) : config_(config), refresh_(io_) {}
  ~WebSocketSink() override { stop(); }
  WebSocketSink(const WebSocketSink&) = delete;
  WebSocketSink& operator=(const WebSocketSink&) = delete;

  [[nodiscard]] const std::string& name() const noexcept override { return config_.name; }

  void start() override {
    if (thread_.joinable()) return;
    net::WsServerOptions options;
    options.max_queued_messages = config_.queue;
    auto server = net::WsServer::create(io_, config_.listen, options, parse_signals_target);
    if (!server) throw std::runtime_error(fmt::format("websocket sink '{}': {}", config_.name, server.error()));
    server_ = *server;
    server_->start();
    port_.store(server_->port());
    stopped_.store(false);
    refresh_stats();
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(io_);
      io_.run();
    });
    const std::string host = config_.listen.substr(0, config_.listen.rfind(':'));
    spdlog::info("websocket sink '{}': clients connect to ws://{}:{}/signals[?trader=NAME]", config_.name, host,
                 server_->port());
  }

  void stop() noexcept override {
    if (!thread_.joinable()) return;
    stopped_.store(true);
    asio::post(io_, [this] {
      server_->stop();
      refresh_.cancel();
      // Give the close frames a moment, then stop the loop.
      refresh_.expires_after(std::chrono::milliseconds(200));
      refresh_.async_wait([this](const boost::system::error_code&) { io_.stop(); });
    });
    thread_.join();
    server_.reset();
  }

  void enqueue(std::shared_ptr<const std::string> json, std::string_view trader) override {
    enqueued_.fetch_add(1, std::memory_order_relaxed);
    if (stopped_.load() || in_flight_.load(std::memory_order_relaxed) >= kMaxInFlight) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    asio::post(io_, [this, json = std::move(json), trader = std::string(trader)] {
      in_flight_.fetch_sub(1, std::memory_order_relaxed);
      if (server_) server_->broadcast(trader, json);
    });
  }

  [[nodiscard]] SinkStats stats() const override {
    return SinkStats{.name = config_.name,
                     .type = "websocket",
                     .enqueued = enqueued_.load(std::memory_order_relaxed),
                     .delivered = sent_.load(std::memory_order_relaxed),
                     .dropped = dropped_.load(std::memory_order_relaxed),
                     .queued = in_flight_.load(std::memory_order_relaxed),
                     .clients = clients_.load(std::memory_order_relaxed),
                     .clients_dropped = clients_dropped_.load(std::memory_order_relaxed),
                     .port = port_.load()};
  }

  [[nodiscard]] std::uint16_t port() const noexcept { return port_.load(); }

 private:
  /// The server's counters, copied for other threads every 250 ms.
  void refresh_stats() {
    if (!server_ || stopped_.load()) return;
    const net::WsServerStats stats = server_->stats();
    clients_.store(stats.clients, std::memory_order_relaxed);
    sent_.store(stats.messages_sent, std::memory_order_relaxed);
    clients_dropped_.store(stats.dropped_slow, std::memory_order_relaxed);
    refresh_.expires_after(std::chrono::milliseconds(250));
    refresh_.async_wait([this](const boost::system::error_code& error) {
      if (!error) refresh_stats();
    });
  }

  config::SinkConfig config_;
  asio::io_context io_{1};
  asio::steady_timer refresh_;
  std::shared_ptr<net::WsServer> server_;
  std::thread thread_;
  std::atomic<bool> stopped_{true};
  std::atomic<std::uint16_t> port_{0};
  std::atomic<std::uint64_t> enqueued_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> in_flight_{0};
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> clients_{0};
  std::atomic<std::uint64_t> clients_dropped_{0};
};

}  // namespace

std::expected<std::vector<std::string>, std::string> parse_signals_target(std::string_view target) {
  const auto question = target.find('?');
  if (target.substr(0, question) != "/signals")
    return std::unexpected(std::string("no such endpoint; connect to /signals or /signals?trader=NAME"));
  std::vector<std::string> traders;
  if (question == std::string_view::npos) return traders;
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    if (!pair.starts_with("trader=") || pair.size() == 7)
      return std::unexpected(fmt::format("unknown query parameter '{}'; the only one is trader=NAME", pair));
    traders.emplace_back(pair.substr(7));
  }
  return traders;
}

std::unique_ptr<SignalSink> make_websocket_sink(const config::SinkConfig& config) {
  return std::make_unique<WebSocketSink>(config);
}

}  // namespace screener::signals
