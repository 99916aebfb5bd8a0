// SPDX-License-Identifier: Apache-2.0
#pragma once

// The live market-data connections: the streams of the followed symbols split into connections
// of at most `streams_per_connection`, each kept alive through disconnects (exponential backoff
// with full jitter, at most `max_connects_per_5min` attempts in any five minutes), rotated
// make-before-break before the exchange's 24 h cut-off and at once on `serverShutdown`, so that
// no update is lost; frames parsed and applied to the segment as they arrive.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "daemon/feed/frame_parser.hpp"
#include "daemon/ingest/frame_batcher.hpp"
#include "daemon/ingest/market_writer.hpp"
#include "daemon/ingest/recorder.hpp"
#include "daemon/ingest/scheduler.hpp"
#include "daemon/net/url.hpp"
#include "daemon/net/ws_client.hpp"

namespace screener::ingest {

struct FeedOptions {
  net::Url ws_base;                                   ///< scheme, host, port of the stream endpoint
  std::uint32_t streams_per_connection = 1024;
  std::chrono::milliseconds watchdog{60'000};
  std::chrono::milliseconds rotate_after{23 * 3600 * 1000};
  std::chrono::milliseconds reconnect_min{500};
  std::chrono::milliseconds reconnect_max{60'000};
  std::uint32_t max_connects_per_5min = 250;
  std::size_t streams_in_url = 100;                   ///< the rest is sent as SUBSCRIBE messages
  std::size_t streams_per_subscribe = 200;
};

struct FeedStats {
  std::uint64_t frames = 0;
  std::uint64_t connects = 0;          ///< connection attempts
  std::uint64_t reconnects = 0;        ///< attempts after an unexpected loss
  std::uint64_t rotations = 0;         ///< make-before-break replacements (age or serverShutdown)
  std::uint64_t server_shutdowns = 0;
  std::uint64_t control_errors = 0;    ///< SUBSCRIBE & co. answered with an error
  std::uint64_t throttled_connects = 0;  ///< attempts delayed by the 5-minute budget
};

/// What one live connection looks like, for status.
struct ConnectionStatus {
  std::uint32_t id;
  std::size_t streams;
  bool open;
  std::uint64_t frames;
  std::chrono::steady_clock::time_point last_frame;
};

class FeedManager {
 public:
  /// `on_batch` runs after frames were applied, at most once per burst of frames (publish).
  /// `on_frame_published`, when set, hears each market frame's arrival-to-publish delay after
  /// the `on_batch` that published it (FrameBatcher).
  FeedManager(boost::asio::io_context& io, std::shared_ptr<boost::asio::ssl::context> tls, Scheduler& scheduler,
              MarketWriter& market, const SymbolRegistry& registry, FeedOptions options,
              std::function<void()> on_batch,
              std::function<void(Scheduler::Clock::duration)> on_frame_published = {});
  ~FeedManager();
  FeedManager(const FeedManager&) = delete;
  FeedManager& operator=(const FeedManager&) = delete;

  /// Follows exactly these symbol slots: their kline streams for every interval of the segment,
  /// plus the all-market mini tickers. Connections are opened, or sent SUBSCRIBE / UNSUBSCRIBE,
  /// to match; the first call connects everything.
  void set_symbols(const std::vector<std::uint32_t>& symbols);
  void record_to(Recorder* recorder) noexcept { recorder_ = recorder; }
  void stop();

  [[nodiscard]] const FeedStats& stats() const noexcept { return stats_; }
  [[nodiscard]] const feed::ParseStats& parse_stats() const noexcept { return parser_.stats(); }
  [[nodiscard]] std::vector<ConnectionStatus> connections() const;

  /// Stream names of a (symbol, interval) kline and of the all-market mini ticker.
  [[nodiscard]] static std::string kline_stream(std::string_view symbol, Interval interval);
  static constexpr std::string_view kMiniTickerStream = "!miniTicker@arr";

 private:
  struct Slot;
  class Router;

  void connect(Slot& slot, bool replacement);
  void schedule_reconnect(Slot& slot);
  void rotate(Slot& slot, const char* why);
  void on_frame(Slot& slot, std::uint64_t generation, const char* data, std::size_t size, std::size_t capacity);
  void on_open(Slot& slot, std::uint64_t generation);
  void on_closed(Slot& slot, std::uint64_t generation, const std::string& reason);
  void send_subscriptions(Slot& slot, net::WsConnection& connection, const std::vector<std::string>& streams,
                          bool subscribe);
  void mark_streams_lost(const Slot& slot);
  [[nodiscard]] std::chrono::milliseconds connect_delay();
  void log_reject(const feed::ParseResult& result);

  boost::asio::io_context& io_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  Scheduler& scheduler_;
  MarketWriter& market_;
  const SymbolRegistry& registry_;
  FeedOptions options_;
  FrameBatcher batcher_;
  feed::FrameParser parser_;
  std::unique_ptr<Router> router_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::deque<Scheduler::Clock::time_point> connect_times_;
  std::mt19937_64 random_;
  Recorder* recorder_ = nullptr;
  FeedStats stats_;
  std::uint64_t next_request_id_ = 1;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  Scheduler::Clock::time_point last_reject_log_{};
  std::uint64_t rejects_since_log_ = 0;
};

}  // namespace screener::ingest
