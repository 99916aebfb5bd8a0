// SPDX-License-Identifier: Apache-2.0
// The seqlock / ring / journal fuzz with threads instead of processes, built with
// -fsanitize=thread (seqlock_tsan_test) so that ThreadSanitizer checks every shared access, and
// run with halt_on_error=1 so that any report fails the test.
//
// The reader threads read through the writer's own mapping (a const SegmentView on the same
// base address): ThreadSanitizer tracks memory by virtual address, so a second, read-only
// mapping of the same pages would hide every access from it. The process test covers the
// read-only mapping.
#include <catch2/catch.hpp>

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

#include "common/segment_reader.hpp"
#include "common/segment_writer.hpp"
#include "tests/segment_fuzz.hpp"
#include "tests/segment_test_support.hpp"

using namespace screener;
using namespace screener::shm;
using namespace screener::test;

TEST_CASE("ThisExecutableIsBuiltWithThreadSanitizer", "[tsan]") {
#if defined(__SANITIZE_THREAD__)
  SUCCEED("built with -fsanitize=thread");
#else
  FAIL("seqlock_tsan_test must be compiled with -fsanitize=thread");
#endif
}

TEST_CASE("SeqlockRingAndJournalReadsNeverTearAcrossThreads", "[tsan][fuzz]") {
  constexpr int kReaders = 3;
  constexpr std::uint64_t kMaxWriterSteps = 300'000;
  constexpr std::uint64_t kMaxReadsPerReader = 2'000'000;
  constexpr auto kTimeCap = 15s;
  constexpr std::uint64_t kMinReadsPerReader = 1'000;

  ScopedSegmentName name;
  const SegmentGeometry geometry = small_geometry(4, 64, 1024);
  const FuzzShape shape(geometry);
  auto writer = SegmentWriter::create(WriterOptions{name.str(), geometry, ""});
  REQUIRE(writer);
  const SegmentView view(writer->view().base());

  std::uint64_t v = 1;
  for (; v <= shape.prefill_steps(); ++v) fuzz_write_step(*writer, shape, v);
  (void)writer->publish();

  std::atomic<bool> writer_done{false};
  std::atomic<int> readers_started{0};
  std::uint64_t steps_written = 0;
  const auto deadline = Clock::now() + kTimeCap;

  std::vector<FuzzCounts> results(kReaders);
  std::vector<std::thread> readers;
  for (int i = 0; i < kReaders; ++i) {
    readers.emplace_back([&, i] {
      FuzzReader fuzz(view, shape);
      readers_started.fetch_add(1);
      std::uint64_t n = 0;
      for (; n < kMaxReadsPerReader; ++n) {
        if (n % 64 == 0 && (writer_done.load(std::memory_order_acquire) || Clock::now() >= deadline)) break;
        fuzz.step(n);
      }
      for (std::uint64_t extra = 0; extra < 4ULL * shape.rings; ++extra) fuzz.step(n + extra);  // after the writer
      results[static_cast<std::size_t>(i)] = fuzz.finish();
    });
  }
  std::thread writer_thread([&] {
    // Start writing once every reader is reading, so that they overlap; bounded either way.
    for (int spins = 0; spins < 10'000'000 && readers_started.load() < kReaders && Clock::now() < deadline; ++spins)
      std::this_thread::yield();
    const std::uint64_t first = v;
    for (; v < first + kMaxWriterSteps; ++v) {
      fuzz_write_step(*writer, shape, v);
      if (v % 16 == 0) (void)writer->publish();
      if (v % 256 == 0 && Clock::now() >= deadline) break;
    }
    steps_written = v - first;
    writer_done.store(true, std::memory_order_release);
  });
  writer_thread.join();
  for (auto& reader : readers) reader.join();

  FuzzCounts total;
  for (int i = 0; i < kReaders; ++i) {
    const FuzzCounts& c = results[static_cast<std::size_t>(i)];
    INFO("reader " << i << ": reads=" << c.reads << " torn=" << c.torn << " (first check failed: "
                   << c.first_torn_detail << ") busy=" << c.busy << " bars=" << c.bars_checked
                   << " journal=" << c.journal_records << " laps=" << c.journal_laps << " progress=" << c.progress);
    CHECK(c.torn == 0);
    CHECK(c.reads >= kMinReadsPerReader);
    total += c;
  }
  INFO("writer steps=" << steps_written << " total reads=" << total.reads << " progress=" << total.progress);
  CHECK(steps_written > 0);
  CHECK(total.torn == 0);
  CHECK(total.bars_checked > 0);
  CHECK(total.journal_records > 0);
  CHECK(total.progress > 0);
}
