// SPDX-License-Identifier: Apache-2.0
#pragma once

// The update journal: a ring of (symbol, interval, kind, sequence) records that tells a worker
// what changed since it last looked, so it visits only that. The writer appends and never waits;
// a reader that falls more than a journal's length behind is told it was lapped and rescans the
// per-ring sequences instead.
//
// Each record is its own tiny seqlock: the writer zeroes `sequence`, stores `packed` (release),
// then stores the record's 1-based journal sequence (release). A reader accepts a record only if
// it reads the sequence it expects both before and after the payload.

#include <cstdint>

#include "common/segment_view.hpp"
#include "common/shm_atomic.hpp"

namespace screener::shm {

struct JournalEntry {
  std::uint64_t sequence;        ///< 1-based position in the journal since the segment was created
  std::uint32_t symbol;
  std::uint8_t interval_index;   ///< kNoInterval for ticker and symbol records
  JournalKind kind;
};

inline void journal_append(const MutableSegmentView& view, std::uint32_t symbol, std::uint8_t interval_index,
                           JournalKind kind) noexcept {
  SegmentHeader* header = view.header();
  const std::uint64_t head = load_relaxed(&header->journal_head);
  JournalRecord* record = view.journal_records() + (head & (view.journal_capacity() - 1));
  store_relaxed(&record->sequence, std::uint64_t{0});
  store_release(&record->packed, pack_journal(symbol, interval_index, kind));
  store_release(&record->sequence, head + 1);
  store_release(&header->journal_head, head + 1);
}

/// Where one reader is in the journal. Starts at the head at attach time.
struct JournalCursor {
  std::uint64_t next = 0;        ///< 0-based index of the next record to read
  std::uint64_t lapped = 0;      ///< times this reader fell a whole journal behind
};

[[nodiscard]] inline JournalCursor journal_cursor_at_head(const SegmentView& view) noexcept {
  return JournalCursor{load_acquire(&view.header()->journal_head), 0};
}

enum class JournalPoll {
  UpToDate,   ///< every record up to the head was delivered
  More,       ///< `max_records` were delivered; more are waiting
  Lapped,     ///< records were overwritten before they were read: the cursor jumped to the head,
              ///< and the caller must rescan the rings for what changed
};

/// Delivers records past the cursor to `on_entry(const JournalEntry&)`, at most `max_records`.
template <class OnEntry>
[[nodiscard]] JournalPoll journal_poll(const SegmentView& view, JournalCursor& cursor, std::uint64_t max_records,
                                       OnEntry&& on_entry) noexcept(noexcept(on_entry(JournalEntry{}))) {
  const std::uint64_t capacity = view.journal_capacity();
  const JournalRecord* records = view.journal_records();
  const std::uint64_t head = load_acquire(&view.header()->journal_head);
  auto jump_to_head = [&] {
    cursor.next = load_acquire(&view.header()->journal_head);
    ++cursor.lapped;
    return JournalPoll::Lapped;
  };
  if (head - cursor.next > capacity) return jump_to_head();

  std::uint64_t delivered = 0;
  for (; cursor.next < head; ++cursor.next) {
    if (delivered == max_records) return JournalPoll::More;
    const JournalRecord* record = records + (cursor.next & (capacity - 1));
    const std::uint64_t expected = cursor.next + 1;
    const std::uint64_t s0 = load_acquire(&record->sequence);
    const std::uint64_t packed = load_acquire(&record->packed);
    const std::uint64_t s1 = load_relaxed(&record->sequence);
    if (s0 != expected || s1 != expected) return jump_to_head();
    on_entry(JournalEntry{expected, static_cast<std::uint32_t>(packed & 0xFFFF'FFFFU),
                          static_cast<std::uint8_t>((packed >> 32) & 0xFFU),
                          static_cast<JournalKind>((packed >> 40) & 0xFFU)});
    ++delivered;
  }
  return JournalPoll::UpToDate;
}

}  // namespace screener::shm
