// SPDX-License-Identifier: Apache-2.0
#pragma once

// screenerd's ingest, wired together: exchangeInfo and the symbol universe, REST backfill, the
// live connections, the segment's heartbeat and publishing, and periodic universe refreshes.
// Everything runs on one io_context thread, which is also the segment's only writer.

#include <memory>
#include <optional>
#include <set>
#include <string>

#include "config/screener_config.hpp"
#include "common/segment_writer.hpp"
#include "daemon/app/asio_scheduler.hpp"
#include "daemon/app/daemon_stats.hpp"
#include "daemon/app/prometheus.hpp"
#include "daemon/app/systemd_notify.hpp"
#include "daemon/feed/rest_parsers.hpp"
#include "daemon/ingest/backfill.hpp"
#include "daemon/ingest/feed_manager.hpp"
#include "daemon/ingest/market_writer.hpp"
#include "daemon/ingest/recorder.hpp"
#include "daemon/ingest/rest_budget.hpp"
#include "daemon/ingest/symbol_registry.hpp"

namespace boost::asio {
class io_context;
}

namespace screener::app {

class IngestService {
 public:
  /// Throws std::runtime_error for unusable settings (bad URL, CA file), naming them.
  IngestService(boost::asio::io_context& io, shm::SegmentWriter& writer, const config::ScreenerConfig& config,
                std::optional<ingest::Recorder> recorder);
  ~IngestService();

  /// Begins: exchangeInfo, universe, backfill, streams. `on_fatal` runs if start-up cannot
  /// reach the exchange within its bounded retries.
  void start(std::function<void(const std::string&)> on_fatal);
  void stop();

  /// The ingest's counters and connections into `stats` (daemon_stats.hpp); io thread only.
  void fill_stats(DaemonStats& stats, std::chrono::system_clock::time_point now) const;

  /// Symbols followed now (for the service status line).
  [[nodiscard]] std::size_t active_symbols() const noexcept { return registry_.active_count(); }

  /// Each market frame's delay from its arrival to the publish that made it visible to the
  /// workers. Observed on the io thread; safe to snapshot from any thread while this lives.
  [[nodiscard]] const Histogram& frame_to_publish() const noexcept { return frame_to_publish_; }

 private:
  void fetch_exchange_info(int attempt);
  void on_exchange_info(const std::string& body);
  void fetch_tickers(feed::ExchangeInfo info, int attempt);
  void on_tickers(const feed::ExchangeInfo& info, net::HttpResult result, int attempt);
  void follow(const std::vector<ingest::SymbolListing>& listings);
  void schedule_refresh();
  void refresh();
  void heartbeat();
  void log_stats();
  void publish();
  void retry_start(int attempt, const std::string& what, std::function<void(int)> again);

  boost::asio::io_context& io_;
  shm::SegmentWriter& writer_;
  config::ScreenerConfig config_;
  AsioScheduler scheduler_;
  std::optional<ingest::Recorder> recorder_;
  std::shared_ptr<net::HttpClient> control_rest_;
  ingest::RestBudget budget_;
  ingest::SymbolRegistry registry_;
  Histogram frame_to_publish_{Histogram::latency_seconds_buckets()};  ///< before feeds_, which feeds it
  std::unique_ptr<ingest::Backfill> backfill_;
  std::unique_ptr<ingest::MarketWriter> market_;
  std::unique_ptr<ingest::FeedManager> feeds_;
  std::function<void(const std::string&)> on_fatal_;
  std::set<std::string> known_symbols_;
  std::set<std::string> retired_symbols_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool started_ = false;
  std::uint64_t control_requests_ = 0;  ///< exchangeInfo and ticker/24hr requests (backfill counts its own)
  systemd::Watchdog watchdog_;  ///< fed by heartbeat(): a stuck io thread gets screenerd restarted
};

}  // namespace screener::app
