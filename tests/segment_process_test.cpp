// SPDX-License-Identifier: Apache-2.0
// The segment between real processes: a forked writer and forked readers mapping it PROT_READ,
// cross-process futex wake-ups, a writer killed, restarted or shut down under a sleeping reader.
//
// Synchronisation is by pipes only. Where a test needs a reader to be asleep in FUTEX_WAIT
// before it acts, it polls /proc/<pid>/syscall with a deadline; the readers use a max_sleep so
// long that only a wake-up (not a timeout) can return them within the asserted time.
#include <catch2/catch.hpp>

#include <linux/futex.h>

#include <memory>
#include <optional>
#include <vector>

#include "common/clock.hpp"
#include "common/futex.hpp"
#include "common/kline_ring.hpp"
#include "common/segment_reader.hpp"
#include "common/segment_writer.hpp"
#include "tests/segment_fuzz.hpp"
#include "tests/segment_test_support.hpp"

using namespace screener;
using namespace screener::shm;
using namespace screener::test;

namespace {

const char* outcome_name(WaitOutcome o) {
  switch (o) {
    case WaitOutcome::Published: return "Published";
    case WaitOutcome::TimedOut: return "TimedOut";
    case WaitOutcome::WriterGone: return "WriterGone";
    case WaitOutcome::Interrupted: return "Interrupted";
  }
  return "?";
}

/// A writer child's start-up report.
struct WriterStarted {
  std::uint64_t epoch = 0;          ///< 0: create failed
  std::uint64_t ready_ns = 0;       ///< CLOCK_MONOTONIC when READY
};

/// Runs in a writer child: heartbeats every 10 ms until the parent closes `stop` (EOF) or 30 s
/// pass. The sleep is only the heartbeat cadence; nothing is synchronised by it.
void heartbeat_until_stopped(SegmentWriter& writer, const Pipe& stop) {
  const auto deadline = Clock::now() + 30s;
  for (int beats = 0; beats < 3000 && Clock::now() < deadline && !stop.hung_up(); ++beats) {
    writer.heartbeat();
    std::this_thread::sleep_for(10ms);
  }
}

/// A forked writer on `name` that reports WriterStarted on `started`, optionally runs `prepare`,
/// then heartbeats until stopped; exit code 0 after a clean shutdown.
std::unique_ptr<Child> fork_writer(const std::string& name, const SegmentGeometry& geometry, Pipe& started,
                                   Pipe& stop, const std::function<void(SegmentWriter&)>& prepare = {}) {
  return std::make_unique<Child>([&name, &geometry, &started, &stop, prepare] {
    started.close_read();
    stop.close_write();
    auto writer = SegmentWriter::create(WriterOptions{name, geometry, ""});
    if (!writer) {
      (void)started.send(WriterStarted{});
      return 1;
    }
    if (prepare) prepare(*writer);
    if (!started.send(WriterStarted{writer->epoch(), monotonic_ns()})) return 2;
    heartbeat_until_stopped(*writer, stop);
    writer->shutdown();
    return 0;
  });
}

}  // namespace

// ------------------------------------------------------------------------------------------ (a)

TEST_CASE("SeqlockedSlotsRingsAndJournalNeverTearAcrossProcesses", "[process][fuzz]") {
  constexpr int kReaders = 3;
  constexpr std::uint64_t kReadsPerReader = 1'000'000;  // 3 M reads in all ...
  constexpr auto kReadTimeCap = 20s;                    // ... or 20 s, whichever comes first
  constexpr std::uint64_t kMinTotalReads = 300'000;

  ScopedSegmentName name;
  const SegmentGeometry geometry = small_geometry(4, 64, 1024);
  const FuzzShape shape(geometry);

  // Left to the scheduler, a reader that shares a runqueue with the writer never runs at the same
  // time as it. With two or more CPUs the writer gets one, readers 0 and 1 the others (truly
  // concurrent reads), and reader 2 shares the writer's (it sees writes cut by preemption).
  const std::vector<int> cpus = allowed_cpus();
  const std::vector<int> writer_cpus = cpus.size() >= 2 ? std::vector<int>{cpus.front()} : std::vector<int>{};
  const std::vector<int> other_cpus = cpus.size() >= 2 ? std::vector<int>(cpus.begin() + 1, cpus.end()) : std::vector<int>{};

  Pipe started;
  Pipe stop;
  Child writer([&] {
    started.close_read();
    stop.close_write();
    (void)pin_to(writer_cpus);
    auto w = SegmentWriter::create(WriterOptions{name.str(), geometry, ""});
    if (!w) {
      (void)started.send(WriterStarted{});
      return 1;
    }
    std::uint64_t v = 1;
    for (; v <= shape.prefill_steps(); ++v) fuzz_write_step(*w, shape, v);
    (void)w->publish();
    if (!started.send(WriterStarted{w->epoch(), monotonic_ns()})) return 2;
    // Full speed until the parent hangs up; bounded by 60 s and a step count regardless.
    const auto deadline = Clock::now() + 60s;
    for (; v < 4'000'000'000ULL; ++v) {
      fuzz_write_step(*w, shape, v);
      if (v % 16 == 0) (void)w->publish();
      if (v % 1024 == 0) {
        w->heartbeat();
        if (stop.hung_up() || Clock::now() >= deadline) break;
      }
    }
    w->shutdown();
    return 0;
  });
  started.close_write();
  stop.close_read();
  WriterStarted writer_started;
  REQUIRE(started.receive(writer_started, 10s));
  REQUIRE(writer_started.epoch != 0);

  std::vector<std::unique_ptr<Pipe>> reports;
  for (int i = 0; i < kReaders; ++i) reports.push_back(std::make_unique<Pipe>());
  std::vector<std::unique_ptr<Child>> readers;
  for (int i = 0; i < kReaders; ++i) {
    readers.push_back(std::make_unique<Child>([&, i] {
      stop.close_write();  // only the parent may keep the writer running
      reports[static_cast<std::size_t>(i)]->close_read();
      (void)pin_to(i == kReaders - 1 ? writer_cpus : other_cpus);
      auto reader = SegmentReader::open(ReaderOptions{name.str()});
      if (!reader) return 1;
      FuzzReader fuzz(reader->view(), shape);
      const auto deadline = Clock::now() + kReadTimeCap;
      for (std::uint64_t n = 0; n < kReadsPerReader && (n % 256 != 0 || Clock::now() < deadline); ++n) fuzz.step(n);
      return reports[static_cast<std::size_t>(i)]->send(fuzz.finish()) ? 0 : 2;
    }));
  }
  for (auto& report : reports) report->close_write();

  FuzzCounts total;
  for (int i = 0; i < kReaders; ++i) {
    FuzzCounts counts;
    INFO("reader " << i);
    REQUIRE(reports[static_cast<std::size_t>(i)]->receive(counts, 40s));
    INFO("reads=" << counts.reads << " torn=" << counts.torn << " (first check failed: " << counts.first_torn_detail
                  << ") busy=" << counts.busy << " bars=" << counts.bars_checked << " journal="
                  << counts.journal_records << " laps=" << counts.journal_laps << " progress=" << counts.progress);
    CHECK(counts.torn == 0);
    CHECK(counts.reads > 0);
    total += counts;
  }
  for (auto& reader : readers) {
    REQUIRE(reader->wait_exit(10s));
    CHECK(reader->exited_with(0));
  }
  stop.close_write();
  REQUIRE(writer.wait_exit(10s));
  CHECK(writer.exited_with(0));

  INFO("total reads=" << total.reads << " busy=" << total.busy << " bars=" << total.bars_checked
                      << " journal=" << total.journal_records << " laps=" << total.journal_laps
                      << " progress=" << total.progress);
  CHECK(total.torn == 0);
  CHECK(total.reads >= kMinTotalReads);
  CHECK(total.bars_checked > 0);
  CHECK(total.journal_records > 0);
  CHECK(total.progress > 0);  // the readers really overlapped the writer
}

// ------------------------------------------------------------------------------------------ (b)

TEST_CASE("ReaderAsleepInFutexWaitOnAReadOnlyMappingIsWokenByPublish", "[process][futex]") {
  // Shared futex operations only: a private one is keyed by (mm, address) and never reaches
  // another process.
  CHECK((kFutexWaitOp & FUTEX_PRIVATE_FLAG) == 0);
  CHECK((kFutexWakeOp & FUTEX_PRIVATE_FLAG) == 0);
  CHECK((kFutexWaitOp & FUTEX_CMD_MASK) == FUTEX_WAIT);
  CHECK((kFutexWakeOp & FUTEX_CMD_MASK) == FUTEX_WAKE);

  ScopedSegmentName name;
  Pipe created;
  Pipe waiting;
  Pipe result;
  struct Result {
    int stage = 0;  ///< 0 ok; 1 no segment; 2 no writer signal
    WaitOutcome outcome = WaitOutcome::TimedOut;
    std::uint32_t seen_before = 0;
    std::uint32_t seen_after = 0;
    std::uint64_t publish_seq = 0;
    std::uint64_t elapsed_ns = 0;
    bool ticker_read = false;
    bool ticker_consistent = false;
    double last_price = 0;
  };
  // Forked before the writer exists: the child's only mapping is its PROT_READ one.
  Child child([&] {
    created.close_write();
    waiting.close_read();
    result.close_read();
    Result r;
    char byte = 0;
    if (!created.receive(byte, 10s)) {
      r.stage = 2;
      return result.send(r) ? 0 : 3;
    }
    auto reader = SegmentReader::open(ReaderOptions{name.str()});
    if (!reader) {
      r.stage = 1;
      return result.send(r) ? 0 : 3;
    }
    std::uint32_t seen = reader->futex_value();
    r.seen_before = seen;
    if (!waiting.send('w')) return 4;
    const std::uint64_t t0 = monotonic_ns();
    r.outcome = reader->wait_for_publish(seen, 5s, WaitStrategy{0, 5000ms});
    r.elapsed_ns = monotonic_ns() - t0;
    r.seen_after = seen;
    r.publish_seq = reader->publish_seq();
    if (const auto t = seqlock_read(&reader->view().ticker_slot(2)->ticker)) {
      r.ticker_read = true;
      r.ticker_consistent = ticker_consistent(*t);
      r.last_price = t->last_price;
    }
    return result.send(r) ? 0 : 3;
  });
  created.close_read();
  waiting.close_write();
  result.close_write();

  auto writer = SegmentWriter::create(WriterOptions{name.str(), small_geometry(), ""});
  REQUIRE(writer);
  REQUIRE(created.send('c'));
  char byte = 0;
  REQUIRE(waiting.receive(byte, 10s));
  REQUIRE(wait_until_in_futex(child.pid(), 5s));  // asleep in FUTEX_WAIT: only a wake-up returns it early

  writer->write_ticker(2, make_ticker(77));
  REQUIRE(writer->publish());

  Result r;
  REQUIRE(result.receive(r, 10s));
  REQUIRE(child.wait_exit(5s));
  CHECK(child.exited_with(0));
  REQUIRE(r.stage == 0);
  INFO("outcome " << outcome_name(r.outcome) << " after " << r.elapsed_ns / 1000 << " us");
  CHECK(r.outcome == WaitOutcome::Published);
  CHECK(r.elapsed_ns < 2'000'000'000ULL);  // a 5 s FUTEX_WAIT cut short by the wake-up
  CHECK(r.seen_after == r.seen_before + 1);
  CHECK(r.publish_seq == 1);
  CHECK(r.ticker_read);
  CHECK(r.ticker_consistent);
  CHECK(r.last_price == 77.0);
}

// ------------------------------------------------------------------------------------------ (c)

TEST_CASE("ReaderDetectsWriterRestartAndReattachesToTheNewEpoch", "[process][restart]") {
  ScopedSegmentName name;
  const SegmentGeometry geometry = small_geometry();
  constexpr auto kMaxSleep = 100ms;

  Pipe started_a;
  Pipe stop_a;
  auto writer_a = fork_writer(name.str(), geometry, started_a, stop_a);
  started_a.close_write();
  stop_a.close_read();
  WriterStarted a;
  REQUIRE(started_a.receive(a, 10s));
  REQUIRE(a.epoch != 0);

  struct Attached {
    std::uint64_t epoch = 0;
  };
  struct Report {
    WaitOutcome outcome = WaitOutcome::TimedOut;
    WriterStatus status = WriterStatus::Alive;
    std::uint64_t returned_ns = 0;
    bool reattached = false;
    std::uint64_t new_epoch = 0;
    WriterStatus new_status = WriterStatus::Shutdown;
    Message error;
  };
  Pipe attached;
  Pipe report;
  Child reader([&] {
    attached.close_read();
    report.close_read();
    stop_a.close_write();
    // A heartbeat timeout far beyond the test: only st_nlink == 0 can tell this reader anything.
    const ReaderOptions options{name.str(), std::chrono::milliseconds(60'000)};
    auto r = SegmentReader::open(options);
    if (!r || !attached.send(Attached{r->epoch()})) return 1;
    std::uint32_t seen = r->futex_value();
    Report out;
    out.outcome = r->wait_for_publish(seen, 10s, WaitStrategy{0, kMaxSleep});
    out.status = r->writer_status();
    out.returned_ns = monotonic_ns();
    auto again = SegmentReader::attach(options, 5000ms);
    out.reattached = again.has_value();
    if (again) {
      out.new_epoch = again->epoch();
      out.new_status = again->writer_status();
    } else {
      out.error = Message::of(again.error().message);
    }
    return report.send(out) ? 0 : 2;
  });
  attached.close_write();
  report.close_write();
  Attached seen_by_reader;
  REQUIRE(attached.receive(seen_by_reader, 10s));
  CHECK(seen_by_reader.epoch == a.epoch);
  REQUIRE(wait_until_in_futex(reader.pid(), 5s));

  writer_a->kill_and_reap();  // SIGKILL: no shutdown, the segment stays READY and linked
  CHECK(writer_a->killed_by(SIGKILL));
  Report early;
  CHECK_FALSE(report.receive(early, 0ms));  // nothing has told the reader yet

  Pipe started_b;
  Pipe stop_b;
  auto writer_b = fork_writer(name.str(), geometry, started_b, stop_b);
  started_b.close_write();
  stop_b.close_read();
  WriterStarted b;
  REQUIRE(started_b.receive(b, 10s));
  REQUIRE(b.epoch != 0);  // the dead writer's lock was released by the kernel

  Report out;
  REQUIRE(report.receive(out, 10s));
  REQUIRE(reader.wait_exit(5s));
  CHECK(reader.exited_with(0));
  const auto detected_after_ms = (static_cast<std::int64_t>(out.returned_ns) - static_cast<std::int64_t>(b.ready_ns)) / 1'000'000;
  INFO("outcome " << outcome_name(out.outcome) << " status " << to_string(out.status) << " "
                  << detected_after_ms << " ms after writer B was ready; " << out.error.str());
  CHECK(out.outcome == WaitOutcome::WriterGone);
  CHECK(out.status == WriterStatus::Replaced);
  CHECK(detected_after_ms < 1000);  // 2 x max_sleep, with room for a loaded machine
  REQUIRE(out.reattached);
  CHECK(out.new_epoch == b.epoch);
  CHECK(out.new_epoch != a.epoch);
  CHECK(out.new_status == WriterStatus::Alive);

  stop_b.close_write();
  REQUIRE(writer_b->wait_exit(10s));
  CHECK(writer_b->exited_with(0));
}

// ------------------------------------------------------------------------------------------ (d)

TEST_CASE("ReaderSeesAKilledWritersHeartbeatGoStaleWithinOneSecond", "[process][liveness]") {
  ScopedSegmentName name;
  const SegmentGeometry geometry = small_geometry();
  constexpr std::uint32_t kStuckRing = 0;

  // The writer dies in the middle of a closed-bar write: its ring's sequence stays odd.
  Pipe started;
  Pipe stop;
  auto writer = fork_writer(name.str(), geometry, started, stop, [](SegmentWriter& w) {
    w.write_ticker(1, make_ticker(5));
    for (std::int64_t k = 0; k < 3; ++k) (void)w.upsert_closed(0, 0, make_bar(k, kClosedStepMs));
    (void)w.publish();
    (void)ring_begin_write(w.view().ring_control(kStuckRing));
  });
  started.close_write();
  stop.close_read();
  WriterStarted ws;
  REQUIRE(started.receive(ws, 10s));
  REQUIRE(ws.epoch != 0);

  struct Report {
    int stage = 0;
    WriterStatus status_at_attach = WriterStatus::Shutdown;
    WaitOutcome outcome = WaitOutcome::TimedOut;
    WriterStatus status = WriterStatus::Alive;
    std::uint64_t returned_ns = 0;
    bool stuck_ring_readable = true;
    bool ticker_readable = false;
    bool other_ring_readable = false;
  };
  Pipe waiting;
  Pipe report;
  Child reader([&] {
    waiting.close_read();
    report.close_read();
    stop.close_write();
    Report out;
    auto r = SegmentReader::open(ReaderOptions{name.str(), std::chrono::milliseconds(300)});
    if (!r) {
      out.stage = 1;
      return report.send(out) ? 0 : 2;
    }
    out.status_at_attach = r->writer_status();
    std::uint32_t seen = r->futex_value();
    if (!waiting.send('w')) return 3;
    out.outcome = r->wait_for_publish(seen, 5s, WaitStrategy{0, 100ms});
    out.returned_ns = monotonic_ns();
    out.status = r->writer_status();
    std::array<Bar, 4> bars{};
    out.stuck_ring_readable = ring_read_closed(r->view(), kStuckRing, bars).has_value();
    out.other_ring_readable = ring_read_closed(r->view(), kStuckRing + 1, bars).has_value();
    out.ticker_readable = seqlock_read(&r->view().ticker_slot(1)->ticker).has_value();
    return report.send(out) ? 0 : 2;
  });
  waiting.close_write();
  report.close_write();
  char byte = 0;
  REQUIRE(waiting.receive(byte, 10s));
  REQUIRE(wait_until_in_futex(reader.pid(), 5s));

  const std::uint64_t killed_ns = monotonic_ns();
  writer->kill_and_reap();
  CHECK(writer->killed_by(SIGKILL));

  Report out;
  REQUIRE(report.receive(out, 10s));
  REQUIRE(reader.wait_exit(5s));
  CHECK(reader.exited_with(0));
  REQUIRE(out.stage == 0);
  const auto detected_after_ms =
      (static_cast<std::int64_t>(out.returned_ns) - static_cast<std::int64_t>(killed_ns)) / 1'000'000;
  INFO("outcome " << outcome_name(out.outcome) << " status " << to_string(out.status) << " " << detected_after_ms
                  << " ms after SIGKILL");
  CHECK(out.status_at_attach == WriterStatus::Alive);
  CHECK(out.outcome == WaitOutcome::WriterGone);
  CHECK(out.status == WriterStatus::HeartbeatStale);
  CHECK(detected_after_ms >= 0);    // not before the writer died
  CHECK(detected_after_ms < 1000);  // 300 ms timeout + one 100 ms sleep, with room
  CHECK_FALSE(out.stuck_ring_readable);  // reported busy (bounded), not spun on forever
  CHECK(out.other_ring_readable);
  CHECK(out.ticker_readable);
}

// ------------------------------------------------------------------------------------------ (e)

TEST_CASE("ShutdownWakesASleepingReaderWithWriterGone", "[process][shutdown]") {
  ScopedSegmentName name;
  Pipe created;
  Pipe waiting;
  Pipe report;
  struct Report {
    int stage = 0;
    WaitOutcome outcome = WaitOutcome::TimedOut;
    WriterStatus status = WriterStatus::Alive;
    std::uint64_t returned_ns = 0;
  };
  Child reader([&] {
    created.close_write();
    waiting.close_read();
    report.close_read();
    Report out;
    char byte = 0;
    if (!created.receive(byte, 10s)) {
      out.stage = 2;
      return report.send(out) ? 0 : 2;
    }
    auto r = SegmentReader::open(ReaderOptions{name.str()});
    if (!r) {
      out.stage = 1;
      return report.send(out) ? 0 : 2;
    }
    std::uint32_t seen = r->futex_value();
    if (!waiting.send('w')) return 3;
    // max_sleep of 10 s: returning within the asserted 2 s takes the shutdown's wake-up.
    out.outcome = r->wait_for_publish(seen, 10s, WaitStrategy{0, 10'000ms});
    out.returned_ns = monotonic_ns();
    out.status = r->writer_status();
    return report.send(out) ? 0 : 2;
  });
  created.close_read();
  waiting.close_write();
  report.close_write();

  auto writer = SegmentWriter::create(WriterOptions{name.str(), small_geometry(), ""});
  REQUIRE(writer);
  REQUIRE(created.send('c'));
  char byte = 0;
  REQUIRE(waiting.receive(byte, 10s));
  REQUIRE(wait_until_in_futex(reader.pid(), 5s));

  const std::uint64_t shutdown_ns = monotonic_ns();
  writer->shutdown();

  Report out;
  REQUIRE(report.receive(out, 15s));
  REQUIRE(reader.wait_exit(5s));
  CHECK(reader.exited_with(0));
  REQUIRE(out.stage == 0);
  const auto woken_after_ms =
      (static_cast<std::int64_t>(out.returned_ns) - static_cast<std::int64_t>(shutdown_ns)) / 1'000'000;
  INFO("outcome " << outcome_name(out.outcome) << " status " << to_string(out.status) << " " << woken_after_ms
                  << " ms after shutdown");
  CHECK(out.outcome == WaitOutcome::WriterGone);
  CHECK(out.status == WriterStatus::Shutdown);
  CHECK(woken_after_ms < 2000);
}

TEST_CASE("ShutdownNoticedWhileSpinningIsWriterGoneNotPublished", "[process][shutdown]") {
  // The shutdown's bump of the futex word must never be reported as data, however the reader
  // notices it: here the word has already moved when the reader starts its spin phase.
  ScopedSegmentName name;
  auto writer = SegmentWriter::create(WriterOptions{name.str(), small_geometry(), ""});
  REQUIRE(writer);
  auto reader = SegmentReader::open(ReaderOptions{name.str()});
  REQUIRE(reader);
  const std::uint32_t before = reader->futex_value();
  writer->shutdown();

  SECTION("spinning first") {
    std::uint32_t seen = before;
    CHECK(reader->wait_for_publish(seen, 200ms, WaitStrategy{100, 10ms}) == WaitOutcome::WriterGone);
  }
  SECTION("blocking at once") {
    std::uint32_t seen = before;
    CHECK(reader->wait_for_publish(seen, 200ms, WaitStrategy{0, 10ms}) == WaitOutcome::WriterGone);
  }
  CHECK(reader->writer_status() == WriterStatus::Shutdown);
}
