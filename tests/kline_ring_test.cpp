// SPDX-License-Identifier: Apache-2.0
// Kline rings, the journal records they produce and publish(), on a real segment created by the
// writer and read through a read-only SegmentReader in the same process.
#include <catch2/catch.hpp>

#include <optional>
#include <vector>

#include "common/journal.hpp"
#include "common/kline_ring.hpp"
#include "common/segment_reader.hpp"
#include "common/segment_writer.hpp"
#include "tests/segment_test_support.hpp"

using namespace screener;
using namespace screener::shm;
using namespace screener::test;

namespace {

constexpr std::uint32_t kCapacity = 8;

/// A writer on a 4-symbol, 2-interval, 8-bar, 256-record segment, and a reader attached to it.
struct RingFixture {
  ScopedSegmentName name;
  std::optional<SegmentWriter> writer;
  std::optional<SegmentReader> reader;

  RingFixture() {
    auto created = SegmentWriter::create(WriterOptions{name.str(), small_geometry(4, kCapacity, 256), ""});
    INFO((created ? std::string() : created.error().message));
    REQUIRE(created);
    writer.emplace(std::move(*created));
    auto attached = SegmentReader::open(ReaderOptions{name.str(), std::chrono::milliseconds(60'000)});
    INFO((attached ? std::string() : attached.error().message));
    REQUIRE(attached);
    reader.emplace(std::move(*attached));
  }

  [[nodiscard]] SegmentWriter& w() { return *writer; }
  [[nodiscard]] const SegmentView& view() const { return reader->view(); }
  [[nodiscard]] std::uint32_t ring(std::uint32_t symbol, std::uint32_t interval) const {
    return view().ring_index(symbol, interval);
  }
  [[nodiscard]] RingState state(std::uint32_t ring) const {
    const auto s = ring_read_state(view(), ring);
    REQUIRE(s);
    return *s;
  }
  /// Bar numbers of the newest `n` closed bars, oldest first; -1 marks a bar that is not one of
  /// make_bar's.
  [[nodiscard]] std::vector<std::int64_t> closed(std::uint32_t ring, std::size_t n) const {
    std::vector<Bar> bars(n);
    const auto count = ring_read_closed(view(), ring, bars);
    REQUIRE(count);
    std::vector<std::int64_t> numbers;
    for (std::size_t i = 0; i < *count; ++i) numbers.push_back(bar_number(bars[i], kClosedStepMs));
    return numbers;
  }
  [[nodiscard]] std::vector<JournalEntry> drain(JournalCursor& cursor) const {
    std::vector<JournalEntry> entries;
    const JournalPoll poll =
        journal_poll(view(), cursor, 10'000, [&](const JournalEntry& e) { entries.push_back(e); });
    CHECK(poll == JournalPoll::UpToDate);
    return entries;
  }
};

std::vector<std::int64_t> range(std::int64_t first, std::int64_t last_inclusive) {
  std::vector<std::int64_t> v;
  for (std::int64_t k = first; k <= last_inclusive; ++k) v.push_back(k);
  return v;
}

}  // namespace

TEST_CASE("ClosedBarsAreReadOldestFirstInAppendOrder", "[segment][ring]") {
  RingFixture f;
  const std::uint32_t ring = f.ring(1, 0);
  for (std::int64_t k = 0; k < 5; ++k) CHECK(f.w().upsert_closed(1, 0, make_bar(k, kClosedStepMs)) == UpsertResult::Appended);

  const RingState s = f.state(ring);
  CHECK(s.head == 5);
  CHECK(s.stored == 5);
  CHECK(s.rewrite_count == 0);
  CHECK(f.closed(ring, kCapacity) == range(0, 4));
  CHECK(f.closed(ring, 3) == range(2, 4));  // the newest three, still oldest first
  // Other rings of the same symbol and of other symbols are untouched.
  CHECK(f.state(f.ring(1, 1)).head == 0);
  CHECK(f.state(f.ring(0, 0)).head == 0);
  CHECK(f.closed(f.ring(2, 0), kCapacity).empty());
}

TEST_CASE("RingWrapsAndKeepsTheNewestCapacityBars", "[segment][ring]") {
  RingFixture f;
  const std::uint32_t ring = f.ring(3, 1);
  for (std::int64_t k = 0; k < 20; ++k) REQUIRE(f.w().upsert_closed(3, 1, make_bar(k, kClosedStepMs)) == UpsertResult::Appended);

  const RingState s = f.state(ring);
  CHECK(s.head == 20);
  CHECK(s.stored == kCapacity);
  CHECK(f.closed(ring, kCapacity) == range(12, 19));
  CHECK(f.closed(ring, 2 * kCapacity) == range(12, 19));  // never more than capacity
  CHECK(f.closed(ring, 1) == range(19, 19));
}

TEST_CASE("UpsertOfAnIdenticalBarIsUnchangedAndDoesNotMoveHead", "[segment][ring]") {
  RingFixture f;
  const std::uint32_t ring = f.ring(0, 0);
  for (std::int64_t k = 0; k < 3; ++k) REQUIRE(f.w().upsert_closed(0, 0, make_bar(k, kClosedStepMs)) == UpsertResult::Appended);
  (void)f.w().publish();
  const RingState before = f.state(ring);
  JournalCursor cursor = journal_cursor_at_head(f.view());

  CHECK(f.w().upsert_closed(0, 0, make_bar(1, kClosedStepMs)) == UpsertResult::Unchanged);
  CHECK(f.w().upsert_closed(0, 0, make_bar(2, kClosedStepMs)) == UpsertResult::Unchanged);  // the newest too

  const RingState after = f.state(ring);
  CHECK(after.head == before.head);
  CHECK(after.closed_seq == before.closed_seq);  // no write was even opened
  CHECK(after.rewrite_count == 0);
  CHECK(f.closed(ring, kCapacity) == range(0, 2));
  CHECK(f.drain(cursor).empty());  // nothing journaled
  CHECK_FALSE(f.w().publish());    // so nothing to publish
}

TEST_CASE("CorrectedBarWithTheSameOpenTimeIsReplacedAndCountsARewrite", "[segment][ring]") {
  RingFixture f;
  const std::uint32_t ring = f.ring(2, 1);
  for (std::int64_t k = 0; k < 3; ++k) REQUIRE(f.w().upsert_closed(2, 1, make_bar(k, kClosedStepMs)) == UpsertResult::Appended);

  Bar corrected = make_bar(1, kClosedStepMs);
  corrected.close = 1234.5;
  corrected.volume = 99.0;
  CHECK(f.w().upsert_closed(2, 1, corrected) == UpsertResult::Replaced);
  RingState s = f.state(ring);
  CHECK(s.head == 3);
  CHECK(s.rewrite_count == 1);

  std::vector<Bar> bars(kCapacity);
  const auto count = ring_read_closed(f.view(), ring, bars);
  REQUIRE(count == 3U);
  CHECK(bar_number(bars[0], kClosedStepMs) == 0);
  CHECK(bars[1].open_time_ms == corrected.open_time_ms);
  CHECK(bars[1].close == 1234.5);
  CHECK(bars[1].volume == 99.0);
  CHECK(bar_number(bars[2], kClosedStepMs) == 2);

  // Values are compared bit for bit: a change of only the sign of zero is still a correction.
  Bar signed_zero = make_bar(2, kClosedStepMs);
  signed_zero.quote_volume = 0.0;
  REQUIRE(f.w().upsert_closed(2, 1, signed_zero) == UpsertResult::Replaced);
  signed_zero.quote_volume = -0.0;
  CHECK(f.w().upsert_closed(2, 1, signed_zero) == UpsertResult::Replaced);
  s = f.state(ring);
  CHECK(s.rewrite_count == 3);
  CHECK(s.head == 3);
}

TEST_CASE("BarFillingAGapIsInsertedInOpenTimeOrder", "[segment][ring]") {
  RingFixture f;

  SECTION("into a ring with room") {
    const std::uint32_t ring = f.ring(1, 1);
    for (const std::int64_t k : {0, 1, 3, 4})
      REQUIRE(f.w().upsert_closed(1, 1, make_bar(k, kClosedStepMs)) == UpsertResult::Appended);
    CHECK(f.w().upsert_closed(1, 1, make_bar(2, kClosedStepMs)) == UpsertResult::Inserted);
    const RingState s = f.state(ring);
    CHECK(s.head == 5);
    CHECK(s.rewrite_count == 1);
    CHECK(f.closed(ring, kCapacity) == range(0, 4));
  }
  SECTION("before the oldest bar of a ring with room") {
    const std::uint32_t ring = f.ring(1, 1);
    for (const std::int64_t k : {5, 6}) REQUIRE(f.w().upsert_closed(1, 1, make_bar(k, kClosedStepMs)) == UpsertResult::Appended);
    CHECK(f.w().upsert_closed(1, 1, make_bar(3, kClosedStepMs)) == UpsertResult::Inserted);
    CHECK(f.closed(ring, kCapacity) == std::vector<std::int64_t>{3, 5, 6});
  }
  SECTION("into a full, wrapped ring: the oldest bar falls out") {
    const std::uint32_t ring = f.ring(0, 1);
    // Bars 0..13 without 9 through an 8-slot ring: it holds 5..8 and 10..13.
    for (std::int64_t k = 0; k <= 13; ++k)
      if (k != 9) REQUIRE(f.w().upsert_closed(0, 1, make_bar(k, kClosedStepMs)) == UpsertResult::Appended);
    REQUIRE(f.closed(ring, kCapacity) == std::vector<std::int64_t>{5, 6, 7, 8, 10, 11, 12, 13});
    CHECK(f.w().upsert_closed(0, 1, make_bar(9, kClosedStepMs)) == UpsertResult::Inserted);
    CHECK(f.closed(ring, kCapacity) == range(6, 13));
    CHECK(f.state(ring).head == 14);
  }
}

TEST_CASE("BarOlderThanTheOldestOfAFullRingIsTooOldAndChangesNothing", "[segment][ring]") {
  RingFixture f;
  const std::uint32_t ring = f.ring(3, 0);
  for (std::int64_t k = 10; k < 18; ++k) REQUIRE(f.w().upsert_closed(3, 0, make_bar(k, kClosedStepMs)) == UpsertResult::Appended);
  (void)f.w().publish();
  const RingState before = f.state(ring);
  JournalCursor cursor = journal_cursor_at_head(f.view());

  CHECK(f.w().upsert_closed(3, 0, make_bar(3, kClosedStepMs)) == UpsertResult::TooOld);
  CHECK(f.w().upsert_closed(3, 0, make_bar(9, kClosedStepMs)) == UpsertResult::TooOld);

  const RingState after = f.state(ring);
  CHECK(after.head == before.head);
  CHECK(after.closed_seq == before.closed_seq);
  CHECK(after.rewrite_count == before.rewrite_count);
  CHECK(f.closed(ring, kCapacity) == range(10, 17));
  CHECK(f.drain(cursor).empty());
  CHECK_FALSE(f.w().publish());
}

TEST_CASE("ReadColumnReturnsClosesOldestFirst", "[segment][ring]") {
  RingFixture f;
  const std::uint32_t ring = f.ring(2, 0);
  for (std::int64_t k = 0; k < 11; ++k) REQUIRE(f.w().upsert_closed(2, 0, make_bar(k, kClosedStepMs)) == UpsertResult::Appended);

  std::vector<double> closes(kCapacity);
  auto count = ring_read_column(f.view(), ring, Column::Close, closes);
  REQUIRE(count == kCapacity);
  for (std::size_t i = 0; i < kCapacity; ++i) CHECK(closes[i] == static_cast<double>(3 + i) + 3.0);  // bars 3..10

  std::vector<double> last_four(4);
  count = ring_read_column(f.view(), ring, Column::Volume, last_four);
  REQUIRE(count == 4U);
  CHECK(last_four == std::vector<double>{7 + 4, 8 + 4, 9 + 4, 10 + 4});

  std::vector<double> empty_ring(4);
  CHECK(ring_read_column(f.view(), f.ring(2, 1), Column::Close, empty_ring) == 0U);
}

TEST_CASE("FormingBarIsKeptApartFromClosedBars", "[segment][ring]") {
  RingFixture f;
  const std::uint32_t ring = f.ring(1, 0);
  CHECK_FALSE(ring_read_forming(f.view(), ring));  // open_time 0: no forming bar yet

  f.w().write_forming(1, 0, make_bar(100, kClosedStepMs));
  auto forming = ring_read_forming(f.view(), ring);
  REQUIRE(forming);
  CHECK(bar_number(*forming, kClosedStepMs) == 100);
  CHECK(f.state(ring).head == 0);
  CHECK(f.closed(ring, kCapacity).empty());
  CHECK_FALSE(ring_read_forming(f.view(), f.ring(1, 1)));
  CHECK_FALSE(ring_read_forming(f.view(), f.ring(0, 0)));

  // Closing bars does not touch the forming slot, and rewriting the forming bar no closed bar.
  REQUIRE(f.w().upsert_closed(1, 0, make_bar(99, kClosedStepMs)) == UpsertResult::Appended);
  f.w().write_forming(1, 0, make_bar(101, kClosedStepMs));
  forming = ring_read_forming(f.view(), ring);
  REQUIRE(forming);
  CHECK(bar_number(*forming, kClosedStepMs) == 101);
  CHECK(f.closed(ring, kCapacity) == std::vector<std::int64_t>{99});
}

TEST_CASE("RingCompleteFlagRoundTrips", "[segment][ring]") {
  RingFixture f;
  const std::uint32_t ring = f.ring(2, 1);
  CHECK_FALSE(f.state(ring).complete());
  f.w().set_ring_complete(2, 1, true);
  CHECK(f.state(ring).complete());
  CHECK_FALSE(f.state(f.ring(2, 0)).complete());
  CHECK_FALSE(f.state(f.ring(3, 1)).complete());
  f.w().set_ring_complete(2, 1, true);  // idempotent
  CHECK(f.state(ring).complete());
  f.w().set_ring_complete(2, 1, false);
  CHECK_FALSE(f.state(ring).complete());
}

TEST_CASE("RingReadsGiveUpWhileAClosedWriteIsLeftOpen", "[segment][ring]") {
  // What a reader sees after a writer died between ring_begin_write and ring_end_write.
  RingFixture f;
  const std::uint32_t ring = f.ring(0, 0);
  for (std::int64_t k = 0; k < 3; ++k) REQUIRE(f.w().upsert_closed(0, 0, make_bar(k, kClosedStepMs)) == UpsertResult::Appended);

  RingControl* control = f.w().view().ring_control(ring);
  const std::uint64_t begun = ring_begin_write(control);
  std::vector<Bar> bars(kCapacity);
  std::vector<double> closes(kCapacity);
  CHECK_FALSE(ring_read_state(f.view(), ring));
  CHECK_FALSE(ring_read_closed(f.view(), ring, bars));
  CHECK_FALSE(ring_read_column(f.view(), ring, Column::Close, closes));
  CHECK(f.closed(f.ring(0, 1), kCapacity).empty());  // other rings are unaffected

  ring_end_write(control, begun);
  CHECK(f.closed(ring, kCapacity) == range(0, 2));
}

TEST_CASE("JournalRecordsEveryKindOfChangeWithSymbolIntervalAndOneBasedSequence", "[segment][journal]") {
  RingFixture f;
  JournalCursor cursor = journal_cursor_at_head(f.view());
  CHECK(cursor.next == 0);

  REQUIRE(f.w().upsert_closed(2, 1, make_bar(0, kClosedStepMs)) == UpsertResult::Appended);  // Closed
  Bar corrected = make_bar(0, kClosedStepMs);
  corrected.close = -1;
  REQUIRE(f.w().upsert_closed(2, 1, corrected) == UpsertResult::Replaced);                    // Rewrite
  REQUIRE(f.w().upsert_closed(2, 1, corrected) == UpsertResult::Unchanged);                   // nothing
  f.w().write_forming(3, 0, make_bar(1, kClosedStepMs));                                      // Forming
  f.w().write_ticker(1, make_ticker(10));                                                     // Ticker
  SymbolInfo info{};
  info.symbol = {'B', 'T', 'C', 'U', 'S', 'D', 'T'};
  info.slot_state = static_cast<std::uint32_t>(SlotState::Active);
  f.w().set_symbol(0, info);                                                                  // Symbol
  f.w().set_ring_complete(2, 1, true);                                                        // RingFlags

  const std::vector<JournalEntry> entries = f.drain(cursor);
  struct Expected {
    std::uint32_t symbol;
    std::uint8_t interval;
    JournalKind kind;
  };
  const std::vector<Expected> expected{{2, 1, JournalKind::Closed},   {2, 1, JournalKind::Rewrite},
                                       {3, 0, JournalKind::Forming},  {1, kNoInterval, JournalKind::Ticker},
                                       {0, kNoInterval, JournalKind::Symbol}, {2, 1, JournalKind::RingFlags}};
  REQUIRE(entries.size() == expected.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    INFO("record " << i);
    CHECK(entries[i].sequence == i + 1);
    CHECK(entries[i].symbol == expected[i].symbol);
    CHECK(entries[i].interval_index == expected[i].interval);
    CHECK(entries[i].kind == expected[i].kind);
  }
  CHECK(cursor.next == expected.size());
  CHECK(f.reader->header().journal_head == expected.size());

  // The data the records point at is there.
  const auto ticker = seqlock_read(&f.view().ticker_slot(1)->ticker);
  REQUIRE(ticker);
  CHECK(ticker->last_price == 10.0);
  const auto symbol = seqlock_read(&f.view().symbol_slot(0)->info);
  REQUIRE(symbol);
  CHECK(std::string(symbol->symbol.data()) == "BTCUSDT");
}

TEST_CASE("PublishWakesOnlyAfterWritesAndBumpsEachCounterByExactlyOne", "[segment][publish]") {
  RingFixture f;
  const std::uint32_t futex0 = f.reader->futex_value();
  const std::uint64_t seq0 = f.reader->publish_seq();
  CHECK(seq0 == 0);

  CHECK_FALSE(f.w().publish());  // nothing written since creation
  f.w().heartbeat();
  CHECK_FALSE(f.w().publish());  // a heartbeat is not data
  CHECK(f.reader->futex_value() == futex0);
  CHECK(f.reader->publish_seq() == seq0);

  // One batch of many writes: one bump of each counter.
  f.w().write_ticker(0, make_ticker(1));
  f.w().write_ticker(1, make_ticker(2));
  f.w().write_forming(0, 1, make_bar(5, kClosedStepMs));
  REQUIRE(f.w().upsert_closed(0, 1, make_bar(4, kClosedStepMs)) == UpsertResult::Appended);
  CHECK(f.w().publish());
  CHECK(f.reader->futex_value() == futex0 + 1);
  CHECK(f.reader->publish_seq() == seq0 + 1);

  CHECK_FALSE(f.w().publish());  // the batch is over
  CHECK(f.reader->futex_value() == futex0 + 1);
  CHECK(f.reader->publish_seq() == seq0 + 1);

  REQUIRE(f.w().upsert_closed(0, 1, make_bar(4, kClosedStepMs)) == UpsertResult::Unchanged);
  CHECK_FALSE(f.w().publish());  // an unchanged upsert is not data either

  f.w().set_ring_complete(0, 1, true);
  CHECK(f.w().publish());
  CHECK(f.reader->futex_value() == futex0 + 2);
  CHECK(f.reader->publish_seq() == seq0 + 2);

  // A reader that last saw the previous value is told there is news without sleeping.
  std::uint32_t seen = futex0 + 1;
  CHECK(f.reader->wait_for_publish(seen, 1s, WaitStrategy{0, 10ms}) == WaitOutcome::Published);
  CHECK(seen == futex0 + 2);
  // And one that is up to date times out (the writer is alive).
  CHECK(f.reader->wait_for_publish(seen, 30ms, WaitStrategy{0, 10ms}) == WaitOutcome::TimedOut);
}
