// SPDX-License-Identifier: Apache-2.0
#pragma once

// The seqlock / ring / journal fuzz shared by the process test (fork, read-only mappings) and
// the ThreadSanitizer test (threads, one mapping).
//
// Writer step v (v = 1, 2, ...) touches ring r = v % R (R = symbols x intervals), of symbol
// r / I and interval r % I, and journals exactly three records, in this order:
//   Ticker   ticker slot of the symbol   <- make_ticker(v)
//   Forming  forming bar of ring r        <- make_bar(v, kFormingStepMs)
//   Closed   closed bar appended to r     <- make_bar(r * kRingTag + v / R, kClosedStepMs)
// so every stored value names the step that wrote it, the ring it belongs to, and, for journal
// record n, the step (n - 1) / 3 + 1 and kind (n - 1) % 3. Readers check all of that on every
// read: a copy mixing two writes, a bar in the wrong ring, a window with a hole or a slot going
// back in time is counted as torn.

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "common/journal.hpp"
#include "common/kline_ring.hpp"
#include "common/segment_view.hpp"
#include "common/segment_writer.hpp"
#include "common/seqlock.hpp"
#include "tests/segment_test_support.hpp"

namespace screener::test {

inline constexpr std::int64_t kRingTag = 1'000'000'000;  // closed bar numbers of ring r start at r * kRingTag
inline constexpr std::size_t kFuzzWindow = 16;           // closed bars per window read

struct FuzzShape {
  std::uint32_t intervals;
  std::uint32_t rings;

  explicit FuzzShape(const shm::SegmentGeometry& g)
      : intervals(g.interval_count), rings(g.max_symbols * g.interval_count) {}
  [[nodiscard]] std::uint32_t ring_of(std::uint64_t v) const { return static_cast<std::uint32_t>(v % rings); }
  [[nodiscard]] std::uint32_t symbol_of(std::uint64_t v) const { return ring_of(v) / intervals; }
  [[nodiscard]] std::uint32_t interval_of(std::uint64_t v) const { return ring_of(v) % intervals; }
  /// Steps needed before every ring holds more than a window of closed bars.
  [[nodiscard]] std::uint64_t prefill_steps() const { return std::uint64_t{rings} * (kFuzzWindow + 2); }
};

inline void fuzz_write_step(shm::SegmentWriter& writer, const FuzzShape& shape, std::uint64_t v) {
  const std::uint32_t ring = shape.ring_of(v);
  const std::uint32_t symbol = shape.symbol_of(v);
  const std::uint32_t interval = shape.interval_of(v);
  const auto step = static_cast<std::int64_t>(v);
  writer.write_ticker(symbol, make_ticker(step));
  writer.write_forming(symbol, interval, make_bar(step, kFormingStepMs));
  (void)writer.upsert_closed(symbol, interval,
                             make_bar(ring * kRingTag + static_cast<std::int64_t>(v / shape.rings), kClosedStepMs));
}

/// Counters a reader reports; plain data so it can travel through a pipe.
struct FuzzCounts {
  std::uint64_t reads = 0;            ///< consistent copies checked (ticker, forming, window, poll)
  std::uint64_t torn = 0;             ///< copies that broke an invariant
  std::uint64_t busy = 0;             ///< reads that gave up after their bounded retries
  std::uint64_t bars_checked = 0;     ///< closed bars inside checked windows
  std::uint64_t journal_records = 0;  ///< journal records checked
  std::uint64_t journal_laps = 0;
  std::uint64_t progress = 0;         ///< how far the newest closed bars moved while this reader ran
  std::uint64_t first_torn_detail = 0;///< which check failed first (for the failure message)

  FuzzCounts& operator+=(const FuzzCounts& o) {
    reads += o.reads;
    torn += o.torn;
    busy += o.busy;
    bars_checked += o.bars_checked;
    journal_records += o.journal_records;
    journal_laps += o.journal_laps;
    progress += o.progress;
    if (first_torn_detail == 0) first_torn_detail = o.first_torn_detail;
    return *this;
  }
};

/// One reader's state: the newest value it has seen per slot (values never go back in time).
class FuzzReader {
 public:
  FuzzReader(const shm::SegmentView& view, const FuzzShape& shape)
      : view_(view),
        shape_(shape),
        ticker_seen_(view.max_symbols(), 0),
        forming_seen_(shape.rings, 0),
        closed_first_(shape.rings, -1),
        closed_seen_(shape.rings, -1),
        cursor_(shm::journal_cursor_at_head(view)) {}

  /// Read number i: ticker, forming bar, closed window or journal poll, rotating over slots.
  void step(std::uint64_t i) {
    const auto slot = static_cast<std::uint32_t>((i / 4) % shape_.rings);
    switch (i % 4) {
      case 0: read_ticker(slot / shape_.intervals); break;
      case 1: read_forming(slot); break;
      case 2: read_closed(slot); break;
      default: poll_journal(); break;
    }
  }

  [[nodiscard]] FuzzCounts finish() {
    for (std::uint32_t r = 0; r < shape_.rings; ++r)
      if (closed_first_[r] >= 0) counts_.progress += static_cast<std::uint64_t>(closed_seen_[r] - closed_first_[r]);
    return counts_;
  }

 private:
  void torn(std::uint64_t detail) {
    ++counts_.torn;
    if (counts_.first_torn_detail == 0) counts_.first_torn_detail = detail;
  }

  void read_ticker(std::uint32_t symbol) {
    const auto t = shm::seqlock_read(&view_.ticker_slot(symbol)->ticker);
    if (!t) {
      ++counts_.busy;
      return;
    }
    ++counts_.reads;
    const auto v = static_cast<std::int64_t>(t->last_price);
    if (!ticker_consistent(*t) || v <= 0 || shape_.symbol_of(static_cast<std::uint64_t>(v)) != symbol)
      return torn(1);
    if (v < ticker_seen_[symbol]) return torn(2);
    ticker_seen_[symbol] = v;
  }

  void read_forming(std::uint32_t ring) {
    const auto bar = shm::ring_read_forming(view_, ring);
    if (!bar) {
      ++counts_.busy;  // every ring has a forming bar once the writer's prefill is done
      return;
    }
    ++counts_.reads;
    const std::int64_t v = bar_number(*bar, kFormingStepMs);
    if (v <= 0 || shape_.ring_of(static_cast<std::uint64_t>(v)) != ring) return torn(3);
    if (v < forming_seen_[ring]) return torn(4);
    forming_seen_[ring] = v;
  }

  void read_closed(std::uint32_t ring) {
    std::array<shm::Bar, kFuzzWindow> bars{};
    const auto count = shm::ring_read_closed(view_, ring, bars);
    if (!count) {
      ++counts_.busy;
      return;
    }
    ++counts_.reads;
    if (*count != kFuzzWindow) return torn(5);  // prefilled: a full window is always stored
    std::int64_t previous = -1;
    for (std::size_t i = 0; i < *count; ++i) {
      const std::int64_t k = bar_number(bars[i], kClosedStepMs);
      if (k < 0 || k / kRingTag != ring) return torn(6);
      if (i > 0 && k != previous + 1) return torn(7);  // consecutive open times, no hole, no repeat
      previous = k;
    }
    counts_.bars_checked += *count;
    if (previous < closed_seen_[ring]) return torn(8);
    if (closed_first_[ring] < 0) closed_first_[ring] = previous;
    closed_seen_[ring] = previous;
  }

  void poll_journal() {
    bool bad = false;
    const shm::JournalPoll result = shm::journal_poll(view_, cursor_, 32, [&](const shm::JournalEntry& e) {
      ++counts_.journal_records;
      const std::uint64_t v = (e.sequence - 1) / 3 + 1;
      const std::uint64_t kind = (e.sequence - 1) % 3;
      const shm::JournalKind expected_kind = kind == 0   ? shm::JournalKind::Ticker
                                             : kind == 1 ? shm::JournalKind::Forming
                                                         : shm::JournalKind::Closed;
      const std::uint8_t expected_interval =
          kind == 0 ? shm::kNoInterval : static_cast<std::uint8_t>(shape_.interval_of(v));
      if (e.kind != expected_kind || e.symbol != shape_.symbol_of(v) || e.interval_index != expected_interval)
        bad = true;
    });
    ++counts_.reads;
    if (result == shm::JournalPoll::Lapped) ++counts_.journal_laps;
    if (bad) torn(9);
  }

  shm::SegmentView view_;
  FuzzShape shape_;
  std::vector<std::int64_t> ticker_seen_;
  std::vector<std::int64_t> forming_seen_;
  std::vector<std::int64_t> closed_first_;
  std::vector<std::int64_t> closed_seen_;
  shm::JournalCursor cursor_;
  FuzzCounts counts_;
};

}  // namespace screener::test
