// SPDX-License-Identifier: Apache-2.0
#pragma once

// The workers' evaluation-round durations as one Prometheus histogram. Each worker counts its
// rounds per bucket since it started and sends the counts in every heartbeat
// (protocol::HeartbeatBody::eval_round_buckets); this adds up what each heartbeat brings that the
// previous one of the same worker process did not, so a reconnect counts nothing twice and a
// restarted worker (a new pid, counting from zero) loses nothing already counted.
// Not thread-safe: the caller serialises add() and snapshot().

#include <array>
#include <cstdint>
#include <iterator>
#include <map>

#include "common/worker_protocol.hpp"
#include "daemon/app/prometheus.hpp"

namespace screener::app {

class EvalRoundHistogram {
 public:
  static constexpr std::size_t kBuckets = std::size(protocol::HeartbeatBody{}.eval_round_buckets);

  void add(std::uint32_t worker_index, std::uint32_t pid, const protocol::HeartbeatBody& beat) noexcept {
    Seen& seen = seen_[worker_index];
    if (seen.pid != pid || beat.eval_rounds < seen.rounds) seen = Seen{pid};
    for (std::size_t i = 0; i < kBuckets; ++i) {
      const std::uint64_t now = beat.eval_round_buckets[i];
      totals_[i] += now >= seen.buckets[i] ? now - seen.buckets[i] : now;
      seen.buckets[i] = now;
    }
    if (beat.eval_round_ns_total >= seen.ns) ns_total_ += beat.eval_round_ns_total - seen.ns;
    seen.ns = beat.eval_round_ns_total;
    seen.rounds = beat.eval_rounds;
  }

  /// Bounds in seconds, cumulative counts, count and sum, as PrometheusWriter::histogram wants.
  [[nodiscard]] HistogramSnapshot snapshot() const {
    HistogramSnapshot h;
    std::uint64_t running = 0;
    for (std::size_t i = 0; i + 1 < kBuckets; ++i) {
      running += totals_[i];
      h.bounds.push_back(static_cast<double>(protocol::kEvalRoundBoundsNs[i]) / 1e9);
      h.cumulative.push_back(running);
    }
    h.count = running + totals_[kBuckets - 1];
    h.sum = static_cast<double>(ns_total_) / 1e9;
    return h;
  }

 private:
  struct Seen {
    std::uint32_t pid = 0;
    std::uint64_t rounds = 0;
    std::uint64_t ns = 0;
    std::array<std::uint64_t, kBuckets> buckets{};
  };
  std::map<std::uint32_t, Seen> seen_;
  std::array<std::uint64_t, kBuckets> totals_{};
  std::uint64_t ns_total_ = 0;
};

}  // namespace screener::app
