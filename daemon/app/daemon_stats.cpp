// SPDX-License-Identifier: Apache-2.0
#include "daemon/app/daemon_stats.hpp"

#include "daemon/app/ingest_service.hpp"
#include "daemon/app/trader_service.hpp"

namespace screener::app {

double RateMeter::update(std::uint64_t total, std::chrono::steady_clock::time_point now) noexcept {
  double rate = 0;
  if (last_ != std::chrono::steady_clock::time_point{} && now > last_ && total >= last_total_) {
    rate = static_cast<double>(total - last_total_) / std::chrono::duration<double>(now - last_).count();
  }
  last_total_ = total;
  last_ = now;
  return rate;
}

DaemonStats collect_daemon_stats(const IngestService& ingest, const TraderService& traders,
                                 std::chrono::system_clock::time_point started) {
  DaemonStats stats;
  const auto now = std::chrono::system_clock::now();
  stats.updated_unix_ms = unix_ms(now);
  stats.started_unix_ms = unix_ms(started);
  ingest.fill_stats(stats, now);
  traders.fill_stats(stats);
  return stats;
}

shm::StatusSnapshot to_status_snapshot(const DaemonStats& s) {
  shm::StatusSnapshot out;
  shm::StatusHeader& h = out.header;
  h.updated_unix_ms = s.updated_unix_ms;
  h.started_unix_ms = s.started_unix_ms;
  h.frames_per_second = s.frames_per_second;
  h.frames_total = s.frames_total;
  h.frames_kline = s.frames_kline;
  h.frames_ticker = s.frames_ticker;
  h.frames_other = s.frames_other;
  h.parse_errors_total = s.parse_errors_total;
  for (std::size_t i = 0; i < s.parse_errors_by_reason.size(); ++i) h.parse_errors_by_reason[i] = s.parse_errors_by_reason[i];
  h.connects = s.connects;
  h.reconnects = s.reconnects;
  h.rotations = s.rotations;
  h.closed_bars = s.closed_bars;
  h.backfilled_bars = s.backfilled_bars;
  h.gaps_detected = s.gaps_detected;
  h.rest_requests = s.rest_requests;
  h.rest_429 = s.rest_429;
  h.rest_418 = s.rest_418;
  h.rest_weight_used = s.rest_weight_used;
  h.rest_weight_limit = s.rest_weight_limit;
  h.signals_written = s.signals_written;
  h.signals_duplicates = s.signals_duplicates;
  h.signals_rejected = s.signals_rejected;
  h.signal_write_errors = s.signal_write_errors;
  h.reloads_ok = s.reloads_ok;
  h.reloads_failed = s.reloads_failed;
  h.last_reload_unix_ms = s.last_reload_unix_ms;
  h.last_reload_ok = s.last_reload_ok ? 1 : 0;
  h.symbols_active = s.symbols_active;
  h.rings_complete = s.rings_complete;
  shm::set_padded(h.last_reload_error, s.last_reload_error);

  for (const ConnectionStats& c : s.connections) {
    out.connections.push_back(shm::ConnectionStatus{.id = c.id,
                                                    .streams = c.streams,
                                                    .open = c.open ? 1U : 0U,
                                                    .reserved0 = 0,
                                                    .frames = c.frames,
                                                    .last_frame_unix_ms = c.last_frame_unix_ms});
  }
  for (const WorkerStats& w : s.workers) {
    shm::WorkerStatus e{};
    e.index = w.index;
    e.pid = w.pid;
    e.connected = w.connected ? 1 : 0;
    e.traders = w.traders;
    e.table_generation = w.table_generation;
    e.journal_lag = w.journal_lag;
    e.evaluations = w.evaluations;
    e.signals = w.signals;
    e.suppressed = w.suppressed;
    e.eval_ns_total = w.eval_ns_total;
    e.pending_signals = w.pending_signals;
    e.last_heartbeat_unix_ms = w.last_heartbeat_unix_ms;
    e.connected_since_unix_ms = w.connected_since_unix_ms;
    out.workers.push_back(e);
  }
  for (const TraderStats& t : s.traders) {
    shm::TraderStatus e{};
    shm::set_padded(e.name, t.name);
    e.owner = t.owner;
    e.evaluations = t.evaluations;
    e.signals = t.signals;
    e.suppressed = t.suppressed;
    e.worker_signals = t.worker_signals;
    e.last_fire_unix_ms = t.last_fire_unix_ms;
    shm::set_padded(e.last_fire_symbol, t.last_fire_symbol);
    out.traders.push_back(e);
  }
  out.recent_signals = s.recent_signals;
  return out;
}

}  // namespace screener::app
