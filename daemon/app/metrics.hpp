// SPDX-License-Identifier: Apache-2.0
#pragma once

// screenerd's metrics endpoint: GET /metrics renders the latest DaemonStats (collected once a
// second on the io thread, daemon_stats.hpp) plus the sinks' counters in the Prometheus text
// format; GET /healthz answers 200 "ok" when the segment is READY and the ingest loop's heartbeat
// is fresh, else 503 with the reason. The HTTP server runs on its own thread and io_context, so a
// stuck ingest loop is reported instead of leaving scrapes unanswered.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/segment_layout.hpp"
#include "daemon/app/daemon_stats.hpp"
#include "daemon/app/prometheus.hpp"
#include "daemon/signals/sink_fanout.hpp"

namespace screener::net {
class HttpServer;
}

namespace screener::app {

/// What /metrics shows beyond DaemonStats.
struct MetricsExtras {
  std::uint64_t segment_bytes = 0;
  std::vector<signals::SinkStats> sinks;
  /// Optional latency histograms, rendered when present.
  std::optional<HistogramSnapshot> frame_to_publish_seconds;
  std::optional<HistogramSnapshot> worker_eval_seconds;
};

/// The Prometheus text for one snapshot; every name starts with screener_.
[[nodiscard]] std::string render_metrics(const DaemonStats& stats, const MetricsExtras& extras = {});

/// The health verdict: nothing when healthy, else why not.
struct HealthInputs {
  bool segment_ready = false;
  std::chrono::nanoseconds heartbeat_age{0};  ///< now - the segment's heartbeat
  std::chrono::nanoseconds max_heartbeat_age{std::chrono::seconds(5)};
};
[[nodiscard]] std::optional<std::string> health_problem(const HealthInputs& inputs);
/// The segment's state and heartbeat age, read with atomic loads (any thread).
[[nodiscard]] HealthInputs segment_health(const shm::SegmentHeader* header, std::chrono::nanoseconds max_age) noexcept;

struct MetricsServiceOptions {
  std::string listen;                                    ///< "HOST:PORT"
  std::function<HealthInputs()> health;                  ///< any thread
  std::function<MetricsExtras()> extras;                 ///< any thread
};

/// The endpoint on its own thread. publish() (any thread, typically the io thread's stats timer)
/// hands it the newest DaemonStats.
class MetricsService {
 public:
  /// Throws std::runtime_error naming the address when it cannot listen.
  explicit MetricsService(MetricsServiceOptions options);
  ~MetricsService();
  MetricsService(const MetricsService&) = delete;
  MetricsService& operator=(const MetricsService&) = delete;

  void publish(DaemonStats stats);
  void stop() noexcept;
  [[nodiscard]] std::uint16_t port() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace screener::app
