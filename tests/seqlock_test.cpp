// SPDX-License-Identifier: Apache-2.0
// Seqlock unit behaviour on local slots: round trip, odd sequence = busy, bounded retries.
#include <catch2/catch.hpp>

#include <bit>

#include "common/segment_layout.hpp"
#include "common/seqlock.hpp"
#include "tests/segment_test_support.hpp"

using namespace screener;
using namespace screener::shm;
using namespace screener::test;

namespace {
bool same_bits(const Ticker& a, const Ticker& b) {
  return std::bit_cast<std::array<std::uint64_t, 9>>(a) == std::bit_cast<std::array<std::uint64_t, 9>>(b);
}
}  // namespace

TEST_CASE("SeqlockWriteThenReadReturnsTheWrittenPayload", "[seqlock]") {
  SeqlockSlot<Ticker> slot{};
  CHECK(seqlock_version(&slot) == 0);

  const Ticker first = make_ticker(41);
  seqlock_write(&slot, first);
  CHECK(seqlock_version(&slot) == 2);  // one write: s -> s+1 -> s+2, even again
  auto read = seqlock_read(&slot);
  REQUIRE(read);
  CHECK(same_bits(*read, first));

  const Ticker second = make_ticker(-7);
  seqlock_write(&slot, second);
  CHECK(seqlock_version(&slot) == 4);
  read = seqlock_try_read(&slot);
  REQUIRE(read);
  CHECK(same_bits(*read, second));
  CHECK(ticker_consistent(*read));

  SeqlockSlot<Bar> bar_slot{};
  const Bar bar = make_bar(123, kClosedStepMs);
  seqlock_write(&bar_slot, bar);
  const auto bar_read = seqlock_read(&bar_slot);
  REQUIRE(bar_read);
  CHECK(bar_number(*bar_read, kClosedStepMs) == 123);
}

TEST_CASE("SeqlockTryReadReturnsNothingWhileSequenceIsOdd", "[seqlock]") {
  SeqlockSlot<Ticker> slot{};
  seqlock_write(&slot, make_ticker(5));
  REQUIRE(seqlock_try_read(&slot));

  slot.seq = 3;  // what a reader sees between the writer's `seq = s+1` and `seq = s+2`
  CHECK_FALSE(seqlock_try_read(&slot));
  CHECK_FALSE(seqlock_read(&slot));

  slot.seq = 4;  // the write finished
  const auto read = seqlock_try_read(&slot);
  REQUIRE(read);
  CHECK(read->last_price == 5.0);
}

TEST_CASE("SeqlockReadGivesUpOnAPermanentlyOddSlotInsteadOfSpinning", "[seqlock]") {
  // A writer killed between `seq = s+1` and `seq = s+2` leaves the slot odd forever. The read
  // runs in a child so that a regression (an unbounded spin) fails this test at the deadline
  // instead of hanging the suite.
  constexpr int kGaveUp = 0;
  constexpr int kReturnedData = 1;
  Child child([] {
    SeqlockSlot<Ticker> slot{};
    seqlock_write(&slot, make_ticker(9));
    slot.seq += 1;  // odd, and nobody will ever finish the write
    return seqlock_read(&slot) ? kReturnedData : kGaveUp;
  });
  const auto started = Clock::now();
  REQUIRE(child.wait_exit(10s));
  const auto elapsed = Clock::now() - started;
  INFO(child.describe());
  CHECK(child.exited_with(kGaveUp));
  CHECK(elapsed < 5s);
}
