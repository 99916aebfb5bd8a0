// SPDX-License-Identifier: Apache-2.0
#pragma once

// Kline ring of one (symbol, interval): closed bars stored column by column, oldest overwritten,
// plus the forming bar kept apart under its own seqlock.
//
// Closed history is guarded by RingControl::closed_seq, a seqlock over the head and every column
// slot. A reader copies any window of columns between two reads of it and knows the copy is
// consistent. The writer never waits for readers: a reader that overlaps a write retries, with a
// bound. Closed bars change at most once per interval per ring, so retries are rare.
//
// Bars are ordered by open time. Bar k (0-based, since the ring was created) lives in slot
// k % capacity, and the stored window is [head - stored, head) with stored = min(head, capacity).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/seqlock.hpp"
#include "common/segment_view.hpp"
#include "common/shm_atomic.hpp"

namespace screener::shm {

/// A consistent reading of a ring's control words.
struct RingState {
  std::uint64_t closed_seq;
  std::uint64_t head;
  std::uint64_t rewrite_count;
  std::uint32_t flags;
  std::int64_t backfilled_through_ms;  ///< bars up to this open time came from a backfill
  std::uint64_t stored;            ///< closed bars currently held: min(head, capacity)

  [[nodiscard]] bool complete() const noexcept { return (flags & kRingComplete) != 0; }
};

enum class UpsertResult {
  Appended,    ///< newer than every stored bar
  Replaced,    ///< same open time as a stored bar whose values differed: overwritten in place
  Unchanged,   ///< same open time and identical values: nothing written
  Inserted,    ///< filled a gap between stored bars
  TooOld,      ///< older than the oldest stored bar of a full ring: dropped
};

namespace ring_detail {

inline constexpr Column kDoubleColumns[] = {Column::Open,   Column::High,         Column::Low,
                                            Column::Close,  Column::Volume,       Column::QuoteVolume,
                                            Column::TakerBuyBaseVolume, Column::TakerBuyQuoteVolume};

template <class View>
inline void store_slot(const View& view, std::uint32_t ring, std::uint64_t slot, const Bar& bar) noexcept {
  store_release(view.template column<std::int64_t>(ring, Column::OpenTime) + slot, bar.open_time_ms);
  store_release(view.template column<double>(ring, Column::Open) + slot, bar.open);
  store_release(view.template column<double>(ring, Column::High) + slot, bar.high);
  store_release(view.template column<double>(ring, Column::Low) + slot, bar.low);
  store_release(view.template column<double>(ring, Column::Close) + slot, bar.close);
  store_release(view.template column<double>(ring, Column::Volume) + slot, bar.volume);
  store_release(view.template column<double>(ring, Column::QuoteVolume) + slot, bar.quote_volume);
  store_release(view.template column<std::int64_t>(ring, Column::Trades) + slot, bar.trades);
  store_release(view.template column<double>(ring, Column::TakerBuyBaseVolume) + slot, bar.taker_buy_base_volume);
  store_release(view.template column<double>(ring, Column::TakerBuyQuoteVolume) + slot, bar.taker_buy_quote_volume);
}

template <class View>
[[nodiscard]] inline Bar load_slot(const View& view, std::uint32_t ring, std::uint64_t slot) noexcept {
  Bar bar;
  bar.open_time_ms = load_acquire(view.template column<std::int64_t>(ring, Column::OpenTime) + slot);
  bar.open = load_acquire(view.template column<double>(ring, Column::Open) + slot);
  bar.high = load_acquire(view.template column<double>(ring, Column::High) + slot);
  bar.low = load_acquire(view.template column<double>(ring, Column::Low) + slot);
  bar.close = load_acquire(view.template column<double>(ring, Column::Close) + slot);
  bar.volume = load_acquire(view.template column<double>(ring, Column::Volume) + slot);
  bar.quote_volume = load_acquire(view.template column<double>(ring, Column::QuoteVolume) + slot);
  bar.trades = load_acquire(view.template column<std::int64_t>(ring, Column::Trades) + slot);
  bar.taker_buy_base_volume = load_acquire(view.template column<double>(ring, Column::TakerBuyBaseVolume) + slot);
  bar.taker_buy_quote_volume = load_acquire(view.template column<double>(ring, Column::TakerBuyQuoteVolume) + slot);
  return bar;
}

[[nodiscard]] inline bool same_values(const Bar& a, const Bar& b) noexcept {
  // Bitwise: a corrected bar must be stored even if only a sign of zero or a NaN payload differs.
  return std::bit_cast<std::array<std::uint64_t, 10>>(a) == std::bit_cast<std::array<std::uint64_t, 10>>(b);
}

}  // namespace ring_detail

// ----------------------------------------------------------------------------------- writer side

/// Opens a closed-history write: readers that overlap it will retry.
inline std::uint64_t ring_begin_write(RingControl* control) noexcept {
  const std::uint64_t s = load_relaxed(&control->closed_seq);
  store_relaxed(&control->closed_seq, s + 1);
  return s;
}

inline void ring_end_write(RingControl* control, std::uint64_t begun_at) noexcept {
  store_release(&control->closed_seq, begun_at + 2);
}

inline void ring_write_forming(const MutableSegmentView& view, std::uint32_t ring, const Bar& bar) noexcept {
  seqlock_write(&view.ring_control(ring)->forming, bar);
}

inline void ring_set_complete(const MutableSegmentView& view, std::uint32_t ring, bool complete) noexcept {
  RingControl* control = view.ring_control(ring);
  const std::uint32_t flags = load_relaxed(&control->flags);
  store_release(&control->flags, complete ? (flags | kRingComplete) : (flags & ~kRingComplete));
}

/// Records that the bar with this open time comes from a backfill, before it is stored: a reader
/// that sees the bar (acquire on the head) then also sees the mark.
inline void ring_mark_backfilled(const MutableSegmentView& view, std::uint32_t ring, std::int64_t open_time_ms) noexcept {
  RingControl* control = view.ring_control(ring);
  if (load_relaxed(&control->backfilled_through_ms) < open_time_ms)
    store_release(&control->backfilled_through_ms, open_time_ms);
}
/// Stores a closed bar by its open time: appends, overwrites the bar with the same open time, or
/// inserts it into a gap. Idempotent: storing the same bar twice leaves the ring unchanged.
inline UpsertResult ring_upsert_closed(const MutableSegmentView& view, std::uint32_t ring, const Bar& bar) noexcept {
  RingControl* control = view.ring_control(ring);
  const std::uint64_t capacity = view.ring_capacity();
  const std::uint64_t head = load_relaxed(&control->head);
  const std::uint64_t stored = std::min<std::uint64_t>(head, capacity);
  const std::int64_t* open_times = view.column<std::int64_t>(ring, Column::OpenTime);
  auto open_time_at = [&](std::uint64_t k) { return load_relaxed(open_times + k % capacity); };

  if (stored == 0 || open_time_at(head - 1) < bar.open_time_ms) {
    const std::uint64_t s = ring_begin_write(control);
    ring_detail::store_slot(view, ring, head % capacity, bar);
    store_release(&control->head, head + 1);
    ring_end_write(control, s);
    return UpsertResult::Appended;
  }

  // First stored index whose open time is >= the bar's (binary search over [head - stored, head)).
  std::uint64_t lo = head - stored;
  std::uint64_t hi = head;
  while (lo < hi) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    if (open_time_at(mid) < bar.open_time_ms) lo = mid + 1; else hi = mid;
  }
  const std::uint64_t position = lo;

  if (open_time_at(position) == bar.open_time_ms) {
    if (ring_detail::same_values(ring_detail::load_slot(view, ring, position % capacity), bar))
      return UpsertResult::Unchanged;
    const std::uint64_t s = ring_begin_write(control);
    ring_detail::store_slot(view, ring, position % capacity, bar);
    store_release(&control->rewrite_count, load_relaxed(&control->rewrite_count) + 1);
    ring_end_write(control, s);
    return UpsertResult::Replaced;
  }

  if (position == head - stored && stored == capacity) return UpsertResult::TooOld;

  // Shift [position, head) one slot newer, newest first; when full, the oldest bar falls out.
  const std::uint64_t s = ring_begin_write(control);
  for (std::uint64_t k = head; k > position; --k)
    ring_detail::store_slot(view, ring, k % capacity, ring_detail::load_slot(view, ring, (k - 1) % capacity));
  ring_detail::store_slot(view, ring, position % capacity, bar);
  store_release(&control->head, head + 1);
  store_release(&control->rewrite_count, load_relaxed(&control->rewrite_count) + 1);
  ring_end_write(control, s);
  return UpsertResult::Inserted;
}

// ----------------------------------------------------------------------------------- reader side

/// The ring's control words, consistent with each other; nothing if a write kept overlapping.
[[nodiscard]] inline std::optional<RingState> ring_read_state(const SegmentView& view, std::uint32_t ring) noexcept {
  const RingControl* control = view.ring_control(ring);
  for (int attempt = 0; attempt < kSeqlockReadAttempts; ++attempt) {
    RingState state{};
    state.closed_seq = load_acquire(&control->closed_seq);
    state.head = load_acquire(&control->head);
    state.rewrite_count = load_acquire(&control->rewrite_count);
    state.flags = load_acquire(&control->flags);
    state.backfilled_through_ms = load_acquire(&control->backfilled_through_ms);
    if ((state.closed_seq & 1U) != 0 || load_relaxed(&control->closed_seq) != state.closed_seq) continue;
    state.stored = std::min<std::uint64_t>(state.head, view.ring_capacity());
    return state;
  }
  return std::nullopt;
}

/// Copies the newest `out.size()` closed bars (fewer if fewer are stored), oldest first, into
/// `out`. Returns how many were copied; nothing if a write kept overlapping the copy.
/// `head_out`, when given, receives the head the copy is consistent with: the copied bars are
/// [head - count, head).
[[nodiscard]] inline std::optional<std::size_t> ring_read_closed(const SegmentView& view, std::uint32_t ring,
                                                                 std::span<Bar> out,
                                                                 std::uint64_t* head_out = nullptr) noexcept {
  const RingControl* control = view.ring_control(ring);
  const std::uint64_t capacity = view.ring_capacity();
  for (int attempt = 0; attempt < kSeqlockReadAttempts; ++attempt) {
    const std::uint64_t s0 = load_acquire(&control->closed_seq);
    if ((s0 & 1U) != 0) continue;
    const std::uint64_t head = load_acquire(&control->head);
    const std::uint64_t count = std::min<std::uint64_t>({head, capacity, out.size()});
    // One division per copy, not per bar: the slot index wraps with a compare.
    for (std::uint64_t i = 0, slot = (head - count) % capacity; i < count; ++i, slot = slot + 1 == capacity ? 0 : slot + 1)
      out[i] = ring_detail::load_slot(view, ring, slot);
    if (load_relaxed(&control->closed_seq) == s0) {
      if (head_out != nullptr) *head_out = head;
      return static_cast<std::size_t>(count);
    }
  }
  return std::nullopt;
}

/// Copies the newest `out.size()` values of one double column, oldest first: the contiguous scan
/// an indicator warms up from. Returns how many were copied; nothing if writes kept overlapping.
[[nodiscard]] inline std::optional<std::size_t> ring_read_column(const SegmentView& view, std::uint32_t ring,
                                                                 Column column, std::span<double> out) noexcept {
  const RingControl* control = view.ring_control(ring);
  const std::uint64_t capacity = view.ring_capacity();
  const double* values = view.column<double>(ring, column);
  for (int attempt = 0; attempt < kSeqlockReadAttempts; ++attempt) {
    const std::uint64_t s0 = load_acquire(&control->closed_seq);
    if ((s0 & 1U) != 0) continue;
    const std::uint64_t head = load_acquire(&control->head);
    const std::uint64_t count = std::min<std::uint64_t>({head, capacity, out.size()});
    // One division per copy, not per value: the slot index wraps with a compare.
    for (std::uint64_t i = 0, slot = (head - count) % capacity; i < count; ++i, slot = slot + 1 == capacity ? 0 : slot + 1)
      out[i] = load_acquire(values + slot);
    if (load_relaxed(&control->closed_seq) == s0) return static_cast<std::size_t>(count);
  }
  return std::nullopt;
}

/// The forming bar, if there is one; nothing also when the slot stayed busy.
[[nodiscard]] inline std::optional<Bar> ring_read_forming(const SegmentView& view, std::uint32_t ring) noexcept {
  auto bar = seqlock_read(&view.ring_control(ring)->forming);
  if (!bar || bar->open_time_ms == 0) return std::nullopt;
  return bar;
}

}  // namespace screener::shm
