// SPDX-License-Identifier: Apache-2.0
//
// ingest_bench: the hot path of screenerd on one core. FrameParser::parse_padded on a kline frame
// that sits in a receive buffer, MarketWriter::apply_kline (segment writes and journal), and
// SegmentWriter::publish(). It runs on a real segment (SegmentWriter, unique name, unlinked at the
// end and on SIGINT/SIGTERM), whose rings are full and whose continuity checks are live.
//
// Frames: Binance's exact combined-stream kline format (bench/kline_frames.hpp), 400 symbols x 6
// intervals. Unlike parse_bench's independent random frames, every stream here is a consistent
// timeline: each stream is updated every --update-ms of market time (2000, as Binance sends them),
// in event-time order. Within a bar the values only grow as trades do (high, low, volume, trade
// ids). The first update after the bar's end is its closed (x=true) frame, and the next bar starts
// after it. Before anything is timed, every ring holds --depth closed bars that end exactly where
// the timeline starts, and its initial backfill is marked done. So apply_kline runs its gap
// checks, and the run counts the gaps it reports (there must be none). Frames are generated
// untimed, 1024 at a time, into a padded buffer, just before they are parsed.
//
//   throughput  (a) parse only, (b) parse + apply_kline, (c) parse + apply_kline + publish() once
//               per batch of N frames, N in {1, 16, 256}: ns/frame per batch (median, p99) and
//               frames/s, against the target of 1 000 000 frames/s per core
//   latency     frame received (start of parse) -> publish() returned (FUTEX_WAKE done), one
//               frame per publish, paced; then with a forked read-only reader asleep in
//               wait_for_publish (spin 0): the writer-side figure again and frame received ->
//               reader woken, having read the frame's bar from the segment
//
// `ingest_bench --help` lists the flags. `--json` prints one JSON object per line.

#include <sched.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "bench/bench_args.hpp"
#include "bench/bench_process.hpp"
#include "bench/bench_stats.hpp"
#include "bench/kline_frames.hpp"
#include "common/clock.hpp"
#include "common/interval.hpp"
#include "common/kline_ring.hpp"
#include "common/segment_geometry.hpp"
#include "common/segment_reader.hpp"
#include "common/segment_writer.hpp"
#include "daemon/feed/frame_parser.hpp"
#include "daemon/ingest/market_writer.hpp"
#include "daemon/ingest/symbol_registry.hpp"

namespace {

using namespace screener;
using namespace screener::shm;
using namespace screener::feed;
using namespace screener::ingest;
using namespace screener::bench;
using namespace std::chrono_literals;

constexpr double kTargetFramesPerSecond = 1'000'000;  // the target, per core
constexpr std::size_t kChunk = 1024;                  // frames generated (untimed) at a time
constexpr std::array<std::size_t, 3> kPublishBatches{1, 16, 256};
constexpr std::int64_t kStartMs = 1'700'000'000'000;  // 2023-11-14 22:13:20 UTC

// ------------------------------------------------------------------------------------ options

struct Options {
  bool json = false;
  bool pin = false;
  std::size_t frames = 1'000'000;      // frames per throughput row (rounded up to a multiple of 1024)
  std::size_t batch = 256;             // frames per timed batch in rows (a) and (b)
  std::size_t latency_samples = 10'000;
  std::size_t wake_samples = 10'000;
  std::size_t warmup = 200;            // discarded paced samples before each paced run
  std::uint32_t pace_us = 250;         // mean gap between paced frames (uniform 0.5x..1.5x)
  std::uint32_t update_ms = 2000;      // market time between two updates of one stream
  std::uint32_t symbols = kDefaultMaxSymbols;
  std::uint32_t depth = kDefaultRingCapacity;
  std::uint32_t journal = kDefaultJournalCapacity;
};

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: ingest_bench [flags]\n"
               "  --json                 one JSON object per line instead of the text table\n"
               "  --pin                  pin the writer to CPU 0 and the reader process to CPU 1\n"
               "  --frames N             frames per throughput row, rounded up to a multiple of 1024 (1000000)\n"
               "  --batch N              frames per timed batch in the parse-only and parse+apply rows (256)\n"
               "  --latency-samples N    paced samples of the frame -> published row (10000)\n"
               "  --wake-samples N       paced samples of the rows with a reader process (10000)\n"
               "  --warmup N             paced samples discarded before each paced run (200)\n"
               "  --pace-us N            mean gap between paced frames, microseconds (250)\n"
               "  --update-ms N          market time between two updates of one stream, ms, 1..60000 (2000)\n"
               "  --symbols N --depth N --journal N   geometry (400, 1440, 65536; 6 intervals)\n");
}

using screener::bench::parse_number;

std::optional<Options> parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](auto& field) {
      if (i + 1 >= argc || !parse_number(argv[i + 1], field) || field == 0) {
        std::fprintf(stderr, "ingest_bench: %s needs a positive number\n", argv[i]);
        return false;
      }
      ++i;
      return true;
    };
    bool ok = true;
    if (arg == "--json") o.json = true;
    else if (arg == "--pin") o.pin = true;
    else if (arg == "--frames") ok = value(o.frames);
    else if (arg == "--batch") ok = value(o.batch);
    else if (arg == "--latency-samples") ok = value(o.latency_samples);
    else if (arg == "--wake-samples") ok = value(o.wake_samples);
    else if (arg == "--warmup") ok = value(o.warmup);
    else if (arg == "--pace-us") ok = value(o.pace_us);
    else if (arg == "--update-ms") ok = value(o.update_ms);
    else if (arg == "--symbols") ok = value(o.symbols);
    else if (arg == "--depth") ok = value(o.depth);
    else if (arg == "--journal") ok = value(o.journal);
    else if (arg == "--help" || arg == "-h") { usage(stdout); std::exit(0); }
    else {
      std::fprintf(stderr, "ingest_bench: unknown flag %s\n", argv[i]);
      ok = false;
    }
    if (!ok) {
      usage(stderr);
      return std::nullopt;
    }
  }
  if (o.update_ms > 60'000) {
    // A stream must be updated at least once per 1m bar, or its bars would go missing (gaps).
    std::fprintf(stderr, "ingest_bench: --update-ms must be at most 60000\n");
    return std::nullopt;
  }
  if (kChunk % o.batch != 0 && o.batch % kChunk != 0) {
    std::fprintf(stderr, "ingest_bench: --batch must divide 1024 or be a multiple of it\n");
    return std::nullopt;
  }
  o.frames = (o.frames + kChunk - 1) / kChunk * kChunk;
  o.frames = (o.frames + o.batch - 1) / o.batch * o.batch;
  return o;
}

// ------------------------------------------------------------------------------------ the timeline

/// Every (symbol, interval) stream as a consistent sequence of kline events, in event-time order:
/// forming updates of a bar, then its closed frame, then the next bar. One round updates every
/// stream once, in a fixed shuffled order spread evenly over `update_ms` of market time.
///
/// A symbol trades (or, 1 time in 8, does not) just before each update of any of its streams; the
/// trades go into the forming bar of all its intervals, so volumes, trade counts and trade ids
/// agree across intervals and only grow within a bar. Copyable: a copy replays the same frames.
class KlineTimeline {
 public:
  static constexpr std::uint32_t kIntervals = kKlineIntervals.size();

  /// What the last frame carried.
  struct Emitted {
    std::uint32_t symbol;
    std::uint32_t interval_index;
    bool closed;
    std::int64_t event_time_ms;
    Bar bar;
  };

  KlineTimeline(std::vector<SymbolState> symbols, std::int64_t start_ms, std::int64_t update_ms, std::uint64_t seed)
      : symbols_(std::move(symbols)),
        prices_(symbols_.size()),
        streams_(symbols_.size() * kIntervals),
        order_(streams_.size()),
        start_ms_(start_ms),
        update_ms_(update_ms),
        rng_(seed) {
    for (std::size_t s = 0; s < symbols_.size(); ++s) prices_[s] = symbols_[s].price;
    for (std::uint32_t st = 0; st < streams_.size(); ++st)
      start_bar(st, bar_open_time(kKlineIntervals[st % kIntervals], start_ms_));
    std::iota(order_.begin(), order_.end(), 0U);
    for (std::size_t i = order_.size() - 1; i > 0; --i) std::swap(order_[i], order_[rng_.below(i + 1)]);
  }

  [[nodiscard]] const std::vector<SymbolState>& symbols() const noexcept { return symbols_; }
  [[nodiscard]] std::size_t streams() const noexcept { return streams_.size(); }
  [[nodiscard]] std::uint64_t frames() const noexcept { return frames_; }
  [[nodiscard]] std::uint64_t closed_frames() const noexcept { return closed_frames_; }
  [[nodiscard]] std::uint64_t empty_frames() const noexcept { return empty_frames_; }
  [[nodiscard]] std::int64_t last_event_ms() const noexcept { return last_event_ms_; }
  /// Open time of the first live bar of an interval: the history must end right before it.
  [[nodiscard]] std::int64_t first_live_open(std::uint32_t interval_index) const noexcept {
    return bar_open_time(kKlineIntervals[interval_index], start_ms_);
  }

  /// Appends the next frame to `out` and says what it was.
  Emitted next(std::string& out) {
    const std::size_t n = order_.size();
    const std::uint32_t stream = order_[position_];
    const std::int64_t event_time =
        start_ms_ + round_ * update_ms_ + static_cast<std::int64_t>(position_) * update_ms_ / static_cast<std::int64_t>(n);
    if (++position_ == n) {
      position_ = 0;
      ++round_;
    }
    const std::uint32_t symbol = stream / kIntervals;
    const std::uint32_t interval_index = stream % kIntervals;
    const Interval interval = kKlineIntervals[interval_index];
    Stream& s = streams_[stream];
    const bool closed = event_time > bar_close_time(interval, s.bar.open_time_ms);
    if (!closed) trade(symbol);  // the bar's final values are those of the last update before its end
    append_kline_frame(out, symbols_[symbol], interval, event_time,
                       KlineFields{s.bar, s.first_trade_id,
                                   s.bar.trades == 0 ? -1 : s.first_trade_id + s.bar.trades - 1, closed});
    const Emitted emitted{symbol, interval_index, closed, event_time, s.bar};
    ++frames_;
    if (closed) ++closed_frames_;
    if (s.bar.trades == 0) ++empty_frames_;
    last_event_ms_ = event_time;
    if (closed) start_bar(stream, bar_open_time(interval, event_time));
    return emitted;
  }

 private:
  struct Stream {
    Bar bar;
    std::int64_t first_trade_id;  // -1 until the bar's first trade
  };

  void start_bar(std::uint32_t stream, std::int64_t open_time_ms) {
    const double p = prices_[stream / kIntervals];
    streams_[stream] = Stream{Bar{open_time_ms, p, p, p, p, 0, 0, 0, 0, 0}, -1};
  }

  void trade(std::uint32_t symbol) {
    if (rng_.below(8) == 0) return;  // nothing traded since the symbol's last update
    double& price = prices_[symbol];
    price = std::max(price * (1 + (rng_.uniform() - 0.5) * 2e-3), 1e-8);
    const auto trades = static_cast<std::int64_t>(1 + rng_.below(40));
    const double volume = rng_.uniform() * 1000 / std::sqrt(price);
    const double taker = volume * 0.95 * rng_.uniform();  // <= volume, and sums keep V <= v
    std::int64_t& next_id = symbols_[symbol].next_trade_id;
    for (std::uint32_t i = 0; i < kIntervals; ++i) {
      Stream& s = streams_[symbol * kIntervals + i];
      Bar& b = s.bar;
      if (b.trades == 0) {
        s.first_trade_id = next_id;
        b.open = b.high = b.low = price;  // a bar opens at its first trade
      }
      b.high = std::max(b.high, price);
      b.low = std::min(b.low, price);
      b.close = price;
      b.volume += volume;
      b.quote_volume += volume * price;
      b.trades += trades;
      b.taker_buy_base_volume += taker;
      b.taker_buy_quote_volume += taker * price;
    }
    next_id += trades;
  }

  std::vector<SymbolState> symbols_;
  std::vector<double> prices_;
  std::vector<Stream> streams_;
  std::vector<std::uint32_t> order_;
  std::int64_t start_ms_;
  std::int64_t update_ms_;
  Rng rng_;
  std::size_t position_ = 0;
  std::int64_t round_ = 0;
  std::uint64_t frames_ = 0;
  std::uint64_t closed_frames_ = 0;
  std::uint64_t empty_frames_ = 0;
  std::int64_t last_event_ms_ = 0;
};

/// The double a decimal renders to on the wire and back ("{:.8f}", then from_chars): what the
/// segment will hold.
double on_the_wire(double value) {
  char text[64];
  const auto end = fmt::format_to_n(text, sizeof text, "{:.8f}", value).out;
  double out = 0;
  std::from_chars(text, end, out);
  return out;
}

// ------------------------------------------------------------------------------------ handlers

/// Row (a): the parser's work only.
struct CountingSink final : FrameHandler {
  std::uint64_t klines = 0;
  double checksum = 0;
  void on_kline(const KlineUpdate& u) noexcept override {
    ++klines;
    checksum += u.bar.close;
  }
  void on_mini_tickers(std::span<const MiniTickerUpdate>) noexcept override {}
  void on_server_shutdown(std::int64_t) noexcept override {}
  void on_control_reply(const ControlReply&) noexcept override {}
};

/// What the daemon's FeedManager::Router does with market frames.
struct Router final : FrameHandler {
  explicit Router(MarketWriter& m) : market(m) {}
  MarketWriter& market;
  void on_kline(const KlineUpdate& u) noexcept override { market.apply_kline(u); }
  void on_mini_tickers(std::span<const MiniTickerUpdate> u) noexcept override { market.apply_mini_tickers(u); }
  void on_server_shutdown(std::int64_t) noexcept override {}
  void on_control_reply(const ControlReply&) noexcept override {}
};

/// The REST side is not benchmarked: a gap is only counted.
struct CountingGapFiller final : GapFiller {
  std::uint64_t requests = 0;
  void fill_gap(std::uint32_t, std::uint32_t, std::int64_t, std::int64_t) override { ++requests; }
};

// ------------------------------------------------------------------------------------ reader process

/// The page shared with the forked reader (see ReaderProcess in bench_process.hpp). The writer
/// sets the expected_* fields and the stamp before it parses; publish() (release) and
/// wait_for_publish (acquire) order them for the reader.
struct Control {
  static constexpr const char* kAckUnit = "frame";
  alignas(128) std::atomic<std::uint32_t> ready;   // reader attached (or failed: see error)
  std::atomic<std::int32_t> error;                 // reader-side failure code, 0 = none
  std::atomic<std::uint32_t> stop;                 // writer asks the reader to exit
  std::uint64_t capacity;                          // entries in latency[]
  alignas(128) std::atomic<std::int64_t> stamp;    // CLOCK_MONOTONIC ns: frame in the receive buffer
  std::atomic<std::uint32_t> expected_ring;
  std::atomic<std::uint32_t> expected_closed;      // 1: read the newest closed bar, 0: the forming bar
  std::atomic<std::int64_t> expected_open_ms;
  std::atomic<std::int64_t> expected_trades;
  std::atomic<double> expected_close;
  std::atomic<std::int32_t> writer_cpu;
  alignas(128) std::atomic<std::uint64_t> ack;     // frames the reader has handled
  alignas(128) std::atomic<std::uint64_t> mismatched;   // the bar read was not the frame's
  std::atomic<std::uint64_t> timeouts;             // wait_for_publish timed out
  std::atomic<std::uint64_t> same_cpu;             // woke on the CPU the writer published from
  std::int64_t* latency;                           // [capacity] ns by frame number; same address in
                                                   // both processes (mapped before fork)
};
static_assert(std::atomic<std::int64_t>::is_always_lock_free && std::atomic<double>::is_always_lock_free);

/// The forked reader, once attached, sleeps in wait_for_publish (spin 0). On each wake it reads
/// the bar the frame carried (ring_read_forming, or the newest closed bar for an x=true frame),
/// checks it, then takes the time and acknowledges.
void reader_loop(SegmentReader& reader, Control& c, std::uint32_t seen) {
  const SegmentView& view = reader.view();
  for (;;) {
    const WaitOutcome outcome = reader.wait_for_publish(seen, 1s, WaitStrategy{.spin_iterations = 0});
    if (c.stop.load(std::memory_order_acquire) != 0) break;
    if (outcome == WaitOutcome::TimedOut || outcome == WaitOutcome::Interrupted) {
      c.timeouts.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (outcome == WaitOutcome::WriterGone) {
      c.error.store(2, std::memory_order_relaxed);
      break;
    }
    const auto ring = c.expected_ring.load(std::memory_order_relaxed);
    const auto open_ms = c.expected_open_ms.load(std::memory_order_relaxed);
    const auto trades = c.expected_trades.load(std::memory_order_relaxed);
    const auto close = c.expected_close.load(std::memory_order_relaxed);
    bool ok = false;
    if (c.expected_closed.load(std::memory_order_relaxed) != 0) {
      Bar bar{};
      const auto n = ring_read_closed(view, ring, std::span<Bar>(&bar, 1));
      ok = n && *n == 1 && bar.open_time_ms == open_ms && bar.trades == trades && bar.close == close;
    } else {
      const auto bar = ring_read_forming(view, ring);
      ok = bar && bar->open_time_ms == open_ms && bar->trades == trades && bar->close == close;
    }
    const std::int64_t now = mono_ns();
    const std::uint64_t index = c.ack.load(std::memory_order_relaxed);
    if (!ok) c.mismatched.fetch_add(1, std::memory_order_relaxed);
    if (index < c.capacity) c.latency[index] = now - c.stamp.load(std::memory_order_relaxed);
    if (sched_getcpu() == c.writer_cpu.load(std::memory_order_relaxed))
      c.same_cpu.fetch_add(1, std::memory_order_relaxed);
    c.ack.store(index + 1, std::memory_order_release);
  }
}

// ------------------------------------------------------------------------------------ the benchmark

struct Bench {
  const Options& opt;
  Reporter out;
  SegmentWriter& writer;
  MarketWriter& market;
  CountingGapFiller& gaps;
  KlineTimeline& timeline;
  FrameParser parser{};
  CountingSink sink{};
  Router router{market};
  Arena buffer{};                 // the receive buffer: kChunk frames, each with kFramePadding after it
  std::uint64_t not_delivered = 0;
  std::uint64_t frame_bytes = 0;
  std::uint64_t frames_generated = 0;
  std::uint64_t reader_mismatches = 0;  // reader reads that did not match their frame

  void report(const char* section, std::string name, std::string timing, const Samples& s, std::string note,
              double ops_per_second = -1) {
    out.print(Result{section, std::move(name), std::move(timing), s.summary(),
                     ops_per_second >= 0 ? ops_per_second : s.ops_per_second(), std::move(note)});
  }

  /// Generates the next `count` frames of `tl` into the receive buffer (untimed).
  void refill(KlineTimeline& tl, std::size_t count) {
    buffer.clear();
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t offset = buffer.begin_frame();
      (void)tl.next(buffer.bytes);
      buffer.end_frame(offset);
      frame_bytes += buffer.length(i);
    }
    frames_generated += count;
  }

  void parse(std::size_t frame, FrameHandler& handler) noexcept {
    const std::size_t length = buffer.length(frame);
    const ParseResult r = parser.parse_padded(buffer.data(frame), length, length + kFramePadding, handler);
    if (r.outcome != FrameOutcome::Delivered) ++not_delivered;
  }

  /// Times `process(first, count)` over batches of `batch` frames; frames come from `tl`,
  /// kChunk (or `batch`, if larger) at a time.
  template <class Process>
  Samples run(KlineTimeline& tl, std::size_t frames, std::size_t batch, Process&& process) {
    const std::size_t chunk = std::max(kChunk, batch);
    Samples samples(frames / batch);
    for (std::size_t done = 0; done < frames; done += chunk) {
      refill(tl, chunk);
      for (std::size_t first = 0; first < chunk; first += batch) {
        clobber_memory();
        const std::int64_t t0 = now_ns();
        process(first, batch);
        clobber_memory();
        const std::int64_t t1 = now_ns();
        samples.add_batch(t1 - t0, batch);
      }
    }
    return samples;
  }

  static std::string verdict(double frames_per_second) {
    return fmt::format("{:.3g} frames/s = {:.2f}x the 1M/s target: {}", frames_per_second,
                       frames_per_second / kTargetFramesPerSecond,
                       frames_per_second >= kTargetFramesPerSecond ? "MET" : "NOT MET");
  }

  /// Until every ring has seen its live stream continue the history (untimed): parser buffers
  /// warm, completeness flags settled.
  void warm_up() {
    const std::size_t frames = (2 * timeline.streams() + kChunk - 1) / kChunk * kChunk;
    (void)run(timeline, frames, 16, [&](std::size_t first, std::size_t count) {
      for (std::size_t k = 0; k < count; ++k) parse(first + k, router);
      writer.publish();
    });
  }

  void timer_overhead() {
    out.section("timer");
    const auto s = time_batches(2000, 1000, [](std::uint64_t) { do_not_optimize(Clock::now()); });
    report("timer", "steady_clock::now()", "batch/1000", s, "one clock read; every sample of a batch of 1 includes one");
  }

  void throughput() {
    out.section(fmt::format("throughput, one core: {} frames per row (ns/frame over batches)", opt.frames));
    const std::string label = fmt::format("batch/{}", opt.batch);
    {
      // On a copy of the timeline: row (b) then parses and applies these same frames, and the
      // segment never misses one.
      KlineTimeline preview = timeline;
      const Samples s = run(preview, opt.frames, opt.batch, [&](std::size_t first, std::size_t count) {
        for (std::size_t k = 0; k < count; ++k) parse(first + k, sink);
      });
      report("throughput", "(a) parse only", label, s, verdict(s.ops_per_second()));
    }
    {
      const Samples s = run(timeline, opt.frames, opt.batch, [&](std::size_t first, std::size_t count) {
        for (std::size_t k = 0; k < count; ++k) parse(first + k, router);
      });
      writer.publish();
      report("throughput", "(b) parse + apply_kline", label, s, verdict(s.ops_per_second()));
    }
    for (const std::size_t n : kPublishBatches) {
      const Samples s = run(timeline, opt.frames, n, [&](std::size_t first, std::size_t count) {
        for (std::size_t k = 0; k < count; ++k) parse(first + k, router);
        writer.publish();
      });
      report("throughput", fmt::format("(c) parse + apply + publish() per {} frame{}", n, n == 1 ? "" : "s"),
             fmt::format("batch/{}", n), s, verdict(s.ops_per_second()));
    }
  }

  /// One frame into the (otherwise empty) receive buffer, untimed.
  KlineTimeline::Emitted receive_one() {
    buffer.clear();
    const std::size_t offset = buffer.begin_frame();
    const KlineTimeline::Emitted e = timeline.next(buffer.bytes);
    buffer.end_frame(offset);
    frame_bytes += buffer.length(0);
    ++frames_generated;
    return e;
  }

  void latency() {
    out.section("latency: one frame per publish, paced (writer stamp -> ...)");
    const std::string timing = fmt::format("paced~{}us", opt.pace_us);
    {
      PaceRng rng;
      Samples s(opt.latency_samples);
      for (std::size_t i = 0; i < opt.warmup + opt.latency_samples; ++i) {
        sleep_ns(rng.gap_ns(opt.pace_us));
        writer.heartbeat();
        (void)receive_one();
        clobber_memory();
        const std::int64_t t0 = mono_ns();
        parse(0, router);
        writer.publish();
        clobber_memory();
        const std::int64_t t1 = mono_ns();
        if (i >= opt.warmup) s.add(static_cast<double>(t1 - t0));
      }
      report("latency", "frame received -> published, no reader", timing, s,
             "start of parse -> publish() returned (FUTEX_WAKE done), batch of 1", 0);
    }
    with_reader(timing);
  }

  /// The same frames with a forked read-only reader asleep in wait_for_publish (spin 0).
  void with_reader(const std::string& timing) {
    const std::size_t total = opt.warmup + opt.wake_samples;
    writer.heartbeat();  // the reader checks its age on every wake
    ReaderProcess<Control> reader(writer, total + 1, opt.pin, reader_loop);
    Control& c = reader.control();
    const std::uint32_t intervals = writer.view().interval_count();
    PaceRng rng;
    Samples writer_side(opt.wake_samples);
    std::uint64_t not_asleep = 0;
    for (std::size_t i = 0; i < total; ++i) {
      sleep_ns(rng.gap_ns(opt.pace_us));
      reader.wait_ack(i);
      // Until the reader is back in FUTEX_WAIT (polling /proc costs a few µs; it is untimed).
      if (!reader.wait_asleep()) ++not_asleep;
      writer.heartbeat();
      const KlineTimeline::Emitted e = receive_one();
      c.expected_ring.store(e.symbol * intervals + e.interval_index, std::memory_order_relaxed);
      c.expected_closed.store(e.closed ? 1 : 0, std::memory_order_relaxed);
      c.expected_open_ms.store(e.bar.open_time_ms, std::memory_order_relaxed);
      c.expected_trades.store(e.bar.trades, std::memory_order_relaxed);
      c.expected_close.store(on_the_wire(e.bar.close), std::memory_order_relaxed);
      c.writer_cpu.store(sched_getcpu(), std::memory_order_relaxed);
      clobber_memory();
      const std::int64_t t0 = mono_ns();
      c.stamp.store(t0, std::memory_order_relaxed);
      parse(0, router);
      writer.publish();
      clobber_memory();
      const std::int64_t t1 = mono_ns();
      if (i >= opt.warmup) writer_side.add(static_cast<double>(t1 - t0));
    }
    reader.wait_ack(total);
    Samples reader_side(opt.wake_samples);
    for (std::size_t i = opt.warmup; i < total; ++i) reader_side.add(static_cast<double>(c.latency[i]));
    const std::uint64_t mismatched = c.mismatched.load();
    reader_mismatches += mismatched;
    const std::uint64_t same_cpu = c.same_cpu.load();
    reader.stop(writer);
    const double same_pct = 100.0 * static_cast<double>(same_cpu) / static_cast<double>(total);
    report("latency", "frame received -> published, 1 reader asleep", timing, writer_side,
           fmt::format("writer side of the row below: the FUTEX_WAKE wakes a process{}",
                       not_asleep != 0 ? fmt::format("; {} frames found the reader awake", not_asleep) : std::string{}),
           0);
    report("latency", "frame received -> reader woken, bar read", timing, reader_side,
           fmt::format("forked read-only reader, WaitStrategy spin 0; it ran on the writer's CPU {:.0f}% of the "
                       "time; {} reads not matching the frame",
                       same_pct, mismatched),
           0);
    if (mismatched != 0) out.info("warning", fmt::format("{} reader reads did not match the frame", mismatched));
  }
};

}  // namespace

int main(int argc, char** argv) {
  set_program_name("ingest_bench");
  const auto parsed = parse_options(argc, argv);
  if (!parsed) return 2;
  const Options& opt = *parsed;
  if (opt.pin) pin_to_cpu(0);

  const auto geometry = make_geometry(opt.symbols, kKlineIntervals, opt.depth, opt.journal);
  if (!geometry) {
    std::fprintf(stderr, "ingest_bench: %s\n", geometry.error().message.c_str());
    return 2;
  }
  const std::string name = fmt::format("screener-ingest-bench-{}-{}", getpid(), realtime_ns() % 1'000'000'000);
  {
    const auto parsed_name = parse_segment_name(name);
    if (!parsed_name) {
      std::fprintf(stderr, "ingest_bench: bad segment name %s\n", name.c_str());
      return 2;
    }
    cleanup_on_signal(*parsed_name);
  }

  const std::int64_t started = now_ns();
  auto writer = SegmentWriter::create(WriterOptions{.name = name, .geometry = *geometry, .group = {}});
  if (!writer) {
    std::fprintf(stderr, "ingest_bench: %s\n", writer.error().message.c_str());
    unlink_lock_file();
    return 1;
  }
  Reporter out(opt.json, "ingest");
  out.info("segment", fmt::format("{} ({} symbols x {} intervals x {} bars, journal {}; {:.1f} MiB)",
                                  writer->name().file_path, opt.symbols, kKlineIntervals.size(), opt.depth,
                                  opt.journal, static_cast<double>(writer->size_bytes()) / 1048576.0));
  out.info("build", build_description());
  out.info("cpus", fmt::format("{} online; {}", sysconf(_SC_NPROCESSORS_ONLN),
                               opt.pin ? "writer pinned to CPU 0, reader process to CPU 1" : "not pinned"));

  // ---- symbols, history, live continuity
  Rng rng(0x5eed'2021'1012ULL);
  KlineTimeline timeline(make_symbols(opt.symbols, rng), kStartMs, opt.update_ms, rng.next());
  SymbolRegistry registry(*writer);
  for (std::uint32_t s = 0; s < opt.symbols; ++s) {
    const SymbolState& symbol = timeline.symbols()[s];
    const auto slot = registry.upsert(SymbolListing{.symbol = symbol.upper, .base_asset = {}, .quote_asset = {},
                                                    .status = TradingStatus::Trading, .tick_size = 1e-8,
                                                    .step_size = 1e-8});
    if (!slot || *slot != s) fail(fmt::format("symbol {} did not get slot {}", symbol.upper, s));
  }
  CountingGapFiller gaps;
  MarketWriter market(*writer, registry, gaps);
  {
    // Each ring: `depth` closed bars ending right before the timeline's first live bar, then
    // its initial backfill is done, so every live frame goes through the continuity check.
    std::vector<Bar> history(opt.depth);
    for (std::uint32_t s = 0; s < opt.symbols; ++s) {
      const double p = timeline.symbols()[s].price;
      for (std::uint32_t i = 0; i < kKlineIntervals.size(); ++i) {
        const std::int64_t duration = interval_info(kKlineIntervals[i]).duration_ms;
        const std::int64_t first = timeline.first_live_open(i) - std::int64_t{opt.depth} * duration;
        for (std::uint32_t k = 0; k < opt.depth; ++k)
          history[k] = Bar{first + std::int64_t{k} * duration, p, p, p, p, 1.0, p, 1, 0.5, 0.5 * p};
        market.apply_backfill(s, i, history);
        market.initial_backfill_done(s, i);
      }
    }
    writer->publish();
  }
  const std::uint64_t backfilled = market.stats().backfilled_bars;

  Bench bench{opt, std::move(out), *writer, market, gaps, timeline};
  bench.warm_up();
  const std::size_t complete_after_warmup = market.complete_rings();
  const std::uint64_t warmup_frames = timeline.frames();
  bench.out.info("history", fmt::format("{} closed bars stored per ring ({} in all); after a warm-up of {} frames "
                                        "{} of {} rings are complete",
                                        opt.depth, backfilled, warmup_frames, complete_after_warmup,
                                        timeline.streams()));
  {
    std::string example;
    KlineTimeline peek = timeline;
    (void)peek.next(example);
    bench.out.info("frames", fmt::format("{} streams, each updated every {} ms of market time, in event-time "
                                         "order; e.g. {}",
                                         timeline.streams(), opt.update_ms, example));
  }

  bench.timer_overhead();
  bench.throughput();
  bench.latency();

  // ---- the data must have gone in whole: every frame delivered, no gap, every ring complete
  const MarketWriterStats& stats = market.stats();
  const ParseStats& parsed_stats = bench.parser.stats();
  bench.out.info("generated", fmt::format("{} frames generated, mean {:.0f} bytes; {:.2f}% closed (x=true), {:.2f}% without "
                                       "trades; market time covered {:.1f} h",
                                       timeline.frames(),
                                       static_cast<double>(bench.frame_bytes) / static_cast<double>(bench.frames_generated),
                                       100.0 * static_cast<double>(timeline.closed_frames()) / static_cast<double>(timeline.frames()),
                                       100.0 * static_cast<double>(timeline.empty_frames()) / static_cast<double>(timeline.frames()),
                                       static_cast<double>(timeline.last_event_ms() - kStartMs) / 3.6e6));
  bench.out.info("parser", fmt::format("{} frames parsed: {} delivered, {} ignored, {} rejected",
                                       parsed_stats.frames, parsed_stats.count(FrameOutcome::Delivered),
                                       parsed_stats.count(FrameOutcome::Ignored), parsed_stats.count(FrameOutcome::Rejected)));
  bench.out.info("continuity", fmt::format("{} klines applied, {} closed bars appended; {} gaps detected, {} gap "
                                           "fills requested, {} unknown symbols; {} of {} rings complete",
                                           stats.klines, stats.closed_bars, stats.gaps_detected, gaps.requests,
                                           stats.unknown_symbol, market.complete_rings(), timeline.streams()));
  const bool sound = bench.not_delivered == 0 && stats.gaps_detected == 0 && gaps.requests == 0 &&
                     stats.unknown_symbol == 0 && market.complete_rings() == timeline.streams() &&
                     bench.reader_mismatches == 0;
  if (!sound)
    bench.out.info("warning", "frames were not delivered, the continuity logic fired, or the reader read other bars: "
                              "see above");
  bench.out.info("elapsed", fmt::format("{:.1f} s", static_cast<double>(now_ns() - started) / 1e9));

  writer->shutdown();
  unlink_lock_file();
  return sound ? 0 : 1;
}
