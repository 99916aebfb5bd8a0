// SPDX-License-Identifier: Apache-2.0
#include "worker/series.hpp"

#include <algorithm>

#include "common/kline_ring.hpp"

namespace screener::worker {

namespace {
/// A copy that keeps being overlapped by appends is tried again on the next wake.
constexpr int kCopyAttempts = 4;
}  // namespace

Series::Series(std::uint32_t ring, Interval interval, std::size_t bar_history)
    : ring_(ring), interval_(interval), bars_(std::max<std::size_t>(bar_history, 1)) {}

void Series::set_keys(std::span<const rules::IndicatorKey> keys, std::size_t history) {
  states_.clear();
  scratch_states_.clear();
  states_.reserve(keys.size());
  for (const rules::IndicatorKey& key : keys) states_.emplace_back(key, history);
  scratch_states_ = states_;
  warmed_ = false;
}

void Series::reset() noexcept {
  warmed_ = false;
  processed_head_ = 0;
  rewrite_seen_ = 0;
  newest_open_ms_ = 0;
  held_ = 0;
  next_ = 0;
  clear_states();
}

void Series::clear_states() noexcept {
  for (IndicatorState& s : states_) s.reset();
  held_ = 0;
  next_ = 0;
}

void Series::feed(const shm::Bar& bar) noexcept {
  for (IndicatorState& s : states_) s.update(bar);
  bars_[next_] = bar;
  next_ = next_ + 1 == bars_.size() ? 0 : next_ + 1;
  held_ = std::min(held_ + 1, bars_.size());
  newest_open_ms_ = bar.open_time_ms;
}

SyncResult Series::sync(const shm::SegmentView& view, std::vector<shm::Bar>& scratch, std::vector<FreshBar>& fresh,
                        std::size_t max_fresh) {
  const auto state = shm::ring_read_state(view, ring_);
  if (!state || !state->complete()) return SyncResult::Held;
  const std::uint64_t capacity = view.ring_capacity();
  const bool rebuild = !warmed_ || state->rewrite_count != rewrite_seen_ || state->head < processed_head_ ||
                       state->head - processed_head_ > capacity;
  if (!rebuild && state->head == processed_head_) return SyncResult::Unchanged;

  const std::size_t first_fresh = fresh.size();
  auto report = [&](const shm::Bar& bar) {
    fresh.push_back(FreshBar{bar.open_time_ms, bar.open_time_ms <= state->backfilled_through_ms});
  };

  if (rebuild) {
    scratch.resize(static_cast<std::size_t>(std::min<std::uint64_t>(state->head, capacity)));
    std::uint64_t head = 0;
    const auto copied = shm::ring_read_closed(view, ring_, scratch, &head);
    if (!copied) return SyncResult::Held;
    const bool first = !warmed_;
    const std::int64_t seen_through = newest_open_ms_;
    clear_states();
    for (std::size_t i = 0; i < *copied; ++i) {
      feed(scratch[i]);
      if (!first && scratch[i].open_time_ms > seen_through) report(scratch[i]);
    }
    processed_head_ = head;
    rewrite_seen_ = state->rewrite_count;
    warmed_ = true;
    if (first) return SyncResult::Warmed;
  } else {
    // Read exactly [processed_head_, head): appends landing during the copy make it longer.
    for (int attempt = 0;; ++attempt) {
      if (attempt == kCopyAttempts) return SyncResult::Held;
      const auto latest = shm::ring_read_state(view, ring_);
      if (!latest || latest->rewrite_count != rewrite_seen_) return SyncResult::Held;
      const std::uint64_t wanted = latest->head - processed_head_;
      if (wanted > capacity) return SyncResult::Held;  // lapped meanwhile: the next sync rebuilds
      scratch.resize(static_cast<std::size_t>(wanted));
      std::uint64_t head = 0;
      const auto copied = shm::ring_read_closed(view, ring_, scratch, &head);
      if (!copied || head != latest->head) continue;
      for (std::size_t i = 0; i < *copied; ++i) {
        if (warmed_ && held_ > 0 && scratch[i].open_time_ms <= newest_open_ms_) continue;
        feed(scratch[i]);
        report(scratch[i]);
      }
      processed_head_ = head;
      break;
    }
  }
  const std::size_t reported = fresh.size() - first_fresh;
  if (reported > max_fresh) {
    skipped_ += reported - max_fresh;
    fresh.erase(fresh.begin() + static_cast<std::ptrdiff_t>(first_fresh),
                fresh.begin() + static_cast<std::ptrdiff_t>(fresh.size() - max_fresh));
  }
  return reported > 0 ? SyncResult::Advanced : SyncResult::Unchanged;
}

std::optional<std::size_t> Series::age_closed_by(std::int64_t close_ms) const noexcept {
  for (std::size_t age = 0; age < held_; ++age) {
    if (bar_close_time(interval_, bar(age)->open_time_ms) <= close_ms) return age;
  }
  return std::nullopt;
}

std::optional<std::size_t> Series::age_of(std::int64_t open_time_ms) const noexcept {
  for (std::size_t age = 0; age < held_; ++age) {
    const std::int64_t t = bar(age)->open_time_ms;
    if (t == open_time_ms) return age;
    if (t < open_time_ms) break;
  }
  return std::nullopt;
}

double Series::peek(std::uint32_t key, const shm::Bar& forming, std::uint8_t output) noexcept {
  if (key >= states_.size()) return std::nan("");
  return states_[key].peek(forming, output, scratch_states_[key]);
}

}  // namespace screener::worker
