// SPDX-License-Identifier: Apache-2.0
#pragma once

// The status region (see StatusHeader in segment_layout.hpp): screenerd writes its counters,
// connections, workers, traders and latest signals about once a second; `screenerctl status`
// copies them.
//
// Writer: seq = s+1; header words, the entries in use and the recent signals stored word by word
//         with release; generation += 1; seq = s+2 (release). Arrays longer than the region's
//         capacity are cut to it. Writing the status never wakes the workers.
// Reader: the seqlock discipline of seqlock.hpp over the whole region, with bounded retries; a
//         copy whose counts exceed the capacities is discarded like a torn one.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/segment_view.hpp"
#include "common/shm_atomic.hpp"
#include "common/trader_table.hpp"

namespace screener::shm {

/// Everything the status region holds, as plain values. `header`'s seq, generation and counts
/// are ignored by status_write (it derives the counts from the vectors) and filled in by
/// status_read.
struct StatusSnapshot {
  StatusHeader header{};
  std::vector<ConnectionStatus> connections;
  std::vector<WorkerStatus> workers;
  std::vector<TraderStatus> traders;
  std::vector<std::string> recent_signals;  ///< oldest first
};

/// Copies `text` into a NUL-padded field, cut to its size.
template <std::size_t N>
inline void set_padded(std::array<char, N>& field, std::string_view text) noexcept {
  field.fill('\0');
  std::memcpy(field.data(), text.data(), std::min(text.size(), N));
}

/// The text of a NUL-padded field.
template <std::size_t N>
[[nodiscard]] inline std::string_view padded_text(const std::array<char, N>& field) noexcept {
  return {field.data(), strnlen(field.data(), N)};
}

/// Status writes so far (0: none yet). One acquire load.
[[nodiscard]] inline std::uint64_t status_generation(const SegmentView& view) noexcept {
  return load_acquire(&view.status_header()->generation);
}

namespace status_detail {

/// The header's words from `generation` through `last_reload_error` (the reserved tail is never
/// written).
inline constexpr std::size_t kHeaderFirst = offsetof(StatusHeader, updated_unix_ms);
inline constexpr std::size_t kHeaderEnd = offsetof(StatusHeader, reserved1);

template <class T>
[[nodiscard]] inline std::uint64_t* words(T* p) noexcept {
  return reinterpret_cast<std::uint64_t*>(p);
}
template <class T>
[[nodiscard]] inline const std::uint64_t* words(const T* p) noexcept {
  return reinterpret_cast<const std::uint64_t*>(p);
}

}  // namespace status_detail

/// Writes a new status. Entries beyond the region's capacities are left out.
inline void status_write(const MutableSegmentView& view, const StatusSnapshot& snapshot) noexcept {
  namespace d = status_detail;
  namespace t = trader_table_detail;
  StatusHeader* header = view.status_header();
  StatusHeader values = snapshot.header;
  const auto connections = std::min<std::size_t>(snapshot.connections.size(), kStatusMaxConnections);
  const auto workers = std::min<std::size_t>(snapshot.workers.size(), kStatusMaxWorkers);
  const auto traders = std::min<std::size_t>(snapshot.traders.size(), view.trader_capacity());
  const auto recent = std::min<std::size_t>(snapshot.recent_signals.size(), kStatusRecentSignals);
  values.connection_count = static_cast<std::uint32_t>(connections);
  values.worker_count = static_cast<std::uint32_t>(workers);
  values.trader_count = static_cast<std::uint32_t>(traders);
  values.recent_signal_count = static_cast<std::uint32_t>(recent);
  values.reserved0 = 0;

  const std::uint64_t s = load_relaxed(&header->seq);
  store_relaxed(&header->seq, s + 1);
  t::store_bytes(d::words(header) + d::kHeaderFirst / 8, reinterpret_cast<const std::byte*>(&values) + d::kHeaderFirst,
                 d::kHeaderEnd - d::kHeaderFirst);
  t::store_bytes(d::words(view.status_connections()), snapshot.connections.data(), connections * sizeof(ConnectionStatus));
  t::store_bytes(d::words(view.status_workers()), snapshot.workers.data(), workers * sizeof(WorkerStatus));
  t::store_bytes(d::words(view.status_traders()), snapshot.traders.data(), traders * sizeof(TraderStatus));
  // The signals oldest first: the newest `recent` of them when there are more.
  const std::size_t skip = snapshot.recent_signals.size() - recent;
  for (std::size_t i = 0; i < recent; ++i) {
    RecentSignal line{};
    set_padded(line.json, snapshot.recent_signals[skip + i]);
    t::store_bytes(d::words(view.status_recent_signals() + i), &line, sizeof line);
  }
  store_release(&header->generation, load_relaxed(&header->generation) + 1);
  store_release(&header->seq, s + 2);
}

/// A consistent copy of the status; nothing when none was written yet or a write kept
/// overlapping the copy.
[[nodiscard]] inline std::optional<StatusSnapshot> status_read(const SegmentView& view) {
  namespace d = status_detail;
  namespace t = trader_table_detail;
  const StatusHeader* header = view.status_header();
  for (int attempt = 0; attempt < kSeqlockReadAttempts; ++attempt) {
    const std::uint64_t s0 = load_acquire(&header->seq);
    if ((s0 & 1U) != 0) continue;
    StatusSnapshot snapshot;
    StatusHeader& h = snapshot.header;
    h.seq = s0;
    h.generation = load_acquire(&header->generation);
    if (h.generation == 0) return std::nullopt;
    t::load_bytes(d::words(header) + d::kHeaderFirst / 8, reinterpret_cast<std::byte*>(&h) + d::kHeaderFirst,
                  d::kHeaderEnd - d::kHeaderFirst);
    // Counts read mid-write may be garbage: bound them before using them, and let the sequence
    // check below throw the copy away.
    const bool sane = h.connection_count <= kStatusMaxConnections && h.worker_count <= kStatusMaxWorkers &&
                      h.trader_count <= view.trader_capacity() && h.recent_signal_count <= kStatusRecentSignals;
    if (sane) {
      snapshot.connections.resize(h.connection_count);
      t::load_bytes(d::words(view.status_connections()), snapshot.connections.data(),
                    h.connection_count * sizeof(ConnectionStatus));
      snapshot.workers.resize(h.worker_count);
      t::load_bytes(d::words(view.status_workers()), snapshot.workers.data(), h.worker_count * sizeof(WorkerStatus));
      snapshot.traders.resize(h.trader_count);
      t::load_bytes(d::words(view.status_traders()), snapshot.traders.data(), h.trader_count * sizeof(TraderStatus));
      for (std::uint32_t i = 0; i < h.recent_signal_count; ++i) {
        RecentSignal line;
        t::load_bytes(d::words(view.status_recent_signals() + i), &line, sizeof line);
        snapshot.recent_signals.emplace_back(padded_text(line.json));
      }
    }
    if (load_relaxed(&header->seq) != s0 || !sane) continue;
    return snapshot;
  }
  return std::nullopt;
}

}  // namespace screener::shm
