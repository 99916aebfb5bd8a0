// SPDX-License-Identifier: Apache-2.0
//
// parse_bench: cost of FrameParser on one core, on frames in Binance's exact combined-stream
// kline format (8-decimal strings), generated in memory: 400 symbols x 6 intervals, ~100 000
// distinct frames (every one validated as Delivered before timing starts).
//
//   kline in place    parse_padded on frames laid out with kFramePadding spare bytes each (the
//                     receive-buffer case: no copy)
//   kline copied      parse(string_view): one memcpy into the parser's padded buffer per frame
//   miniTicker@arr    one !miniTicker@arr frame of 2 000 elements, per call
//   2021 capture      the 265 real frames of cryptofeed's capture (depth, bookTicker, aggTrade,
//                     kline), if ../shared/data/binance is found
//
// Batch-timed rows: each sample is (time of `batch` consecutive frames) / batch, so median and
// p99 are over batches. `parse_bench --help` lists the flags; `--json` prints one object per line.

#include <sched.h>
#include <unistd.h>

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_stats.hpp"
#include "bench/kline_frames.hpp"
#include "common/interval.hpp"
#include "daemon/feed/frame_parser.hpp"

#ifndef SCREENER_BUILD_TYPE
#define SCREENER_BUILD_TYPE "unknown"
#endif
#ifndef SCREENER_SHARED_DATA
#define SCREENER_SHARED_DATA ""
#endif

namespace {

using namespace screener;
using namespace screener::feed;
using namespace screener::bench;

struct Options {
  bool json = false;
  bool pin = false;
  std::size_t frames = 100'000;
  std::size_t symbols = 400;
  std::size_t batch = 1000;
  std::size_t batches = 3000;
  std::size_t array_elements = 2000;
  std::size_t array_calls = 2000;
};

void usage(std::FILE* out) {
  std::fputs(
      "usage: parse_bench [--json] [--pin] [--frames N] [--symbols N] [--batch N] [--batches N]\n"
      "  --json         one JSON object per line\n"
      "  --pin          pin to the CPU this process is running on (sched_setaffinity)\n"
      "  --frames N     distinct kline frames generated (default 100000)\n"
      "  --symbols N    symbols (x 6 intervals) (default 400)\n"
      "  --batch N      frames per timed batch (default 1000)\n"
      "  --batches N    timed batches per kline row (default 3000)\n",
      out);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto number = [&](std::size_t& out) {
      if (i + 1 >= argc) {
        usage(stderr);
        std::exit(2);
      }
      out = std::strtoull(argv[++i], nullptr, 10);
      if (out == 0) {
        std::fprintf(stderr, "parse_bench: %.*s must be positive\n", static_cast<int>(arg.size()), arg.data());
        std::exit(2);
      }
    };
    if (arg == "--json") o.json = true;
    else if (arg == "--pin") o.pin = true;
    else if (arg == "--frames") number(o.frames);
    else if (arg == "--symbols") number(o.symbols);
    else if (arg == "--batch") number(o.batch);
    else if (arg == "--batches") number(o.batches);
    else if (arg == "--help" || arg == "-h") { usage(stdout); std::exit(0); }
    else { usage(stderr); std::exit(2); }
  }
  return o;
}

// ------------------------------------------------------------------------------ generation
// Symbols, kline frames and the padded Arena: bench/kline_frames.hpp.

std::string make_mini_ticker_array(std::size_t elements, Rng& rng) {
  std::string frame = R"({"stream":"!miniTicker@arr","data":[)";
  for (std::size_t i = 0; i < elements; ++i) {
    const double open = std::pow(10.0, -6.0 + 10.0 * rng.uniform());
    const double close = open * (0.9 + 0.2 * rng.uniform());
    const double high = std::max(open, close) * (1 + 0.05 * rng.uniform());
    const double low = std::min(open, close) * (1 - 0.05 * rng.uniform());
    const double volume = rng.uniform() * 1e7;
    if (i != 0) frame += ',';
    frame += fmt::format(
        R"({{"e":"24hrMiniTicker","E":{},"s":"SYM{}USDT","c":"{}","o":"{}","h":"{}","l":"{}","v":"{}","q":"{}"}})",
        1'700'000'000'000 + static_cast<std::int64_t>(rng.below(900)), i, decimal8(close), decimal8(open),
        decimal8(high), decimal8(low), decimal8(volume), decimal8(volume * close));
  }
  frame += "]}";
  return frame;
}

struct Sink final : FrameHandler {
  std::uint64_t klines = 0;
  std::uint64_t tickers = 0;
  double checksum = 0;
  void on_kline(const KlineUpdate& u) noexcept override {
    ++klines;
    checksum += u.bar.close + static_cast<double>(u.symbol.size());
  }
  void on_mini_tickers(std::span<const MiniTickerUpdate> u) noexcept override {
    tickers += u.size();
    checksum += u.front().ticker.last_price;
  }
  void on_server_shutdown(std::int64_t) noexcept override {}
  void on_control_reply(const ControlReply&) noexcept override {}
};

std::vector<std::string> load_capture() {
  std::vector<std::string> frames;
  std::ifstream in(SCREENER_SHARED_DATA "/cryptofeed_binance_2021-10-12/BINANCE.ws.1.0");
  if (!in) return frames;
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    const auto colon = line.find(": ");
    if (!line.empty() && colon != std::string::npos) frames.push_back(line.substr(colon + 2));
  }
  return frames;
}

void pin_to_current_cpu(const Reporter& reporter) {
  const int cpu = sched_getcpu();
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0)
    std::fprintf(stderr, "parse_bench: sched_setaffinity(cpu %d): %s\n", cpu, std::strerror(errno));
  else
    reporter.info("pinned", fmt::format("cpu {}", cpu));
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  Reporter reporter(options.json, "parse_bench");
  reporter.info("build", SCREENER_BUILD_TYPE);
  reporter.info("simdjson", fmt::format("{} (stage 1: {}, on-demand front end compiled for: {})", SIMDJSON_STRINGIFY(SIMDJSON_VERSION),
                                        simdjson::get_active_implementation()->name(),
                                        simdjson::builtin_implementation()->name()));
  if (options.pin) pin_to_current_cpu(reporter);

  // ---- generate
  Rng rng(0x5eed'2021'1012ULL);
  std::vector<SymbolState> symbols = make_symbols(options.symbols, rng);
  Arena arena;
  std::vector<std::string> owned;
  owned.reserve(options.frames);
  std::int64_t event_time = 1'700'000'000'000;  // 2023-11-14
  std::size_t total_bytes = 0;
  for (std::size_t i = 0; i < options.frames; ++i) {
    event_time += 1 + static_cast<std::int64_t>(rng.below(40));  // ~2400 streams per 2 s, as live
    const std::size_t stream = rng.below(symbols.size() * kKlineIntervals.size());
    owned.push_back(make_kline_frame(symbols[stream / kKlineIntervals.size()],
                                     kKlineIntervals[stream % kKlineIntervals.size()], event_time, rng));
    arena.add(owned.back());
    total_bytes += owned.back().size();
  }
  reporter.info("frames", fmt::format("{} kline frames, {} symbols x {} intervals, mean {:.0f} bytes; e.g. {}",
                                      options.frames, symbols.size(), kKlineIntervals.size(),
                                      static_cast<double>(total_bytes) / static_cast<double>(options.frames),
                                      owned.front()));

  // ---- every generated frame must be one the parser delivers
  FrameParser parser;
  Sink sink;
  for (const auto& [offset, length] : arena.frames) {
    const ParseResult r = parser.parse_padded(arena.bytes.data() + offset, length, length + kFramePadding, sink);
    if (r.outcome != FrameOutcome::Delivered) {
      std::fprintf(stderr, "parse_bench: generated frame not delivered (%s): %.*s\n", to_string(r.reason),
                   static_cast<int>(length), arena.bytes.data() + offset);
      return 1;
    }
  }

  const std::size_t n = arena.frames.size();
  reporter.section("FrameParser, one core");
  {
    const Samples samples = time_batches(options.batches, options.batch, [&](std::uint64_t i) {
      const auto& [offset, length] = arena.frames[i % n];
      const ParseResult r = parser.parse_padded(arena.bytes.data() + offset, length, length + kFramePadding, sink);
      do_not_optimize(r);
    });
    reporter.print({"parse", "kline frame, in place (parse_padded)", fmt::format("batch/{}", options.batch),
                    samples.summary(), samples.ops_per_second(), ""});
  }
  {
    const Samples samples = time_batches(options.batches, options.batch, [&](std::uint64_t i) {
      const ParseResult r = parser.parse(owned[i % n], sink);
      do_not_optimize(r);
    });
    reporter.print({"parse", "kline frame, copied (parse)", fmt::format("batch/{}", options.batch),
                    samples.summary(), samples.ops_per_second(), ""});
  }
  {
    const std::string array = make_mini_ticker_array(options.array_elements, rng);
    if (parser.parse(array, sink).outcome != FrameOutcome::Delivered) {
      std::fprintf(stderr, "parse_bench: generated !miniTicker@arr not delivered\n");
      return 1;
    }
    const Samples samples = time_calls(
        options.array_calls, [](std::size_t) {},
        [&](std::size_t) {
          const ParseResult r = parser.parse(array, sink);
          do_not_optimize(r);
        });
    reporter.print({"parse", fmt::format("!miniTicker@arr, {} elements", options.array_elements), "per-call",
                    samples.summary(), samples.ops_per_second(),
                    fmt::format("{} bytes, {:.1f} ns/element", array.size(),
                                samples.summary().median / static_cast<double>(options.array_elements))});
  }
  if (const std::vector<std::string> capture = load_capture(); !capture.empty()) {
    const std::size_t m = capture.size();
    const Samples samples = time_batches(options.batches / 3 + 1, m, [&](std::uint64_t i) {
      const ParseResult r = parser.parse(capture[i % m], sink);
      do_not_optimize(r);
    });
    reporter.print({"parse", "2021 capture mix (depth/bookTicker/aggTrade/kline)", fmt::format("batch/{}", m),
                    samples.summary(), samples.ops_per_second(), "copied; mostly ignored frames"});
  }
  do_not_optimize(sink.checksum);
  const ParseStats& stats = parser.stats();
  reporter.info("stats", fmt::format("{} frames: {} delivered, {} ignored, {} rejected", stats.frames,
                                     stats.count(FrameOutcome::Delivered), stats.count(FrameOutcome::Ignored),
                                     stats.count(FrameOutcome::Rejected)));
  return stats.count(FrameOutcome::Rejected) == 0 ? 0 : 1;
}
