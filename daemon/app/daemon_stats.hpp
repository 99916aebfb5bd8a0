// SPDX-License-Identifier: Apache-2.0
#pragma once

// One plain snapshot of every statistic screenerd keeps: ingest (frames, parse errors,
// connections, bars, REST), signals, reloads, workers and traders. Filled on the io thread once a
// second (collect_daemon_stats), then written to the segment's status region for
// `screenerctl status` (to_status_snapshot) and rendered for Prometheus: both read this one struct.

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status_board.hpp"
#include "daemon/feed/validation.hpp"

namespace screener::app {

class IngestService;
class TraderService;

struct ConnectionStats {
  std::uint32_t id = 0;
  std::uint32_t streams = 0;
  bool open = false;
  std::uint64_t frames = 0;
  std::int64_t last_frame_unix_ms = 0;  ///< 0: no frame yet
};

struct WorkerStats {
  std::uint32_t index = 0;
  std::uint32_t pid = 0;
  bool connected = false;
  std::uint32_t traders = 0;             ///< these from its last heartbeat
  std::uint64_t table_generation = 0;
  std::uint64_t journal_lag = 0;         ///< records
  std::uint64_t evaluations = 0;
  std::uint64_t signals = 0;
  std::uint64_t suppressed = 0;
  std::uint64_t eval_ns_total = 0;
  std::uint64_t pending_signals = 0;
  std::int64_t last_heartbeat_unix_ms = 0;  ///< 0: none yet
  std::int64_t connected_since_unix_ms = 0;
};

struct TraderStats {
  std::string name;
  std::uint32_t owner = 0xFFFF'FFFFU;    ///< worker index, or shm::kUnassigned
  std::uint64_t evaluations = 0;         ///< as its worker reports them
  std::uint64_t suppressed = 0;          ///< as its worker reports them
  std::uint64_t worker_signals = 0;      ///< emitted, as its worker reports them
  std::uint64_t signals = 0;             ///< written by screenerd since it started
  std::int64_t last_fire_unix_ms = 0;    ///< the last written signal's ts; 0: none
  std::string last_fire_symbol;
};

struct DaemonStats {
  std::int64_t updated_unix_ms = 0;
  std::int64_t started_unix_ms = 0;

  // Ingest (IngestService::fill_stats).
  double frames_per_second = 0;          ///< over the last second (set by the caller that keeps time)
  std::uint64_t frames_total = 0;
  std::uint64_t frames_kline = 0;
  std::uint64_t frames_ticker = 0;
  std::uint64_t frames_other = 0;        ///< ignored and control frames, and rejected ones not told apart
  std::uint64_t parse_errors_total = 0;
  std::array<std::uint64_t, feed::kRejectReasonCount> parse_errors_by_reason{};  ///< by feed::RejectReason
  std::uint64_t connects = 0;
  std::uint64_t reconnects = 0;
  std::uint64_t rotations = 0;
  std::uint64_t closed_bars = 0;
  std::uint64_t backfilled_bars = 0;
  std::uint64_t gaps_detected = 0;
  std::uint64_t rest_requests = 0;
  std::uint64_t rest_429 = 0;
  std::uint64_t rest_418 = 0;
  std::int64_t rest_weight_used = 0;     ///< in the current minute
  std::int64_t rest_weight_limit = 0;    ///< screenerd's share of the exchange's limit
  std::uint32_t symbols_active = 0;
  std::uint32_t rings_total = 0;         ///< active symbols x intervals
  std::uint32_t rings_complete = 0;
  std::vector<ConnectionStats> connections;

  // Signals, reloads, workers and traders (TraderService::fill_stats).
  std::uint64_t signals_written = 0;
  std::uint64_t signals_duplicates = 0;
  std::uint64_t signals_rejected = 0;
  std::uint64_t signal_write_errors = 0;
  std::uint64_t workers_connected = 0;
  std::uint64_t reloads_ok = 0;
  std::uint64_t reloads_failed = 0;
  std::int64_t last_reload_unix_ms = 0;  ///< 0: no reload yet
  bool last_reload_ok = true;
  std::string last_reload_error;
  std::vector<WorkerStats> workers;      ///< by index; disconnected ones stay, with connected = false
  std::vector<TraderStats> traders;      ///< in trader table order
  std::vector<std::string> recent_signals;  ///< the last 16 signal lines written, oldest first
};
static_assert(feed::kRejectReasonCount <= shm::kStatusRejectReasons);

/// Keeps the previous frame count and time: frames per second between two calls.
class RateMeter {
 public:
  double update(std::uint64_t total, std::chrono::steady_clock::time_point now) noexcept;

 private:
  std::uint64_t last_total_ = 0;
  std::chrono::steady_clock::time_point last_{};
};

[[nodiscard]] inline std::int64_t unix_ms(std::chrono::system_clock::time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

/// Everything, now. Call on the io thread (IngestService lives there; TraderService's hub-thread
/// state is copied under its mutex). frames_per_second is left 0: the caller's RateMeter knows it.
[[nodiscard]] DaemonStats collect_daemon_stats(const IngestService& ingest, const TraderService& traders,
                                               std::chrono::system_clock::time_point started);

/// The status region's form of `stats` (cut to the region's capacities).
[[nodiscard]] shm::StatusSnapshot to_status_snapshot(const DaemonStats& stats);

}  // namespace screener::app
