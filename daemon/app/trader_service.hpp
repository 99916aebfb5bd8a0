// SPDX-License-Identifier: Apache-2.0
#pragma once

// screenerd's side of the traders: loads and validates the traders directory, publishes the
// trader table (who runs what) in the segment, follows the workers that connect to the signal
// hub and rebalances the table when one joins or leaves, and reloads on request.
//
// The table is written on the io_context thread, which is the segment's only writer; the hub's
// thread only posts the new set of workers there.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/segment_writer.hpp"
#include "daemon/app/daemon_stats.hpp"
#include "daemon/app/prometheus.hpp"
#include "config/screener_config.hpp"
#include "daemon/signals/signal_hub.hpp"
#include "daemon/signals/sink_fanout.hpp"
#include "daemon/traders/trader_registry.hpp"

namespace boost::asio {
class io_context;
}

namespace screener::app {

class TraderService {
 public:
  TraderService(boost::asio::io_context& io, shm::SegmentWriter& writer, const config::ScreenerConfig& config);
  ~TraderService();

  /// Loads the traders, publishes the first table and opens the workers' socket and the signal
  /// sinks. Throws std::runtime_error with every problem (bad trader files, socket, JSONL file).
  void start();
  /// Validates the traders directory again; publishes the new set only if all of it is valid,
  /// otherwise logs the errors and keeps the old set. Reopens the JSONL file (logrotate).
  void reload();
  void stop() noexcept;
  /// Reloads, like SIGHUP, whenever a *.toml file in the traders directory is written, moved or
  /// removed (inotify), after the changes have been quiet for a moment: an editor's save is one
  /// reload, not three.
  void watch_directory();

  [[nodiscard]] signals::SignalHubStats hub_stats() const noexcept { return hub_.stats(); }
  /// The signal sinks' counters ([sinks.*]); any thread.
  [[nodiscard]] std::vector<signals::SinkStats> sink_stats() const { return fanout_->stats(); }
  /// Signals, reloads, workers (their last heartbeats) and traders (their workers' counters, and
  /// the signals written for each) into `stats` (daemon_stats.hpp). Safe from the io thread while
  /// the hub thread records.
  void fill_stats(DaemonStats& stats) const;
  /// The workers' evaluation rounds by duration (eval_round_histogram.hpp); any thread.
  [[nodiscard]] HistogramSnapshot eval_round_histogram() const;

 private:
  void publish_table();
  void read_directory_events();
  struct DirectoryWatch;

  boost::asio::io_context& io_;
  shm::SegmentWriter& writer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  ///< before hub_: its callback holds a weak_ptr
  struct StatusState;
  std::unique_ptr<StatusState> status_;  ///< before hub_: the hub thread records into it
  std::unique_ptr<signals::SinkFanout> fanout_;  ///< before hub_: the hub thread dispatches to it
  traders::TraderRegistry registry_;
  signals::SignalHub hub_;
  std::vector<std::uint32_t> workers_;
  std::unique_ptr<DirectoryWatch> watch_;
};

}  // namespace screener::app
