// SPDX-License-Identifier: Apache-2.0
#pragma once

// One (symbol, interval) ring as a worker sees it: the incremental indicator states of every key
// its traders use on that interval, kept in step with the ring's closed bars, and the last few
// bars themselves so that `close[3]` and timeframe alignment need no segment reads.
//
// sync() follows the ring:
//  - while the ring is not complete (history still being backfilled, or a gap being filled) the
//    states hold still: indicators over a history with holes would be wrong;
//  - the first time the ring is complete the states are warmed from its whole history, and no bar
//    is reported fresh (history is not re-alerted);
//  - new bars appended since are fed one by one, O(1) each, and reported fresh;
//  - if the ring's history was rewritten (a gap filled, a bar corrected) or the worker fell more
//    than a ring behind, the states are rebuilt from the ring, and the bars newer than the last
//    one seen are reported fresh.
// A fresh bar is late when the daemon stored it from a backfill rather than the live stream.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/interval.hpp"
#include "common/rules/rules.hpp"
#include "common/segment_view.hpp"
#include "worker/indicator_state.hpp"

namespace screener::worker {

struct FreshBar {
  std::int64_t open_time_ms = 0;
  bool late = false;
};

enum class SyncResult : std::uint8_t {
  Unchanged,  ///< nothing new
  Held,       ///< the ring is incomplete or kept changing under the copy: try again later
  Warmed,     ///< states built from the history for the first time; nothing to evaluate
  Advanced,   ///< fresh bars were appended to the output
};

class Series {
 public:
  /// `bar_history`: closed bars kept locally (>= 1).
  Series(std::uint32_t ring, Interval interval, std::size_t bar_history);

  /// Replaces the indicator states by one per key (keys of this interval, forming flag cleared),
  /// each keeping `history` values; the next sync() warms them from the ring.
  void set_keys(std::span<const rules::IndicatorKey> keys, std::size_t history);

  /// Follows the ring (see the file comment). Fresh bars are appended to `fresh`, oldest first;
  /// at most `max_fresh` of them (the newest), older ones are counted in skipped().
  SyncResult sync(const shm::SegmentView& view, std::vector<shm::Bar>& scratch, std::vector<FreshBar>& fresh,
                  std::size_t max_fresh);

  /// Drops every state: the next sync() is a first warm-up again (a new segment).
  void reset() noexcept;

  [[nodiscard]] Interval interval() const noexcept { return interval_; }
  [[nodiscard]] std::uint32_t ring() const noexcept { return ring_; }
  [[nodiscard]] bool warmed() const noexcept { return warmed_; }
  [[nodiscard]] std::size_t bars_held() const noexcept { return held_; }
  /// Newest bar fed to the states; 0 before the first warm-up.
  [[nodiscard]] std::int64_t newest_open_time() const noexcept { return newest_open_ms_; }
  [[nodiscard]] std::uint64_t skipped() const noexcept { return skipped_; }

  /// The closed bar `age` bars before the newest (0: the newest); null when not held.
  [[nodiscard]] const shm::Bar* bar(std::size_t age) const noexcept {
    if (age >= held_) return nullptr;
    const std::size_t n = bars_.size();
    return &bars_[(next_ + n - 1 - age) % n];
  }
  /// Age of the newest bar whose close time is <= close_ms (timeframe alignment by close time).
  [[nodiscard]] std::optional<std::size_t> age_closed_by(std::int64_t close_ms) const noexcept;
  /// Age of the bar with this open time.
  [[nodiscard]] std::optional<std::size_t> age_of(std::int64_t open_time_ms) const noexcept;

  [[nodiscard]] double value(std::uint32_t key, std::uint8_t output, std::size_t age) const noexcept {
    return key < states_.size() ? states_[key].value(output, age) : std::nan("");
  }
  /// The value after one more bar (the forming one), states unchanged.
  [[nodiscard]] double peek(std::uint32_t key, const shm::Bar& forming, std::uint8_t output) noexcept;

 private:
  void feed(const shm::Bar& bar) noexcept;
  void clear_states() noexcept;

  std::uint32_t ring_;
  Interval interval_;
  std::vector<IndicatorState> states_;
  std::vector<IndicatorState> scratch_states_;  ///< peek()'s copies, one per key, reused
  std::vector<shm::Bar> bars_;                  ///< local ring of the newest closed bars
  std::size_t next_ = 0;
  std::size_t held_ = 0;
  bool warmed_ = false;
  std::uint64_t processed_head_ = 0;
  std::uint64_t rewrite_seen_ = 0;
  std::int64_t newest_open_ms_ = 0;
  std::uint64_t skipped_ = 0;
};

}  // namespace screener::worker
