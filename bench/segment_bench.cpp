// SPDX-License-Identifier: Apache-2.0
//
// segment_bench: micro-benchmarks of the shared-memory segment on a real segment created with
// SegmentWriter (unique name, unlinked at the end).
//
//   publish   writer-side cost per record (seqlock + journal) and per publish(), with and without
//             a reader process asleep in FUTEX_WAIT
//   wake      cross-process wake-to-run latency: the writer stamps CLOCK_MONOTONIC into the ticker
//             of symbol 0 and publishes; a forked, read-only reader computes now - stamp as soon
//             as wait_for_publish returns. Paced, and the writer waits for the reader's ack
//             before the next publish, so publishes never coalesce.
//   read      reader-side cost of ring_read_column / ring_read_closed
//
// `segment_bench --help` lists the flags. `--json` prints one JSON object per line.

#include <sched.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_process.hpp"
#include "bench/bench_stats.hpp"
#include "common/clock.hpp"
#include "common/journal.hpp"
#include "common/kline_ring.hpp"
#include "common/segment_geometry.hpp"
#include "common/segment_reader.hpp"
#include "common/segment_writer.hpp"
#include "common/seqlock.hpp"

namespace {

using namespace screener;
using namespace screener::shm;
using namespace screener::bench;
using namespace std::chrono_literals;

// ------------------------------------------------------------------------------------ options

struct Options {
  bool json = false;
  bool pin = false;
  bool busy_spin = true;
  double scale = 1.0;
  std::uint32_t symbols = kDefaultMaxSymbols;
  std::uint32_t depth = kDefaultRingCapacity;
  std::uint32_t journal = kDefaultJournalCapacity;
  std::size_t batches = 2000;         // batch-timed rows: samples per row
  std::size_t batch_size = 1000;      // operations per batch
  std::size_t frames = 2000;          // frame rows (N writes + publish): samples per row
  std::size_t calls = 200'000;        // per-call publish without waiters
  std::size_t waiter_calls = 20'000;  // per-call publish with a reader asleep in FUTEX_WAIT
  std::size_t wake_samples = 10'000;  // wake-to-run samples per wait strategy
  std::size_t warmup = 200;           // discarded paced samples before each run
  std::uint32_t pace_us = 250;        // mean gap between paced publishes (uniform 0.5x..1.5x)
  std::size_t read_calls = 50'000;    // per-call reader rows
};

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: segment_bench [flags]\n"
               "  --json               one JSON object per line instead of the text table\n"
               "  --pin                pin the writer to CPU 0 and the reader process to CPU 1\n"
               "  --scale X            multiply every count below not given explicitly by X (5: ~5x longer)\n"
               "  --batches N          batch-timed rows: batches per row (2000)\n"
               "  --batch-size N       operations per batch (1000)\n"
               "  --frames N           frame rows (N writes + one publish): frames per row (2000)\n"
               "  --calls N            per-call publish() samples without waiters (200000)\n"
               "  --waiter-calls N     per-call publish() samples with a reader asleep (20000)\n"
               "  --wake-samples N     wake-to-run samples per wait strategy (10000)\n"
               "  --warmup N           paced samples discarded before each paced run (200)\n"
               "  --pace-us N          mean gap between paced publishes, microseconds (250)\n"
               "  --read-calls N       per-call samples of each reader row (50000)\n"
               "  --no-busy-spin       skip the busy-spin wake-to-run reference run\n"
               "  --symbols N --depth N --journal N   geometry (400, 1440, 65536; 6 intervals)\n");
}

template <class T>
bool parse_number(std::string_view text, T& out) {
  if constexpr (std::is_floating_point_v<T>) {
    char* end = nullptr;
    const std::string copy(text);
    out = static_cast<T>(std::strtod(copy.c_str(), &end));
    return end != nullptr && *end == '\0' && !copy.empty();
  } else {
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && ptr == text.data() + text.size();
  }
}

std::optional<Options> parse_options(int argc, char** argv) {
  Options o;
  std::vector<const void*> explicit_counts;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](auto& field) {
      if (i + 1 >= argc || !parse_number(argv[i + 1], field)) {
        std::fprintf(stderr, "segment_bench: %s needs a numeric value\n", argv[i]);
        return false;
      }
      explicit_counts.push_back(&field);
      ++i;
      return true;
    };
    bool ok = true;
    if (arg == "--json") o.json = true;
    else if (arg == "--pin") o.pin = true;
    else if (arg == "--no-busy-spin") o.busy_spin = false;
    else if (arg == "--scale") ok = value(o.scale);
    else if (arg == "--batches") ok = value(o.batches);
    else if (arg == "--batch-size") ok = value(o.batch_size);
    else if (arg == "--frames") ok = value(o.frames);
    else if (arg == "--calls") ok = value(o.calls);
    else if (arg == "--waiter-calls") ok = value(o.waiter_calls);
    else if (arg == "--wake-samples") ok = value(o.wake_samples);
    else if (arg == "--warmup") ok = value(o.warmup);
    else if (arg == "--pace-us") ok = value(o.pace_us);
    else if (arg == "--read-calls") ok = value(o.read_calls);
    else if (arg == "--symbols") ok = value(o.symbols);
    else if (arg == "--depth") ok = value(o.depth);
    else if (arg == "--journal") ok = value(o.journal);
    else if (arg == "--help" || arg == "-h") { usage(stdout); std::exit(0); }
    else {
      std::fprintf(stderr, "segment_bench: unknown flag %s\n", argv[i]);
      ok = false;
    }
    if (!ok) {
      usage(stderr);
      return std::nullopt;
    }
  }
  if (o.scale <= 0 || o.batch_size == 0 || o.pace_us == 0) {
    std::fprintf(stderr, "segment_bench: --scale, --batch-size and --pace-us must be positive\n");
    return std::nullopt;
  }
  // --scale multiplies the counts that were not given explicitly.
  for (std::size_t* n : {&o.batches, &o.frames, &o.calls, &o.waiter_calls, &o.wake_samples, &o.read_calls}) {
    if (std::find(explicit_counts.begin(), explicit_counts.end(), n) != explicit_counts.end()) continue;
    *n = std::max<std::size_t>(1, static_cast<std::size_t>(static_cast<double>(*n) * o.scale));
  }
  return o;
}

// ------------------------------------------------------------------------------------ reader process

/// The page shared with the forked reader (see ReaderProcess in bench_process.hpp).
struct Control {
  static constexpr const char* kAckUnit = "publish";
  alignas(128) std::atomic<std::uint32_t> ready;   // reader attached (or failed: see error)
  std::atomic<std::int32_t> error;                 // reader-side failure code, 0 = none
  std::atomic<std::uint32_t> stop;                 // writer asks the reader to exit
  std::int64_t base_ns;                            // stamps are stored relative to this
  std::uint64_t capacity;                          // entries in latency[]
  alignas(128) std::atomic<std::uint64_t> ack;     // publishes the reader has handled
  alignas(128) std::atomic<std::uint64_t> mismatched;   // woke to a ticker other than the expected one
  std::atomic<std::uint64_t> failed_reads;         // seqlock_read gave up
  std::atomic<std::uint64_t> timeouts;             // wait_for_publish timed out
  std::atomic<std::uint64_t> same_cpu;             // woke on the CPU the writer published from
  std::int64_t* latency;                           // [capacity] ns, by publish number; same address
                                                   // in both processes (mapped before fork)
};

/// The forked reader, once attached: loops on wait_for_publish. On each wake it takes the time at
/// once, then reads the ticker of symbol 0 (the writer's stamp) and acknowledges.
void reader_loop(SegmentReader& reader, Control& c, std::uint32_t seen, WaitStrategy strategy) {
  const TickerSlot* slot = reader.view().ticker_slot(0);
  for (;;) {
    const WaitOutcome outcome = reader.wait_for_publish(seen, 1s, strategy);
    const auto now = mono_ns();
    if (c.stop.load(std::memory_order_acquire) != 0) break;
    if (outcome == WaitOutcome::TimedOut) {
      c.timeouts.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (outcome == WaitOutcome::WriterGone) {
      c.error.store(2, std::memory_order_relaxed);
      break;
    }
    const std::uint64_t index = c.ack.load(std::memory_order_relaxed);
    if (const auto ticker = seqlock_read(&slot->ticker)) {
      if (ticker->event_time_ms != static_cast<std::int64_t>(index))
        c.mismatched.fetch_add(1, std::memory_order_relaxed);
      if (index < c.capacity)
        c.latency[index] = now - (c.base_ns + static_cast<std::int64_t>(ticker->last_price));
      if (static_cast<double>(sched_getcpu()) == ticker->open_24h) c.same_cpu.fetch_add(1, std::memory_order_relaxed);
    } else {
      c.failed_reads.fetch_add(1, std::memory_order_relaxed);
    }
    c.ack.store(index + 1, std::memory_order_release);
  }
}

/// A forked reader running reader_loop with `strategy`; stamps are relative to the time it starts.
struct Reader : ReaderProcess<Control> {
  Reader(const SegmentWriter& writer, std::uint64_t capacity, WaitStrategy strategy, bool pin)
      : ReaderProcess<Control>(
            writer, capacity, pin,
            [strategy](SegmentReader& r, Control& c, std::uint32_t seen) { reader_loop(r, c, seen, strategy); },
            [](Control& c) { c.base_ns = mono_ns(); }) {}
};

// ------------------------------------------------------------------------------------ data

Bar make_bar(std::int64_t open_time_ms, std::uint64_t i) {
  const double base = 100.0 + static_cast<double>(i & 1023U) * 0.01;
  return Bar{open_time_ms, base, base + 0.5, base - 0.5, base + 0.1, 12.5 + static_cast<double>(i & 7U),
             1250.0, static_cast<std::int64_t>(i & 0xFFFF), 6.0, 600.0};
}

Ticker make_ticker(std::uint64_t i) {
  const double price = 100.0 + static_cast<double>(i & 1023U) * 0.01;
  return Ticker{price, 99.0, 101.0, 98.0, 1e6, 1e8, price - 99.0, (price - 99.0) / 99.0,
                static_cast<std::int64_t>(i)};
}

struct Bench {
  Options opt;
  Reporter out;
  SegmentWriter& writer;
  std::uint32_t symbols;
  std::uint32_t intervals;
  std::uint32_t rings;
  std::vector<std::int64_t> next_open;  // per ring: open time of the next closed bar to append

  void report(const char* section, std::string name, std::string timing, const Samples& s, std::string note = {},
              double ops_per_second = -1) {
    out.print(Result{section, std::move(name), std::move(timing), s.summary(),
                     ops_per_second >= 0 ? ops_per_second : s.ops_per_second(), std::move(note)});
  }

  std::string batch_label() const { return fmt::format("batch/{}", opt.batch_size); }

  /// Appends closed bars until every ring holds `depth` of them (untimed).
  void fill_rings() {
    std::uint64_t i = 0;
    for (std::uint32_t r = 0; r < rings; ++r) {
      while (next_open[r] < std::int64_t{opt.depth} * 60'000) {
        next_open[r] += 60'000;
        (void)writer.upsert_closed(r / intervals, r % intervals, make_bar(next_open[r], i++));
      }
    }
    writer.publish();
  }

  void timer_overhead() {
    out.section("timer");
    const auto s = time_batches(opt.batches, opt.batch_size, [](std::uint64_t) { do_not_optimize(Clock::now()); });
    report("timer", "steady_clock::now()", batch_label(), s, "cost of one clock read (per-call rows include one)");
  }

  void publish_costs() {
    out.section("publish (writer side, one core, no reader unless stated)");

    {
      const auto s = time_batches(opt.batches, opt.batch_size, [&](std::uint64_t i) {
        const auto r = static_cast<std::uint32_t>(i % rings);
        writer.write_forming(r / intervals, r % intervals, make_bar(next_open[r] + 60'000, i));
      });
      report("publish", "write_forming (+journal)", batch_label(), s, "round-robin over all rings");
    }
    {
      std::uint64_t not_appended = 0;
      const auto s = time_batches(opt.batches, opt.batch_size, [&](std::uint64_t i) {
        const auto r = static_cast<std::uint32_t>(i % rings);
        next_open[r] += 60'000;
        if (writer.upsert_closed(r / intervals, r % intervals, make_bar(next_open[r], i)) != UpsertResult::Appended)
          ++not_appended;
      });
      report("publish", "upsert_closed append (+journal)", batch_label(), s,
             fmt::format("full rings, round-robin{}", not_appended != 0 ? fmt::format(", {} NOT appended", not_appended)
                                                                        : std::string{}));
    }
    {
      const auto s = time_batches(opt.batches, opt.batch_size, [&](std::uint64_t i) {
        writer.write_ticker(static_cast<std::uint32_t>(i % symbols), make_ticker(i));
      });
      report("publish", "write_ticker (+journal)", batch_label(), s, "round-robin over symbols");
    }
    writer.publish();
    {
      const auto s = time_batches(opt.batches, opt.batch_size, [&](std::uint64_t i) {
        writer.write_ticker(static_cast<std::uint32_t>(i % symbols), make_ticker(i));
        writer.publish();
      });
      report("publish", "write_ticker + publish(), no waiters", batch_label(), s,
             "1-record batches back to back: one FUTEX_WAKE each");
    }
    {
      const auto s = time_calls(
          opt.calls, [&](std::size_t i) { writer.write_ticker(static_cast<std::uint32_t>(i % symbols), make_ticker(i)); },
          [&](std::size_t) { writer.publish(); });
      report("publish", "publish(), no waiters", "per-call", s, "publish alone; write_ticker untimed before it");
    }
    {
      const std::size_t frames = opt.frames;
      const auto s = time_batches(frames, 1, [&](std::uint64_t f) {
        for (std::uint32_t sym = 0; sym < symbols; ++sym) writer.write_ticker(sym, make_ticker(f + sym));
        writer.publish();
      });
      report("publish", fmt::format("ticker frame: {} write_ticker + publish()", symbols), "per-frame", s,
             fmt::format("{:.3g} records/s", s.ops_per_second() * symbols));
    }
    {
      const std::size_t frames = opt.frames;
      const auto s = time_batches(frames, 1, [&](std::uint64_t f) {
        for (std::uint32_t r = 0; r < rings; ++r)
          writer.write_forming(r / intervals, r % intervals, make_bar(next_open[r] + 60'000, f + r));
        writer.publish();
      });
      report("publish", fmt::format("kline frame: {} write_forming + publish()", rings), "per-frame", s,
             fmt::format("{:.3g} records/s", s.ops_per_second() * rings));
    }
    publish_with_waiter();
  }

  /// publish() while a reader process is asleep in FUTEX_WAIT (seen 'S' in /proc/<pid>/stat), so
  /// the FUTEX_WAKE has a waiter to wake every time.
  void publish_with_waiter() {
    const std::size_t total = opt.warmup + opt.waiter_calls;
    Reader reader(writer, total + 1, WaitStrategy{.spin_iterations = 0}, opt.pin);
    Samples s(opt.waiter_calls);
    std::uint64_t not_asleep = 0;
    for (std::size_t i = 0; i < total; ++i) {
      reader.wait_ack(i);
      // Until the reader is back in FUTEX_WAIT. Polling /proc costs a few µs and paces the loop.
      if (!reader.wait_asleep()) ++not_asleep;
      writer.heartbeat();
      Ticker t = make_ticker(i);
      t.open_24h = static_cast<double>(sched_getcpu());  // the reader counts wakes on the same CPU
      writer.write_ticker(0, t);
      clobber_memory();
      const std::int64_t t0 = now_ns();
      writer.publish();
      clobber_memory();
      const std::int64_t t1 = now_ns();
      if (i >= opt.warmup) {
        s.add(static_cast<double>(t1 - t0));
        s.add_totals(static_cast<double>(t1 - t0), 1);
      }
    }
    reader.wait_ack(total);
    const std::uint64_t same_cpu = reader.control().same_cpu.load();
    reader.stop(writer);
    report("publish", "publish(), 1 reader asleep in FUTEX_WAIT", "per-call", s,
           fmt::format("reader then ran on the writer's CPU: {:.0f}%{}",
                       100.0 * static_cast<double>(same_cpu) / static_cast<double>(total),
                       not_asleep != 0 ? fmt::format("; {} calls found it awake", not_asleep) : std::string{}),
           0);
  }

  void wake_latency(const char* label, WaitStrategy strategy, const char* note) {
    const std::size_t total = opt.warmup + opt.wake_samples;
    Reader reader(writer, total + 1, strategy, opt.pin);
    Control& c = reader.control();
    PaceRng rng;
    for (std::size_t i = 0; i < total; ++i) {
      sleep_ns(rng.gap_ns(opt.pace_us));
      reader.wait_ack(i);
      writer.heartbeat();
      Ticker t = make_ticker(i);
      t.event_time_ms = static_cast<std::int64_t>(i);  // publish number: the reader checks it
      t.open_24h = static_cast<double>(sched_getcpu());  // the reader counts wakes on the same CPU
      const auto stamp = mono_ns();
      t.last_price = static_cast<double>(stamp - c.base_ns);  // exact: < 2^53 ns since base
      writer.write_ticker(0, t);
      writer.publish();
    }
    reader.wait_ack(total);
    Samples s(opt.wake_samples);
    for (std::size_t i = opt.warmup; i < total; ++i) s.add(static_cast<double>(c.latency[i]));
    const std::uint64_t mismatched = c.mismatched.load();
    const std::uint64_t failed = c.failed_reads.load();
    const std::uint64_t same_cpu = c.same_cpu.load();
    reader.stop(writer);
    std::string full_note =
        fmt::format("{}; same CPU as writer: {:.0f}%", note, 100.0 * static_cast<double>(same_cpu) / static_cast<double>(total));
    if (mismatched != 0 || failed != 0)
      full_note += fmt::format("; {} wrong-publish wakes, {} failed reads", mismatched, failed);
    report("wake", label, fmt::format("paced~{}us", opt.pace_us), s, full_note, 0);
  }

  void wake_latencies() {
    out.section("wake-to-run latency (writer stamp -> forked read-only reader running)");
    wake_latency("FUTEX_WAIT only (spin_iterations=0)", WaitStrategy{.spin_iterations = 0},
                 "pure futex block");
    wake_latency("default WaitStrategy (spin 100, then block)", WaitStrategy{},
                 "spin expires long before the next publish");
    if (opt.busy_spin)
      wake_latency("busy-spin (spin_iterations=2^32-1)", WaitStrategy{.spin_iterations = UINT32_MAX},
                   "reference: reader burns a core");
  }

  void read_costs() {
    out.section("read (reader side, read-only mapping, writer idle)");
    auto reader = SegmentReader::open(ReaderOptions{.name = writer.name().name});
    if (!reader) fail("in-process reader: " + reader.error().message);
    const SegmentView& view = reader->view();
    const std::uint32_t depth = view.ring_capacity();
    const std::size_t closed_bars = std::min<std::size_t>(200, depth);
    std::vector<double> column(depth);
    std::vector<Bar> bars(closed_bars);
    std::uint64_t short_reads = 0;

    // Fault the read-only mapping in: one untimed pass over every ring.
    for (std::uint32_t r = 0; r < rings; ++r) {
      auto n = ring_read_column(view, r, Column::Close, column);
      do_not_optimize(n);
      auto m = ring_read_closed(view, r, bars);
      do_not_optimize(m);
    }

    auto read_column = [&](std::uint32_t ring) {
      const auto n = ring_read_column(view, ring, Column::Close, column);
      if (!n || *n != depth) ++short_reads;
      do_not_optimize(column.data());
    };
    auto read_closed = [&](std::uint32_t ring) {
      const auto n = ring_read_closed(view, ring, bars);
      if (!n || *n != closed_bars) ++short_reads;
      do_not_optimize(bars.data());
    };
    auto none = [](std::size_t) {};
    const std::uint32_t hot_ring = rings / 2;

    auto s1 = time_calls(opt.read_calls, none, [&](std::size_t) { read_column(hot_ring); });
    report("read", fmt::format("ring_read_column Close x{}, same ring", depth), "per-call", s1,
           fmt::format("{:.2f} ns/value; cache-hot", s1.summary().median / depth));
    auto s2 = time_calls(opt.read_calls, none, [&](std::size_t i) { read_column(static_cast<std::uint32_t>(i % rings)); });
    report("read", fmt::format("ring_read_column Close x{}, rotating", depth), "per-call", s2,
           fmt::format("{:.2f} ns/value; next ring each call, {} rings", s2.summary().median / depth, rings));
    // Reference, not project code: the same seqlocked copy with the wrap handled by splitting the
    // window into (at most) two contiguous runs instead of a `% capacity` per value.
    auto read_column_split = [&](std::uint32_t ring) {
      const RingControl* control = view.ring_control(ring);
      const double* values = view.column<double>(ring, Column::Close);
      for (int attempt = 0; attempt < kSeqlockReadAttempts; ++attempt) {
        const std::uint64_t s0 = load_acquire(&control->closed_seq);
        if ((s0 & 1U) != 0) continue;
        const std::uint64_t head = load_acquire(&control->head);
        const std::uint64_t count = std::min<std::uint64_t>({head, depth, column.size()});
        std::uint64_t slot = (head - count) % depth;
        for (std::uint64_t i = 0; i < count; ++i) {
          column[i] = load_acquire(values + slot);
          if (++slot == depth) slot = 0;
        }
        if (load_relaxed(&control->closed_seq) == s0) {
          if (count != depth) ++short_reads;
          do_not_optimize(column.data());
          return;
        }
      }
      ++short_reads;
    };
    auto s2b = time_calls(opt.read_calls, none, [&](std::size_t) { read_column_split(hot_ring); });
    report("read", fmt::format("(reference) column x{} without % per value", depth), "per-call", s2b,
           fmt::format("{:.2f} ns/value; same ring; bench-local loop, not project code", s2b.summary().median / depth));
    auto s3 = time_calls(opt.read_calls, none, [&](std::size_t) { read_closed(hot_ring); });
    report("read", fmt::format("ring_read_closed x{} bars, same ring", closed_bars), "per-call", s3,
           fmt::format("{:.2f} ns/bar; cache-hot", s3.summary().median / static_cast<double>(closed_bars)));
    auto s4 = time_calls(opt.read_calls, none, [&](std::size_t i) { read_closed(static_cast<std::uint32_t>(i % rings)); });
    report("read", fmt::format("ring_read_closed x{} bars, rotating", closed_bars), "per-call", s4,
           fmt::format("{:.2f} ns/bar; next ring each call", s4.summary().median / static_cast<double>(closed_bars)));
    if (short_reads != 0) out.info("warning", fmt::format("{} reads returned fewer values than asked", short_reads));
  }
};

}  // namespace

int main(int argc, char** argv) {
  set_program_name("segment_bench");
  const auto parsed = parse_options(argc, argv);
  if (!parsed) return 2;
  const Options& opt = *parsed;
  if (opt.pin) pin_to_cpu(0);

  const auto geometry = make_geometry(opt.symbols, kDefaultIntervals, opt.depth, opt.journal);
  if (!geometry) {
    std::fprintf(stderr, "segment_bench: %s\n", geometry.error().message.c_str());
    return 2;
  }
  const std::string name = fmt::format("screener-bench-{}-{}", getpid(), realtime_ns() % 1'000'000'000);
  {
    const auto parsed_name = parse_segment_name(name);
    if (!parsed_name) return 2;
    cleanup_on_signal(*parsed_name);
  }

  const std::int64_t created_at = now_ns();
  auto writer = SegmentWriter::create(WriterOptions{.name = name, .geometry = *geometry, .group = {}});
  if (!writer) {
    std::fprintf(stderr, "segment_bench: %s\n", writer.error().message.c_str());
    unlink_lock_file();
    return 1;
  }
  const double create_ms = static_cast<double>(now_ns() - created_at) / 1e6;

  Bench bench{opt, Reporter(opt.json, "segment"), *writer, opt.symbols, geometry->interval_count,
              opt.symbols * geometry->interval_count,
              std::vector<std::int64_t>(std::size_t{opt.symbols} * geometry->interval_count, 0)};
  const std::int64_t started = now_ns();
  bench.out.info("segment", fmt::format("{} ({} symbols x {} intervals x {} bars, journal {}; {:.1f} MiB; "
                                        "created in {:.0f} ms)",
                                        writer->name().file_path, opt.symbols, geometry->interval_count, opt.depth,
                                        opt.journal, static_cast<double>(writer->size_bytes()) / 1048576.0,
                                        create_ms));
  bench.out.info("build", build_description());
  bench.out.info("cpus", fmt::format("{} online; {}", sysconf(_SC_NPROCESSORS_ONLN),
                                     opt.pin ? "writer pinned to CPU 0, reader to CPU 1" : "not pinned"));
  bench.out.info("units", "ns or us per operation as printed (JSON: always ns); ops/s over the timed regions");

  bench.fill_rings();
  bench.timer_overhead();
  bench.publish_costs();
  bench.wake_latencies();
  bench.read_costs();

  bench.out.info("elapsed", fmt::format("{:.1f} s", static_cast<double>(now_ns() - started) / 1e9));
  writer->shutdown();
  unlink_lock_file();
  return 0;
}
