// SPDX-License-Identifier: Apache-2.0
// The update journal as a reader sees it: in-order delivery, max_records, and laps.
#include <catch2/catch.hpp>

#include <optional>
#include <vector>

#include "common/journal.hpp"
#include "common/segment_reader.hpp"
#include "common/segment_writer.hpp"
#include "tests/segment_test_support.hpp"

using namespace screener;
using namespace screener::shm;
using namespace screener::test;

namespace {

constexpr std::uint32_t kJournal = 256;  // the smallest journal make_geometry accepts
constexpr std::uint32_t kSymbols = 4;

struct JournalFixture {
  ScopedSegmentName name;
  std::optional<SegmentWriter> writer;
  std::optional<SegmentReader> reader;

  JournalFixture() {
    auto created = SegmentWriter::create(WriterOptions{name.str(), small_geometry(kSymbols, 8, kJournal), ""});
    INFO((created ? std::string() : created.error().message));
    REQUIRE(created);
    writer.emplace(std::move(*created));
    auto attached = SegmentReader::open(ReaderOptions{name.str(), std::chrono::milliseconds(60'000)});
    INFO((attached ? std::string() : attached.error().message));
    REQUIRE(attached);
    reader.emplace(std::move(*attached));
  }
  [[nodiscard]] const SegmentView& view() const { return reader->view(); }

  /// Journals `count` ticker records; record with 1-based sequence n names symbol (n-1) % kSymbols.
  void write_tickers(std::uint64_t count) {
    for (std::uint64_t i = 0; i < count; ++i) {
      const std::uint64_t n = load_acquire(&view().header()->journal_head) + 1;
      writer->write_ticker(static_cast<std::uint32_t>((n - 1) % kSymbols), make_ticker(static_cast<std::int64_t>(n)));
    }
  }
};

struct Polled {
  JournalPoll result;
  std::vector<JournalEntry> entries;
};

Polled poll(const SegmentView& view, JournalCursor& cursor, std::uint64_t max_records = 1'000'000) {
  Polled p{JournalPoll::UpToDate, {}};
  p.result = journal_poll(view, cursor, max_records, [&](const JournalEntry& e) { p.entries.push_back(e); });
  return p;
}

/// Entries are ticker records with sequences first, first+1, ... and the symbol each was written for.
void check_in_order(const std::vector<JournalEntry>& entries, std::uint64_t first) {
  for (std::size_t i = 0; i < entries.size(); ++i) {
    INFO("entry " << i);
    REQUIRE(entries[i].sequence == first + i);
    CHECK(entries[i].kind == JournalKind::Ticker);
    CHECK(entries[i].interval_index == kNoInterval);
    CHECK(entries[i].symbol == (entries[i].sequence - 1) % kSymbols);
  }
}

}  // namespace

TEST_CASE("CursorStartsAtTheHeadAndSeesOnlyLaterRecords", "[segment][journal]") {
  JournalFixture f;
  f.write_tickers(5);
  JournalCursor cursor = journal_cursor_at_head(f.view());
  CHECK(cursor.next == 5);
  CHECK(cursor.lapped == 0);
  Polled p = poll(f.view(), cursor);
  CHECK(p.result == JournalPoll::UpToDate);
  CHECK(p.entries.empty());

  f.write_tickers(2);
  p = poll(f.view(), cursor);
  CHECK(p.result == JournalPoll::UpToDate);
  REQUIRE(p.entries.size() == 2);
  check_in_order(p.entries, 6);
}

TEST_CASE("ReaderWithinJournalCapacityGetsEveryRecordInOrder", "[segment][journal]") {
  JournalFixture f;
  f.write_tickers(100);  // so the records below wrap around the end of the journal
  JournalCursor cursor = journal_cursor_at_head(f.view());

  f.write_tickers(kJournal);  // exactly one journal behind: every record is still there
  const Polled p = poll(f.view(), cursor);
  CHECK(p.result == JournalPoll::UpToDate);
  REQUIRE(p.entries.size() == kJournal);
  check_in_order(p.entries, 101);
  CHECK(cursor.next == 100 + kJournal);
  CHECK(cursor.lapped == 0);
}

TEST_CASE("ReaderMoreThanAJournalBehindIsLappedAndJumpsToTheHead", "[segment][journal]") {
  JournalFixture f;
  JournalCursor cursor = journal_cursor_at_head(f.view());
  f.write_tickers(kJournal + 1);  // record 1 has been overwritten by record kJournal + 1

  Polled p = poll(f.view(), cursor);
  CHECK(p.result == JournalPoll::Lapped);
  CHECK(p.entries.empty());
  CHECK(cursor.next == kJournal + 1);
  CHECK(cursor.lapped == 1);

  // After the jump the reader follows again from the head.
  f.write_tickers(3);
  p = poll(f.view(), cursor);
  CHECK(p.result == JournalPoll::UpToDate);
  REQUIRE(p.entries.size() == 3);
  check_in_order(p.entries, kJournal + 2);
  CHECK(cursor.lapped == 1);

  // A second lap counts again.
  f.write_tickers(3 * kJournal);
  p = poll(f.view(), cursor);
  CHECK(p.result == JournalPoll::Lapped);
  CHECK(cursor.lapped == 2);
  CHECK(cursor.next == f.reader->header().journal_head);
}

TEST_CASE("RecordOverwrittenWhileBeingPolledIsReportedAsLapped", "[segment][journal]") {
  JournalFixture f;
  JournalCursor cursor = journal_cursor_at_head(f.view());
  f.write_tickers(kJournal);  // exactly a journal behind: not lapped yet

  // While the reader handles its first record the writer appends two more, overwriting the
  // first two records; the second is then no longer the one the reader expects.
  std::vector<JournalEntry> entries;
  const JournalPoll result = journal_poll(f.view(), cursor, 1'000'000, [&](const JournalEntry& e) {
    if (entries.empty()) f.write_tickers(2);
    entries.push_back(e);
  });
  CHECK(result == JournalPoll::Lapped);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].sequence == 1);
  CHECK(cursor.lapped == 1);
  CHECK(cursor.next == kJournal + 2);
}

TEST_CASE("PollDeliversAtMostMaxRecordsAndSaysMore", "[segment][journal]") {
  JournalFixture f;
  JournalCursor cursor = journal_cursor_at_head(f.view());
  f.write_tickers(10);

  Polled p = poll(f.view(), cursor, 0);
  CHECK(p.result == JournalPoll::More);
  CHECK(p.entries.empty());
  CHECK(cursor.next == 0);

  p = poll(f.view(), cursor, 4);
  CHECK(p.result == JournalPoll::More);
  REQUIRE(p.entries.size() == 4);
  check_in_order(p.entries, 1);

  p = poll(f.view(), cursor, 4);
  CHECK(p.result == JournalPoll::More);
  REQUIRE(p.entries.size() == 4);
  check_in_order(p.entries, 5);

  p = poll(f.view(), cursor, 4);
  CHECK(p.result == JournalPoll::UpToDate);
  REQUIRE(p.entries.size() == 2);
  check_in_order(p.entries, 9);

  p = poll(f.view(), cursor, 4);
  CHECK(p.result == JournalPoll::UpToDate);
  CHECK(p.entries.empty());
  CHECK(cursor.lapped == 0);
}
