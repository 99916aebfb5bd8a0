// SPDX-License-Identifier: Apache-2.0
//
// worker_bench: the evaluation side of the screener, in two measurements.
//
//   eval   In one process and one thread, what screener-worker's Engine costs. A segment in
//          /dev/shm (SegmentWriter, unique name, unlinked at the end) holds --symbols symbols x
//          {1m, 5m, 1h} x --depth bars, every ring filled with a deterministic random walk and
//          marked complete. An Engine (worker index 0), attached read-only like a worker, runs
//          --traders traders that all watch every symbol, drawn round-robin from 29 rule templates
//          over 30 distinct indicator keys (so they share indicator state), thresholds varying per
//          trader, some with @5m / @1h terms and some on the 5m interval (non-edge traders have a
//          30-bar cooldown, as real ones do; about 1.4 % of evaluations fire). Each wave appends one
//          closed 1m bar to every symbol (and the 5m / 1h bar it completes, as screenerd would),
//          publishes once, feeds the journal to Engine::note() and times Engine::process().
//          The same waves are then timed with
//            - the same number of traders whose rules read no series ("constant" rules): the
//              engine's per-evaluation cost without indicator reads and with trivial programs;
//            - no engine, only worker::Series::sync() on every ring with the real mix's keys:
//              the indicator updates the engine does for the real mix, alone.
//          Reports trader-symbol evaluations per second on one core against the target
//          of 10 million, and the per-wave time (median, p99).
//
//   e2e    Tick to signal, end to end, with the real binaries: screener-replay (synthetic market,
//          --symbols symbols, --speed) -> screenerd --record FILE -> --workers screener-worker
//          processes running --traders traders -> the JSONL file. The bench follows the JSONL file
//          with inotify and stamps every new line with CLOCK_REALTIME, the clock the recorder
//          stamps frames with (daemon/ingest/feed_manager.cpp, realtime_ns()). Each signal
//          (symbol, interval, bar_open_time) is matched with the closed (x=true) kline frame of
//          that bar in the record file: latency = line seen - frame received. Reports every
//          signal's latency and, per wave of closes (one bar open time), the first and the last
//          signal's. By default (--mix gated) the traders run the eval mix's rules, each and-ed with
//          a rare close-vs-open condition: the evaluation work of the eval mix, and about a hundred
//          signals per wave instead of thousands. The follower is SCHED_FIFO (when allowed) so that
//          its own wake-up is not counted; everything measured runs as usual. The CPU time of
//          other processes during the window is printed: on a shared machine, read it first.
//
// `worker_bench --help` lists the flags. `--json` prints one JSON object per line.

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bench/bench_args.hpp"
#include "bench/bench_process.hpp"
#include "bench/bench_stats.hpp"
#include "common/clock.hpp"
#include "common/interval.hpp"
#include "common/journal.hpp"
#include "common/kline_ring.hpp"
#include "common/segment_geometry.hpp"
#include "common/segment_name.hpp"
#include "common/segment_reader.hpp"
#include "common/segment_writer.hpp"
#include "common/trader_table.hpp"
#include "config/trader_config.hpp"
#include "worker/engine.hpp"
#include "worker/series.hpp"

namespace {

using namespace screener;
using namespace screener::shm;
using namespace screener::bench;

constexpr double kTargetEvaluationsPerSecond = 10'000'000;  // the target, per core
constexpr double kTargetLatencyP99Ns = 1'000'000;           // the target: p99 < 1 ms
constexpr std::int64_t kT0 = 1'704'067'200'000;             // 2024-01-01 00:00 UTC, aligned to 1h
constexpr std::array<Interval, 3> kBenchIntervals{Interval::m1, Interval::m5, Interval::h1};
constexpr std::size_t kMaxCatchUp = 32;                      // EngineOptions::max_catch_up's default

// ------------------------------------------------------------------------------------ options

struct Options {
  std::string mode = "eval";
  bool json = false;
  bool pin = false;
  std::uint32_t symbols = 400;
  std::uint32_t traders = 1000;
  // eval
  std::uint32_t depth = 1440;
  std::uint32_t waves = 300;
  std::uint32_t warm_waves = 10;
  bool skip_constant = false;
  bool skip_series = false;
  // e2e
  std::uint32_t workers = 2;
  std::uint32_t seconds = 60;
  std::uint32_t speed = 60;
  std::uint32_t updates_per_bar = 2;
  std::string mix = "gated";       // e2e: "gated" or "realistic"
  double gate = 1.006;             // e2e, gated: the close-vs-open factor every rule is and-ed with
  std::string bin_dir;
  std::string tmp = "/tmp";
  bool keep = false;
  bool rt_observer = true;
  bool rt_pipeline = false;
};

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: worker_bench [eval|e2e] [flags]\n"
               "  eval (default)          Engine::process() throughput in one thread on a /dev/shm segment\n"
               "  e2e                     screener-replay -> screenerd -> screener-worker x N -> JSONL latency\n"
               "common flags:\n"
               "  --json                  one JSON object per line instead of the text table\n"
               "  --symbols N             symbols (400)\n"
               "  --traders N             traders, all watching every symbol (1000)\n"
               "eval flags:\n"
               "  --pin                   pin the benchmark to CPU 0\n"
               "  --depth N               closed bars per ring (1440)\n"
               "  --waves N               timed waves (one closed 1m bar per symbol each) per variant (300)\n"
               "  --warm-waves N          untimed waves after the warm-up, per variant (10)\n"
               "  --no-constant           skip the constant-rule variant\n"
               "  --no-series             skip the Series::sync-only variant\n"
               "e2e flags:\n"
               "  --workers N             screener-worker processes (2)\n"
               "  --seconds N             measured wall time (60)\n"
               "  --speed N               market clock N times real time: a 1m bar every 60/N s (60)\n"
               "  --updates-per-bar N     forming updates per 1m bar sent by screener-replay (2)\n"
               "  --mix gated|realistic   gated (default): every rule of the eval mix (edge templates left out) is\n"
               "                          and-ed with `close > open * x` (or `close < open * (2 - x)`), x from\n"
               "                          --gate to --gate + 0.002, so that signals are rare enough not to queue;\n"
               "                          realistic: the eval mix as is (~1.4 %% of evaluations fire: a stress\n"
               "                          test of the signal path)\n"
               "  --gate X                the gated mix's smallest factor (1.006; 1.0 fires the most)\n"
               "  --bin-dir DIR           where screenerd, screener-worker, screener-replay are (this binary's dir)\n"
               "  --tmp DIR               where the work directory goes: traders, state (fired files), record,\n"
               "                          signals, logs (/tmp)\n"
               "  --keep                  keep the work directory (logs, record, signals) and print its path\n"
               "  --no-rt                 do not make the bench's JSONL follower SCHED_FIFO (by default it is, when\n"
               "                          allowed, so that it sees a line as soon as it is written)\n"
               "  --rt-pipeline           run every thread of screenerd and the workers SCHED_FIFO 5, as a deployment\n"
               "                          with CPUSchedulingPolicy=fifo would (screener-replay, the exchange, stays\n"
               "                          SCHED_OTHER): the pipeline's latency without queueing behind other work\n");
}

using screener::bench::parse_number;

std::optional<Options> parse_options(int argc, char** argv) {
  Options o;
  int first = 1;
  if (argc > 1 && (std::string_view(argv[1]) == "eval" || std::string_view(argv[1]) == "e2e")) {
    o.mode = argv[1];
    first = 2;
  }
  for (int i = first; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](auto& field, bool zero_ok = false) {
      if (i + 1 >= argc || !parse_number(argv[i + 1], field) || (!zero_ok && field == 0)) {
        std::fprintf(stderr, "worker_bench: %s needs a positive number\n", argv[i]);
        return false;
      }
      ++i;
      return true;
    };
    bool ok = true;
    if (arg == "--json") o.json = true;
    else if (arg == "--pin") o.pin = true;
    else if (arg == "--symbols") ok = value(o.symbols);
    else if (arg == "--traders") ok = value(o.traders);
    else if (arg == "--depth") ok = value(o.depth);
    else if (arg == "--waves") ok = value(o.waves);
    else if (arg == "--warm-waves") ok = value(o.warm_waves, true);
    else if (arg == "--no-constant") o.skip_constant = true;
    else if (arg == "--no-series") o.skip_series = true;
    else if (arg == "--workers") ok = value(o.workers);
    else if (arg == "--seconds") ok = value(o.seconds);
    else if (arg == "--speed") ok = value(o.speed);
    else if (arg == "--updates-per-bar") ok = value(o.updates_per_bar);
    else if (arg == "--mix" && i + 1 < argc) o.mix = argv[++i];
    else if (arg == "--gate") {
      ok = i + 1 < argc && parse_number(argv[i + 1], o.gate) && o.gate >= 1.0 && o.gate < 2.0;
      if (ok) ++i;
      else std::fprintf(stderr, "worker_bench: --gate needs a number in [1, 2)\n");
    }
    else if (arg == "--bin-dir" && i + 1 < argc) o.bin_dir = argv[++i];
    else if (arg == "--tmp" && i + 1 < argc) o.tmp = argv[++i];
    else if (arg == "--keep") o.keep = true;
    else if (arg == "--no-rt") o.rt_observer = false;
    else if (arg == "--rt-pipeline") o.rt_pipeline = true;
    else if (arg == "--help" || arg == "-h") { usage(stdout); std::exit(0); }
    else {
      std::fprintf(stderr, "worker_bench: unknown flag %s\n", argv[i]);
      ok = false;
    }
    if (!ok) {
      usage(stderr);
      return std::nullopt;
    }
  }
  if (o.depth < 400) {
    std::fprintf(stderr, "worker_bench: --depth must be at least 400 (the mix's @1h warm-up is 305 bars)\n");
    return std::nullopt;
  }
  if (o.mix != "gated" && o.mix != "realistic") {
    std::fprintf(stderr, "worker_bench: --mix is gated or realistic\n");
    return std::nullopt;
  }
  return o;
}

// ------------------------------------------------------------------------------------ traders

/// One trader file's essentials.
struct TraderDef {
  std::string name;
  std::string interval;
  std::string when;
  bool edge = false;  ///< a fire-often `close > open * x` trader
};

/// Edge traders have no cooldown; the others a 30-bar one, as real traders do (config/traders.d).
std::string trader_text(const TraderDef& t) {
  return fmt::format("name = \"{}\"\ninterval = \"{}\"\nwhen = \"{}\"\ncooldown = \"{}\"\n", t.name, t.interval,
                     t.when, t.edge ? "0" : "30 bars");
}

/// The rule templates: a realistic mix over 30 distinct indicator keys (23 on 1m, 4 on 5m, 3 on
/// 1h), so that traders share indicator state. `v` varies the thresholds between traders.
struct Template {
  const char* interval;
  bool edge;
  std::string (*when)(int v);
};

const std::vector<Template>& templates() {
  static const std::vector<Template> list{
      {"1m", false, [](int v) { return fmt::format("rsi(14) < {}", 20 + v % 20); }},
      {"1m", false, [](int v) { return fmt::format("rsi(7) > {}", 65 + v % 25); }},
      {"1m", false, [](int v) { return fmt::format("close > ema(50) and rsi(14) > {}", 55 + v % 30); }},
      {"1m", false, [](int) { return std::string("crosses_above(ema(9), ema(21))"); }},
      {"1m", false, [](int) { return std::string("crosses_below(ema(9), ema(21))"); }},
      {"1m", false, [](int v) { return fmt::format("bbands(20, 2).percent_b < {:.2f}", -0.2 + 0.02 * (v % 20)); }},
      {"1m", false,
       [](int v) { return fmt::format("macd(12, 26, 9).hist > 0 and volume > {:.1f} * sma(volume, 20)", 1.2 + 0.1 * (v % 20)); }},
      {"1m", false, [](int v) { return fmt::format("rsi(14) < {} and close > ema(50)@1h", 25 + v % 15); }},
      {"1m", false, [](int) { return std::string("close > sma(200)@1h and crosses_above(close, ema(21))"); }},
      {"1m", false,
       [](int v) { return fmt::format("stoch(14, 3, 3).k < {} and adx(14) > {}", 10 + v % 20, 15 + v % 20); }},
      {"1m", false, [](int v) { return fmt::format("cci(20) < {}", -100 - 5 * (v % 20)); }},
      {"1m", false, [](int v) { return fmt::format("willr(14) < {}", -80 - v % 20); }},
      {"1m", false, [](int v) { return fmt::format("mfi(14) > {}", 70 + v % 25); }},
      {"1m", false, [](int) { return std::string("close > highest(high, 20)[1]"); }},
      {"1m", false, [](int) { return std::string("close < lowest(low, 20)[1]"); }},
      {"1m", false, [](int v) { return fmt::format("atr(14) / close > {:.4f}", 0.002 + 0.0005 * (v % 20)); }},
      {"1m", false, [](int v) { return fmt::format("roc(10) > {:.1f}", 0.5 + 0.1 * (v % 20)); }},
      {"1m", false, [](int) { return std::string("close > vwap and obv > obv[5]"); }},
      {"1m", false, [](int v) { return fmt::format("rsi(14)@5m < {} and rsi(14) < {}", 30 + v % 20, 30 + v % 15); }},
      {"1m", false, [](int) { return std::string("crosses_above(macd(12, 26, 9).line, macd(12, 26, 9).signal)"); }},
      {"1m", false, [](int v) { return fmt::format("bbands(20, 2.5).width > {:.3f}", 0.01 + 0.002 * (v % 20)); }},
      {"1m", false, [](int) { return std::string("ema(21)@5m > ema(50)@5m and close > ema(9)"); }},
      {"1m", false, [](int v) { return fmt::format("rsi(21) > {} and close > sma(50)", 60 + v % 30); }},
      {"1m", true, [](int v) { return fmt::format("close > open * {:.4f}", 1.0015 + 0.0005 * (v % 10)); }},
      {"1m", true, [](int v) { return fmt::format("close < open * {:.4f}", 0.9985 - 0.0005 * (v % 10)); }},
      {"5m", false, [](int v) { return fmt::format("rsi(14) < {}", 25 + v % 20); }},
      {"5m", false, [](int) { return std::string("crosses_above(ema(9), ema(21))"); }},
      {"1m", false, [](int v) { return fmt::format("rsi(14)@1h > {} and crosses_above(rsi(7), 50)", 50 + v % 30); }},
      {"1m", false, [](int) { return std::string("close > ema(200) and close[1] < ema(200)[1]"); }},
  };
  return list;
}

/// `count` traders from the templates, round-robin. With `gate` > 0, the edge templates are left
/// out and every rule is and-ed with a close-vs-open condition of factor gate .. gate + 0.002: the
/// same evaluation work, far fewer signals.
std::vector<TraderDef> make_traders(std::uint32_t count, double gate = 0) {
  const auto& list = templates();
  std::vector<std::size_t> pool;
  for (std::size_t i = 0; i < list.size(); ++i)
    if (gate == 0 || !list[i].edge) pool.push_back(i);
  std::vector<TraderDef> out;
  out.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    const Template& t = list[pool[i % pool.size()]];
    const int variant = static_cast<int>(i / pool.size());
    std::string when = t.when(variant);
    if (gate > 0) {
      const double x = gate + 0.0002 * static_cast<double>((i / 2) % 11);
      when = i % 2 == 0 ? fmt::format("({}) and close > open * {:.4f}", when, x)
                        : fmt::format("({}) and close < open * {:.4f}", when, 2.0 - x);
    }
    out.push_back(TraderDef{fmt::format("t{:04}", i), t.interval, std::move(when), t.edge});
  }
  return out;
}

/// `count` traders whose rules read no series: `1 < 2` style constants, on the same intervals
/// as the real mix's traders (so the same jobs are evaluated).
std::vector<TraderDef> make_constant_traders(const std::vector<TraderDef>& real) {
  std::vector<TraderDef> out;
  out.reserve(real.size());
  for (std::size_t i = 0; i < real.size(); ++i)
    out.push_back(TraderDef{real[i].name, real[i].interval, fmt::format("{} < {}", i % 7, 3), false});
  return out;
}

TraderTableSnapshot make_table(const std::vector<TraderDef>& traders, std::uint64_t generation) {
  TraderTableSnapshot snapshot;
  snapshot.generation = generation;
  snapshot.worker_count = 1;
  for (const TraderDef& t : traders) {
    std::string text = trader_text(t);
    const std::uint64_t hash = trader_content_hash(text);
    snapshot.traders.push_back(TraderTableItem{t.name, 0, "/bench/traders.d/" + t.name + ".toml", std::move(text), hash});
  }
  return snapshot;
}

// ------------------------------------------------------------------------------------ market data

/// splitmix64: the same numbers everywhere.
struct SplitMix {
  std::uint64_t state;
  std::uint64_t next() noexcept {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [-1, 1).
  double symmetric() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-52 - 1.0; }
};

/// A bar of a random walk: `sigma` is the stdev of the log return (uniform noise scaled to it).
Bar walk_bar(SplitMix& rng, std::int64_t open_ms, double open, double sigma) {
  const double close = open * std::exp(sigma * 1.7320508 * rng.symmetric());
  Bar b{};
  b.open_time_ms = open_ms;
  b.open = open;
  b.close = close;
  b.high = std::max(open, close) * (1 + sigma * 0.5 * (1 + rng.symmetric()));
  b.low = std::min(open, close) * (1 - sigma * 0.5 * (1 + rng.symmetric()));
  b.volume = 50 + 40 * rng.symmetric();
  b.quote_volume = b.volume * close;
  b.trades = 100 + static_cast<std::int64_t>(50 * rng.symmetric());
  b.taker_buy_base_volume = b.volume / 2;
  b.taker_buy_quote_volume = b.quote_volume / 2;
  return b;
}

void merge(Bar& into, const Bar& b) {
  if (into.open_time_ms == 0) {
    into = b;
    return;
  }
  into.close = b.close;
  into.high = std::max(into.high, b.high);
  into.low = std::min(into.low, b.low);
  into.volume += b.volume;
  into.quote_volume += b.quote_volume;
  into.trades += b.trades;
  into.taker_buy_base_volume += b.taker_buy_base_volume;
  into.taker_buy_quote_volume += b.taker_buy_quote_volume;
}

/// The segment and its market: --depth bars of history per ring, then one wave per 1m bar.
class Market {
 public:
  Market(SegmentWriter& writer, std::uint32_t symbols, std::uint32_t depth) : writer_(writer), symbols_(symbols) {
    state_.resize(symbols);
    for (std::uint32_t s = 0; s < symbols; ++s) {
      SymbolInfo info{};
      const std::string name = fmt::format("SYM{:03}USDT", s);
      std::memcpy(info.symbol.data(), name.data(), name.size());
      info.slot_state = static_cast<std::uint32_t>(SlotState::Active);
      info.trading_status = static_cast<std::uint32_t>(TradingStatus::Trading);
      info.tick_size = 0.0001;
      info.step_size = 0.001;
      info.generation = 1;
      writer_.set_symbol(s, info);
      SymbolState& st = state_[s];
      st.rng = SplitMix{0x5eed0000ULL + s};
      st.sigma = 0.0006 + 0.0025 * (0.5 + 0.5 * st.rng.symmetric());
      const double level = 1.0 + 99.0 * (0.5 + 0.5 * st.rng.symmetric());
      for (std::uint32_t iv = 0; iv < kBenchIntervals.size(); ++iv) {
        const std::int64_t step = interval_info(kBenchIntervals[iv]).duration_ms;
        const double sigma = st.sigma * std::sqrt(static_cast<double>(step) / 60'000.0);
        double price = level;
        for (std::uint32_t k = 0; k < depth; ++k) {
          const Bar b = walk_bar(st.rng, kT0 - static_cast<std::int64_t>(depth - k) * step, price, sigma);
          price = b.close;
          append(s, iv, b);
        }
        if (iv == 0) st.price = price;
        writer_.set_ring_complete(s, iv, true);
      }
    }
    writer_.heartbeat();
    writer_.publish();
  }

  /// Appends the next closed 1m bar of every symbol, and the 5m and 1h bars it completes. No publish.
  void write_wave() {
    const std::int64_t open_ms = kT0 + minute_ * 60'000;
    const bool close5 = (minute_ + 1) % 5 == 0;
    const bool close60 = (minute_ + 1) % 60 == 0;
    for (std::uint32_t s = 0; s < symbols_; ++s) {
      SymbolState& st = state_[s];
      const Bar b = walk_bar(st.rng, open_ms, st.price, st.sigma);
      st.price = b.close;
      append(s, 0, b);
      merge(st.m5, b);
      merge(st.h1, b);
      if (close5) {
        append(s, 1, st.m5);
        st.m5 = Bar{};
      }
      if (close60) {
        append(s, 2, st.h1);
        st.h1 = Bar{};
      }
    }
    ++minute_;
  }
  [[nodiscard]] std::int64_t minute() const noexcept { return minute_; }

 private:
  void append(std::uint32_t symbol, std::uint32_t interval_index, const Bar& bar) {
    if (writer_.upsert_closed(symbol, interval_index, bar) != UpsertResult::Appended)
      fail(fmt::format("bar {} of symbol {} interval {} was not appended", bar.open_time_ms, symbol, interval_index));
  }

  struct SymbolState {
    SplitMix rng{0};
    double sigma = 0;
    double price = 0;
    Bar m5{};
    Bar h1{};
  };
  SegmentWriter& writer_;
  std::uint32_t symbols_;
  std::vector<SymbolState> state_;
  std::int64_t minute_ = 0;
};

class CountingSink final : public worker::SignalSink {
 public:
  void emit(std::uint64_t id, std::string json) override {
    ++signals;
    bytes += json.size();
    digest = (digest ^ id) * 0x100000001b3ULL;  // order-sensitive: which signals, in which order
  }
  std::uint64_t signals = 0;
  std::uint64_t bytes = 0;
  std::uint64_t digest = 0xcbf29ce484222325ULL;
};

// ------------------------------------------------------------------------------------ machine load

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text;
}

/// Busy and total CPU time of the whole machine (/proc/stat, clock ticks).
struct CpuTimes {
  std::uint64_t busy = 0;
  std::uint64_t total = 0;
};

CpuTimes machine_cpu() {
  const std::string text = read_text("/proc/stat");
  CpuTimes t;
  std::size_t at = text.find(' ');
  for (int field = 0; field < 8 && at != std::string::npos; ++field) {
    while (at < text.size() && text[at] == ' ') ++at;
    std::size_t end = at;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    std::uint64_t v = 0;
    (void)std::from_chars(text.data() + at, text.data() + end, v);
    t.total += v;
    if (field != 3 && field != 4) t.busy += v;  // not idle, not iowait
    at = end;
  }
  return t;
}

/// utime + stime of a process, all its threads (/proc/PID/stat fields 14 and 15, clock ticks).
std::uint64_t process_cpu(pid_t pid) {
  const std::string text = read_text(fmt::format("/proc/{}/stat", pid));
  const std::size_t paren = text.rfind(')');
  if (paren == std::string::npos) return 0;
  std::string_view rest(text.data() + paren + 2, text.size() - paren - 2);
  std::uint64_t values[2] = {0, 0};
  for (int field = 3, got = 0; field <= 15 && !rest.empty(); ++field) {
    const std::size_t space = rest.find(' ');
    const std::string_view word = rest.substr(0, space);
    if (field >= 14) (void)std::from_chars(word.data(), word.data() + word.size(), values[got++]);
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space + 1);
  }
  return values[0] + values[1];
}

/// What else ran: the CPU time of other processes over an interval, as a share of all CPUs.
class OtherLoad {
 public:
  explicit OtherLoad(std::vector<pid_t> ours) : ours_(std::move(ours)), machine_(machine_cpu()), mine_(sum()) {}
  /// "N % busy (...), other processes M %" since construction.
  [[nodiscard]] std::string describe() const {
    const CpuTimes now = machine_cpu();
    const double total = static_cast<double>(now.total - machine_.total);
    if (total <= 0) return "unknown";
    const double busy = static_cast<double>(now.busy - machine_.busy);
    const std::uint64_t ours = sum();
    const double mine = ours > mine_ ? static_cast<double>(ours - mine_) : 0.0;  // 0 if one of ours exited
    return fmt::format("{:.0f} % busy over {} CPUs: this run's processes {:.0f} %, other processes {:.0f} % (of all CPUs)",
                       100 * busy / total, sysconf(_SC_NPROCESSORS_ONLN), 100 * mine / total,
                       100 * std::max(0.0, busy - mine) / total);
  }

 private:
  [[nodiscard]] std::uint64_t sum() const {
    std::uint64_t s = 0;
    for (const pid_t pid : ours_) s += process_cpu(pid);
    return s;
  }
  std::vector<pid_t> ours_;
  CpuTimes machine_;
  std::uint64_t mine_;
};

// ------------------------------------------------------------------------------------ eval

/// What one timed variant measured.
struct VariantResult {
  Samples per_wave;
  Samples per_eval;  // one sample per wave: wave time / evaluations of that wave
  std::uint64_t evaluations = 0;
  std::uint64_t signals = 0;
  std::uint64_t updates = 0;  // Series variant: indicator-state updates
  std::uint64_t digest = 0;   // of the signal ids emitted in the timed waves, in order
  std::uint64_t bytes = 0;    // of their JSON
  double total_ns = 0;
  double cpu_ns = 0;  // thread CPU time of the timed calls: preemption by other processes excluded
  double warm_ms = 0;
};

/// CPU time of the calling thread, ns.
std::int64_t thread_cpu_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

class EvalBench {
 public:
  EvalBench(const Options& opt, SegmentWriter& writer, SegmentReader& reader, Market& market)
      : opt_(opt), writer_(writer), reader_(reader), market_(market) {}

  /// Publishes the wave and delivers the journal to `on_entry`.
  template <class OnEntry>
  void wave(shm::JournalCursor& cursor, OnEntry&& on_entry) {
    market_.write_wave();
    writer_.heartbeat();
    writer_.publish();
    for (;;) {
      const JournalPoll poll = journal_poll(reader_.view(), cursor, 4096, on_entry);
      if (poll == JournalPoll::Lapped) fail("the journal lapped the engine; raise the journal capacity");
      if (poll != JournalPoll::More) break;
    }
  }

  VariantResult run_engine(const std::vector<TraderDef>& traders) {
    CountingSink sink;
    worker::EngineOptions options;
    options.worker_index = 0;
    options.now_ms = [] { return std::int64_t{1'800'000'000'000}; };
    JournalCursor cursor = journal_cursor_at_head(reader_.view());
    worker::Engine engine(reader_.view(), std::move(options), sink);
    VariantResult r;
    {
      const std::int64_t t0 = now_ns();
      engine.apply_table(make_table(traders, 1));
      engine.process();  // warms every series from the rings
      r.warm_ms = static_cast<double>(now_ns() - t0) / 1e6;
    }
    if (engine.stats().trader_errors != 0 || engine.trader_count() != traders.size())
      fail(fmt::format("{} of {} traders did not compile", engine.stats().trader_errors, traders.size()));
    auto note = [&](const JournalEntry& e) noexcept { engine.note(e); };
    for (std::uint32_t w = 0; w < opt_.warm_waves; ++w) {
      wave(cursor, note);
      engine.process();
    }
    r.per_wave = Samples(opt_.waves);
    r.per_eval = Samples(opt_.waves);
    for (std::uint32_t w = 0; w < opt_.waves; ++w) {
      wave(cursor, note);
      const std::uint64_t evals = engine.stats().evaluations;
      const std::uint64_t signals = sink.signals;
      const std::int64_t c0 = thread_cpu_ns();
      const std::int64_t t0 = now_ns();
      engine.process();
      const std::int64_t elapsed = now_ns() - t0;
      r.cpu_ns += static_cast<double>(thread_cpu_ns() - c0);
      const std::uint64_t done = engine.stats().evaluations - evals;
      if (engine.waiting()) fail("evaluations are waiting for a higher timeframe: the wave was incomplete");
      r.per_wave.add(static_cast<double>(elapsed));
      r.per_wave.add_totals(static_cast<double>(elapsed), 1);
      if (done > 0) r.per_eval.add_batch(elapsed, done);
      r.evaluations += done;
      r.signals += sink.signals - signals;
      r.total_ns += static_cast<double>(elapsed);
    }
    if (engine.stats().skipped_bars != 0) fail("the engine skipped bars");
    r.digest = sink.digest;
    r.bytes = sink.bytes;
    return r;
  }

  /// worker::Series::sync() on every ring the real mix reads, with the real mix's keys per interval.
  VariantResult run_series(const std::vector<TraderDef>& traders) {
    config::TraderCheckOptions check;
    check.held.assign(kBenchIntervals.begin(), kBenchIntervals.end());
    check.history_bars = static_cast<int>(opt_.depth);
    std::array<std::vector<rules::IndicatorKey>, kBenchIntervals.size()> keys;
    std::array<bool, kBenchIntervals.size()> read{};
    int offsets = 0;
    for (const TraderDef& t : traders) {
      const config::TraderSpec spec = config::parse_trader(trader_text(t), t.name, check);
      read[index_of(spec.interval)] = true;
      for (rules::IndicatorKey key : spec.rule.keys) {
        key.forming = false;
        auto& list = keys[index_of(key.interval)];
        read[index_of(key.interval)] = true;
        if (std::find(list.begin(), list.end(), key) == list.end()) list.push_back(key);
      }
      collect_reads(spec.rule.root, read);
      offsets = std::max(offsets, max_offset(spec.rule.root, 0));
    }
    const std::size_t history = kMaxCatchUp + static_cast<std::size_t>(offsets) + 3;  // as Engine::rebuild
    key_counts_ = {keys[0].size(), keys[1].size(), keys[2].size()};
    const SegmentView& view = reader_.view();
    std::vector<std::unique_ptr<worker::Series>> series;
    for (std::uint32_t s = 0; s < opt_.symbols; ++s) {
      for (std::uint32_t iv = 0; iv < kBenchIntervals.size(); ++iv) {
        if (!read[iv]) continue;
        auto one = std::make_unique<worker::Series>(view.ring_index(s, iv), kBenchIntervals[iv], history);
        one->set_keys(keys[iv], history);
        series.push_back(std::move(one));
      }
    }
    std::vector<Bar> scratch;
    std::vector<worker::FreshBar> fresh;
    auto sync_all = [&] {
      std::uint64_t updates = 0;
      for (auto& one : series) {
        fresh.clear();
        const auto before = one->newest_open_time();
        (void)one->sync(view, scratch, fresh, kMaxCatchUp);
        if (one->newest_open_time() != before) updates += fresh.size() * keys[interval_index(one->interval())].size();
      }
      return updates;
    };
    JournalCursor cursor = journal_cursor_at_head(view);
    VariantResult r;
    {
      const std::int64_t t0 = now_ns();
      (void)sync_all();
      r.warm_ms = static_cast<double>(now_ns() - t0) / 1e6;
    }
    auto ignore = [](const JournalEntry&) noexcept {};
    for (std::uint32_t w = 0; w < opt_.warm_waves; ++w) {
      wave(cursor, ignore);
      (void)sync_all();
    }
    r.per_wave = Samples(opt_.waves);
    for (std::uint32_t w = 0; w < opt_.waves; ++w) {
      wave(cursor, ignore);
      const std::int64_t c0 = thread_cpu_ns();
      const std::int64_t t0 = now_ns();
      const std::uint64_t updates = sync_all();
      const std::int64_t elapsed = now_ns() - t0;
      r.cpu_ns += static_cast<double>(thread_cpu_ns() - c0);
      r.per_wave.add(static_cast<double>(elapsed));
      r.per_wave.add_totals(static_cast<double>(elapsed), 1);
      if (updates > 0) r.per_eval.add_batch(elapsed, updates);
      r.updates += updates;
      r.total_ns += static_cast<double>(elapsed);
    }
    return r;
  }

  [[nodiscard]] const std::array<std::size_t, 3>& key_counts() const noexcept { return key_counts_; }

 private:
  static std::uint32_t index_of(Interval iv) {
    for (std::uint32_t i = 0; i < kBenchIntervals.size(); ++i)
      if (kBenchIntervals[i] == iv) return i;
    fail("interval not held");
  }
  static std::uint32_t interval_index(Interval iv) { return index_of(iv); }
  static void collect_reads(const rules::Node& n, std::array<bool, kBenchIntervals.size()>& read) {
    if (n.kind == rules::Node::Kind::Bar || n.kind == rules::Node::Kind::Indicator) read[index_of(n.interval)] = true;
    for (const rules::Node& c : n.children) collect_reads(c, read);
  }
  /// As engine.cpp's max_offset: the deepest offset, plus one inside crosses_*.
  static int max_offset(const rules::Node& n, int extra) {
    int m = (n.kind == rules::Node::Kind::Bar || n.kind == rules::Node::Kind::Indicator) ? n.offset + extra : 0;
    const int child_extra = n.kind == rules::Node::Kind::Crosses ? extra + 1 : extra;
    for (const rules::Node& c : n.children) m = std::max(m, max_offset(c, child_extra));
    return m;
  }

  const Options& opt_;
  SegmentWriter& writer_;
  SegmentReader& reader_;
  Market& market_;
  std::array<std::size_t, 3> key_counts_{};
};

std::string target_note(double per_second) {
  const double ratio = per_second / kTargetEvaluationsPerSecond;
  return fmt::format("{} ({:.2f}x the 10M/s target)", ratio >= 1 ? "target met" : "target NOT met", ratio);
}

int run_eval(const Options& opt) {
  if (opt.pin) pin_to_cpu(0);
  const auto geometry = make_geometry(opt.symbols, kBenchIntervals, opt.depth, 1U << 16);
  if (!geometry) {
    std::fprintf(stderr, "worker_bench: %s\n", geometry.error().message.c_str());
    return 2;
  }
  const std::string name = fmt::format("screener-worker-bench-{}-{}", getpid(), realtime_ns() % 1'000'000'000);
  {
    const auto parsed_name = parse_segment_name(name);
    if (!parsed_name) return 2;
    cleanup_on_signal(*parsed_name);
  }
  auto writer = SegmentWriter::create(WriterOptions{.name = name, .geometry = *geometry, .group = {}});
  if (!writer) {
    std::fprintf(stderr, "worker_bench: %s\n", writer.error().message.c_str());
    unlink_lock_file();
    return 1;
  }
  Reporter out(opt.json, "worker-eval");
  const std::int64_t started = now_ns();
  Market market(*writer, opt.symbols, opt.depth);
  auto reader = SegmentReader::attach(ReaderOptions{.name = name}, std::chrono::milliseconds(2000));
  if (!reader) fail(reader.error().message);

  const std::vector<TraderDef> real = make_traders(opt.traders);
  std::size_t on_5m = 0;
  std::size_t edges = 0;
  for (const TraderDef& t : real) {
    on_5m += t.interval == "5m" ? 1 : 0;
    edges += t.edge ? 1 : 0;
  }
  out.info("segment", fmt::format("{} ({} symbols x 1m,5m,1h x {} bars, journal 65536; {:.1f} MiB; filled in {:.1f} s)",
                                  writer->name().file_path, opt.symbols, opt.depth,
                                  static_cast<double>(writer->size_bytes()) / 1048576.0,
                                  static_cast<double>(now_ns() - started) / 1e9));
  out.info("build", build_description());
  out.info("cpus", fmt::format("{} online; {}", sysconf(_SC_NPROCESSORS_ONLN), opt.pin ? "pinned to CPU 0" : "not pinned"));
  out.info("traders", fmt::format("{} from {} templates, all watching all {} symbols: {} on 1m, {} on 5m; {} edge "
                                  "(close vs open) traders",
                                  real.size(), templates().size(), opt.symbols, real.size() - on_5m, on_5m, edges));
  out.info("waves", fmt::format("{} timed per variant after {} untimed; a wave = one closed 1m bar for every symbol "
                                "(+ the 5m bar every 5th wave, the 1h bar every 60th), one publish, journal -> "
                                "note(), then process() timed",
                                opt.waves, opt.warm_waves));

  const OtherLoad load({getpid()});
  EvalBench bench(opt, *writer, *reader, market);
  struct Row {
    std::string name;
    VariantResult r;
  };
  std::vector<Row> rows;
  rows.push_back({"real mix", bench.run_engine(real)});
  if (!opt.skip_constant) rows.push_back({"constant rules", bench.run_engine(make_constant_traders(real))});
  std::optional<VariantResult> series;
  if (!opt.skip_series) series = bench.run_series(real);

  out.section("Engine::process() (one thread)");
  for (const Row& row : rows) {
    const VariantResult& r = row.r;
    const double evals_per_second = static_cast<double>(r.evaluations) / r.total_ns * 1e9;
    const double evals_per_wave = static_cast<double>(r.evaluations) / opt.waves;
    out.print(Result{"eval", fmt::format("process() per wave, {}", row.name), "per-wave", r.per_wave.summary(),
                     r.per_wave.ops_per_second(),
                     fmt::format("{:.0f} evaluations and {:.1f} signals per wave; first process() (warm-up) {:.0f} ms",
                                 evals_per_wave, static_cast<double>(r.signals) / opt.waves, r.warm_ms)});
    const double per_cpu_second = static_cast<double>(r.evaluations) / r.cpu_ns * 1e9;
    out.print(Result{"eval", fmt::format("per evaluation, {}", row.name), "batch/wave", r.per_eval.summary(),
                     evals_per_second,
                     fmt::format("{}; per thread CPU second {:.3g}/s", target_note(evals_per_second), per_cpu_second)});
  }
  for (const Row& row : rows)
    out.info("signals", fmt::format("{}: {} signals in the timed waves; over the whole variant (warm-up waves too) "
                                    "{} bytes of JSON, id digest {:016x} (same flags -> same digest: a check that an "
                                    "engine change kept its behaviour)",
                                    row.name, row.r.signals, row.r.bytes, row.r.digest));
  if (series) {
    const VariantResult& r = *series;
    out.print(Result{"eval", "Series::sync() per wave (indicators only)", "per-wave", r.per_wave.summary(),
                     r.per_wave.ops_per_second(),
                     fmt::format("the real mix's keys ({} on 1m, {} on 5m, {} on 1h) on every ring it reads; "
                                 "warm-up {:.0f} ms",
                                 bench.key_counts()[0], bench.key_counts()[1], bench.key_counts()[2], r.warm_ms)});
    out.print(Result{"eval", "per indicator-state update", "batch/wave", r.per_eval.summary(),
                     static_cast<double>(r.updates) / r.total_ns * 1e9,
                     fmt::format("{:.0f} key updates per wave", static_cast<double>(r.updates) / opt.waves)});
  }
  // Where the time goes, from the medians and totals above.
  const VariantResult& real_r = rows[0].r;
  const double real_ns_per_eval = real_r.total_ns / static_cast<double>(real_r.evaluations);
  out.info("result", fmt::format("{:.3g} trader-symbol evaluations/s on one core with the real mix: {} (wall time of "
                                 "the process() calls; per thread CPU second {:.3g}/s, which leaves out preemption)",
                                 1e9 / real_ns_per_eval, target_note(1e9 / real_ns_per_eval),
                                 static_cast<double>(real_r.evaluations) / real_r.cpu_ns * 1e9));
  if (series) {
    const double share = series->total_ns / real_r.total_ns;
    out.info("split", fmt::format("indicator updates (Series::sync) take {:.1f} % of the real mix's process() time "
                                  "({:.2f} of {:.2f} ms per wave, mean)",
                                  100 * share, series->total_ns / opt.waves / 1e6, real_r.total_ns / opt.waves / 1e6));
  }
  if (rows.size() > 1) {
    const VariantResult& c = rows[1].r;
    const double constant_ns = c.total_ns / static_cast<double>(c.evaluations);
    const double series_ns = series ? series->total_ns / static_cast<double>(real_r.evaluations) : 0;
    out.info("split", fmt::format("per evaluation (mean): real {:.1f} ns = engine overhead with a trivial program "
                                  "{:.1f} ns + indicator updates {:.1f} ns + reading values and running the program "
                                  "{:.1f} ns (the rest)",
                                  real_ns_per_eval, constant_ns, series_ns, real_ns_per_eval - constant_ns - series_ns));
  }
  out.info("load", "during the variants the machine was " + load.describe());
  out.info("elapsed", fmt::format("{:.1f} s", static_cast<double>(now_ns() - started) / 1e9));
  writer->shutdown();
  unlink_lock_file();
  return 0;
}


// ------------------------------------------------------------------------------------ e2e

namespace e2e {

// The processes started, for the signal handler and the end of the run.
std::vector<pid_t> g_children;
// Removed by die() unless --keep: the work directory and screenerd's segment lock file (screenerd
// removes the segment on SIGTERM, not its lock file).
std::string g_work;
std::string g_lock;

void remove_leftovers() {
  std::error_code error;
  if (!g_work.empty()) std::filesystem::remove_all(g_work, error);
  if (!g_lock.empty()) std::filesystem::remove(g_lock, error);
}

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "worker_bench: %s\n", why.c_str());
  for (const pid_t pid : g_children)
    if (pid > 0) kill(pid, SIGTERM);
  for (const pid_t pid : g_children)
    if (pid > 0) waitpid(pid, nullptr, 0);
  remove_leftovers();
  std::exit(1);
}

extern "C" void on_signal(int signo) {
  for (const pid_t pid : g_children)
    if (pid > 0) kill(pid, SIGTERM);
  _exit(128 + signo);
}

/// Starts `args` with stdout and stderr going to `log`.
/// Every thread of every process in `pids` SCHED_FIFO at `priority`; says what it did.
std::string make_fifo(const std::vector<pid_t>& pids, int priority) {
  std::size_t threads = 0;
  std::size_t refused = 0;
  int error = 0;
  for (pid_t pid : pids) {
    std::error_code ignored;
    for (const auto& task : std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid), ignored)) {
      pid_t tid = 0;
      if (!parse_number(task.path().filename().string(), tid)) continue;
      sched_param param{};
      param.sched_priority = priority;
      if (sched_setscheduler(tid, SCHED_FIFO, &param) == 0) {
        ++threads;
      } else {
        ++refused;
        error = errno;
      }
    }
  }
  if (refused > 0)
    return fmt::format("SCHED_FIFO {} for {} threads of screenerd and the workers, refused for {} ({})", priority,
                       threads, refused, std::strerror(error));
  return fmt::format("SCHED_FIFO {} for all {} threads of screenerd and the workers (--rt-pipeline)", priority, threads);
}

pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) die(fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  g_children.push_back(pid);
  return pid;
}

bool alive(pid_t pid) { return waitpid(pid, nullptr, WNOHANG) == 0; }

/// SIGTERM, then SIGKILL after `timeout_ms`; the exit status (-1: killed).
int stop(pid_t pid, int timeout_ms = 10'000) {
  kill(pid, SIGTERM);
  const std::int64_t give_up = now_ns() + std::int64_t{timeout_ms} * 1'000'000;
  int status = 0;
  for (;;) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0) return -1;
    if (now_ns() > give_up) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      status = -1;
      break;
    }
    sleep_ns(10'000'000);
  }
  std::erase(g_children, pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) die("cannot write " + path);
}

/// The text after `key` up to the next `"` or `\` (string values), or the digits (numbers).
std::string_view field_after(std::string_view text, std::string_view key, std::size_t from = 0) {
  const std::size_t at = text.find(key, from);
  if (at == std::string_view::npos) return {};
  const std::size_t begin = at + key.size();
  std::size_t end = begin;
  while (end < text.size() && text[end] != '"' && text[end] != '\\' && text[end] != ',' && text[end] != '}') ++end;
  return text.substr(begin, end - begin);
}

std::int64_t to_int(std::string_view text) {
  std::int64_t v = -1;
  if (!parse_number(text, v)) return -1;
  return v;
}

/// A bar of one stream: the key signals and closed frames are matched on.
std::string bar_key(std::string_view symbol, std::string_view interval, std::int64_t open_ms) {
  return fmt::format("{}|{}|{}", symbol, interval, open_ms);
}

struct SeenSignal {
  std::int64_t seen_ns;  // CLOCK_REALTIME when the bench read the line
  std::string symbol;
  std::string interval;
  std::int64_t open_ms;
  std::int64_t ts_ms;    // the signal's "ts": the worker's system clock at emit, in ms
  bool late;
};

/// Follows the JSONL file with inotify; every complete line gets the time of the wake-up that
/// found it.
class Tail {
 public:
  explicit Tail(const std::string& path) : path_(path) {}
  ~Tail() {
    if (fd_ >= 0) close(fd_);
    if (inotify_ >= 0) close(inotify_);
  }
  Tail(const Tail&) = delete;
  Tail& operator=(const Tail&) = delete;

  bool open_file() {
    if (fd_ >= 0) return true;
    fd_ = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return false;
    inotify_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotify_ < 0 || inotify_add_watch(inotify_, path_.c_str(), IN_MODIFY) < 0)
      die(fmt::format("inotify on {}: {}", path_, std::strerror(errno)));
    drain(realtime_ns());
    return true;
  }

  /// Waits up to `timeout_ms` for the file to grow and reads what was added.
  void poll_once(int timeout_ms) {
    if (fd_ < 0) {
      if (!open_file()) sleep_ns(std::int64_t{timeout_ms} * 1'000'000);
      return;
    }
    pollfd p{inotify_, POLLIN, 0};
    const int n = ::poll(&p, 1, timeout_ms);
    const auto stamp = static_cast<std::int64_t>(realtime_ns());
    if (n <= 0) return;
    char events[4096];
    while (read(inotify_, events, sizeof events) > 0) {
    }
    drain(stamp);
  }

  std::vector<SeenSignal>& signals() { return signals_; }
  [[nodiscard]] std::uint64_t wakes() const noexcept { return wakes_; }

 private:
  void drain(std::int64_t stamp) {
    ++wakes_;
    char buffer[1 << 16];
    for (;;) {
      const ssize_t n = read(fd_, buffer, sizeof buffer);
      if (n <= 0) break;
      partial_.append(buffer, static_cast<std::size_t>(n));
    }
    std::size_t start = 0;
    for (std::size_t nl = partial_.find('\n'); nl != std::string::npos; nl = partial_.find('\n', start)) {
      const std::string_view line(partial_.data() + start, nl - start);
      start = nl + 1;
      SeenSignal s;
      s.seen_ns = stamp;
      s.symbol = std::string(field_after(line, "\"symbol\":\""));
      s.interval = std::string(field_after(line, "\"interval\":\""));
      s.open_ms = to_int(field_after(line, "\"bar_open_time\":"));
      s.ts_ms = to_int(field_after(line, "\"ts\":"));
      s.late = field_after(line, "\"late\":") == "true";
      if (!s.symbol.empty() && s.open_ms > 0) signals_.push_back(std::move(s));
    }
    partial_.erase(0, start);
  }

  std::string path_;
  int fd_ = -1;
  int inotify_ = -1;
  std::string partial_;
  std::vector<SeenSignal> signals_;
  std::uint64_t wakes_ = 0;
};

/// The bin directory of this executable.
std::string own_dir() {
  std::error_code error;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::string(".") : exe.parent_path().string();
}

/// Sum of "N of M traders are mine" over the workers' logs (their last such line each).
std::uint32_t traders_owned(const std::vector<std::string>& logs) {
  std::uint32_t total = 0;
  for (const std::string& log : logs) {
    const std::string text = read_text(log);
    const std::size_t at = text.rfind("traders are mine");
    if (at == std::string::npos) continue;
    const std::size_t colon = text.rfind(": ", at);
    if (colon == std::string::npos) continue;
    std::uint32_t mine = 0;
    std::string_view rest(text.data() + colon + 2, at - colon - 2);
    rest = rest.substr(0, rest.find(' '));
    if (parse_number(rest, mine)) total += mine;
  }
  return total;
}

struct WaveStats {
  std::int64_t first_seen = INT64_MAX;
  std::int64_t first_latency = 0;
  std::int64_t last_seen = INT64_MIN;
  std::int64_t last_latency = 0;
  std::size_t signals = 0;
};

int run(const Options& opt) {
  const std::string bin = opt.bin_dir.empty() ? own_dir() : opt.bin_dir;
  for (const char* tool : {"screenerd", "screener-worker", "screener-replay"}) {
    if (access((bin + "/" + tool).c_str(), X_OK) != 0)
      die(fmt::format("{}/{} not found (build it, or pass --bin-dir)", bin, tool));
  }
  std::string dir_template = opt.tmp + "/worker-bench-XXXXXX";
  if (mkdtemp(dir_template.data()) == nullptr) die(fmt::format("mkdtemp in {}: {}", opt.tmp, std::strerror(errno)));
  const std::string work = dir_template;
  if (!opt.keep) g_work = work;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  Reporter out(opt.json, "worker-e2e");
  const std::int64_t started = now_ns();

  // Traders.
  std::filesystem::create_directories(work + "/traders.d");
  std::filesystem::create_directories(work + "/state");
  const std::vector<TraderDef> traders = make_traders(opt.traders, opt.mix == "gated" ? opt.gate : 0.0);
  std::size_t edges = 0;
  for (const TraderDef& t : traders) {
    write_text(work + "/traders.d/" + t.name + ".toml", trader_text(t));
    edges += t.edge ? 1 : 0;
  }

  // The exchange.
  const std::string replay_log = work + "/replay.log";
  const pid_t replay = spawn({bin + "/screener-replay", "--synthetic", "--symbols", std::to_string(opt.symbols),
                              "--speed", fmt::format("x{}", opt.speed), "--intervals", "1m,5m,1h",
                              "--updates-per-bar", std::to_string(opt.updates_per_bar), "--listen", "127.0.0.1:0",
                              "--port-file", work + "/port", "--log-level", "warn"},
                             replay_log);
  std::string port;
  for (int i = 0; i < 1200 && port.empty(); ++i) {
    port = read_text(work + "/port");
    while (!port.empty() && (port.back() == '\n' || port.back() == ' ')) port.pop_back();
    if (port.empty()) {
      if (!alive(replay)) die("screener-replay exited:\n" + read_text(replay_log));
      sleep_ns(50'000'000);
    }
  }
  if (port.empty()) die("screener-replay wrote no port within 60 s");

  // The daemon.
  const std::string segment = fmt::format("screener-wbench-{}", getpid());
  g_lock = "/dev/shm/" + segment + ".lock";
  const std::string jsonl = work + "/signals.jsonl";
  const std::string record = work + "/record.jsonl";
  write_text(work + "/screener.toml",
             fmt::format("[segment]\nname = \"{0}\"\nmax_symbols = {1}\njournal_capacity = 65536\n"
                         "[market]\nintervals = [\"1m\", \"5m\", \"1h\"]\ndepth = 1440\n"
                         "[exchange]\nws_url = \"ws://127.0.0.1:{2}\"\nrest_url = \"http://127.0.0.1:{2}\"\n"
                         "[universe]\nquote_asset = \"USDT\"\ntop_n = {1}\n"
                         "[traders]\ndir = \"{3}/traders.d\"\nsocket = \"{3}/screenerd.sock\"\nstate_dir = \"{3}/state\"\n"
                         "[signals]\njsonl = \"{4}\"\nstdout = false\n",
                         segment, opt.symbols, port, work, jsonl));
  const std::string daemon_log = work + "/screenerd.log";
  const pid_t daemon = spawn({bin + "/screenerd", "--config", work + "/screener.toml", "--record", record}, daemon_log);
  std::vector<pid_t> workers;
  std::vector<std::string> worker_logs;
  for (std::uint32_t i = 0; i < opt.workers; ++i) {
    worker_logs.push_back(fmt::format("{}/worker{}.log", work, i));
    workers.push_back(spawn({bin + "/screener-worker", "--segment", segment, "--index", std::to_string(i)},
                            worker_logs.back()));
  }
  out.info("build", build_description());
  out.info("cpus", fmt::format("{} online; nothing pinned", sysconf(_SC_NPROCESSORS_ONLN)));
  out.info("setup", fmt::format("screener-replay --synthetic --symbols {} --speed x{} --intervals 1m,5m,1h "
                                "--updates-per-bar {}; screenerd --record (segment 1m,5m,1h x 1440); {} "
                                "screener-worker; work dir {}",
                                opt.symbols, opt.speed, opt.updates_per_bar, opt.workers, work));
  out.info("traders",
           opt.mix == "gated"
               ? fmt::format("{} watching all symbols: the eval mix without its edge templates, each rule and-ed with "
                             "close > open * x or close < open * (2 - x), x in {:.4f}..{:.4f} (--mix gated --gate {})",
                             traders.size(), opt.gate, opt.gate + 0.002, opt.gate)
               : fmt::format("{} watching all symbols: the eval mix as is, {} edge (close vs open) traders without "
                             "cooldown, the others with a 30-bar cooldown (--mix realistic)",
                             traders.size(), edges));

  // Ready: every symbol's 1m ring complete, and every trader owned by a worker.
  auto check_alive = [&] {
    if (!alive(daemon)) die("screenerd exited:\n" + read_text(daemon_log));
    if (!alive(replay)) die("screener-replay exited:\n" + read_text(replay_log));
    for (std::size_t i = 0; i < workers.size(); ++i)
      if (!alive(workers[i])) die(fmt::format("worker {} exited:\n{}", i, read_text(worker_logs[i])));
  };
  auto reader = SegmentReader::attach(ReaderOptions{.name = segment}, std::chrono::milliseconds(30'000));
  if (!reader) die("cannot attach to screenerd's segment: " + reader.error().message);
  const std::int64_t give_up = now_ns() + 600'000'000'000;
  for (;;) {
    check_alive();
    std::uint32_t complete = 0;
    for (std::uint32_t s = 0; s < reader->view().max_symbols(); ++s) {
      const auto state = ring_read_state(reader->view(), reader->view().ring_index(s, 0));
      complete += state && state->complete() ? 1 : 0;
    }
    if (complete >= opt.symbols && traders_owned(worker_logs) == opt.traders) break;
    if (now_ns() > give_up) die(fmt::format("not ready after 600 s: {} of {} 1m rings complete", complete, opt.symbols));
    sleep_ns(200'000'000);
  }
  const double ready_s = static_cast<double>(now_ns() - started) / 1e9;

  // The follower wakes on every write of the JSONL file. As SCHED_FIFO it runs at once instead of
  // queueing behind the processes it measures (2 vCPUs, 5 busy processes): its own delay would
  // otherwise be counted in the latency. Only this process; everything measured stays SCHED_OTHER.
  std::string observer = "SCHED_OTHER (--no-rt)";
  if (opt.rt_observer) {
    sched_param param{};
    param.sched_priority = 10;
    observer = sched_setscheduler(0, SCHED_FIFO, &param) == 0
                   ? "SCHED_FIFO 10"
                   : fmt::format("SCHED_OTHER (SCHED_FIFO refused: {})", std::strerror(errno));
  }
  out.info("observer", "the bench's JSONL follower (inotify) runs " + observer);
  if (opt.rt_pipeline) {
    std::vector<pid_t> pipeline = workers;
    pipeline.push_back(daemon);
    out.info("pipeline", make_fifo(pipeline, 5));
  } else {
    out.info("pipeline", "screenerd and the workers run SCHED_OTHER (--rt-pipeline makes them SCHED_FIFO)");
  }

  // Settle (the workers warm their series on the first wake after the table), then measure.
  Tail tail(jsonl);
  const std::int64_t wave_ns = 60'000'000'000 / opt.speed;
  const std::int64_t settle_until = now_ns() + std::max<std::int64_t>(3'000'000'000, 3 * wave_ns);
  while (now_ns() < settle_until) tail.poll_once(50);
  std::vector<pid_t> ours{replay, daemon, getpid()};
  ours.insert(ours.end(), workers.begin(), workers.end());
  const OtherLoad load(ours);
  const CpuTimes machine_before = machine_cpu();
  std::vector<std::uint64_t> cpu_before;
  for (const pid_t pid : ours) cpu_before.push_back(process_cpu(pid));
  const auto window_start = static_cast<std::int64_t>(realtime_ns());
  const std::int64_t window_end = window_start + std::int64_t{opt.seconds} * 1'000'000'000;
  std::int64_t last_check = now_ns();
  std::string load_text;
  std::string per_process;
  while (static_cast<std::int64_t>(realtime_ns()) < window_end + std::max<std::int64_t>(2'000'000'000, 2 * wave_ns)) {
    tail.poll_once(50);
    if (load_text.empty() && static_cast<std::int64_t>(realtime_ns()) >= window_end) {
      load_text = load.describe();
      // Each of ours, as a share of one CPU.
      const double total = static_cast<double>(machine_cpu().total - machine_before.total) /
                           static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN));
      auto share = [&](std::size_t i) {
        return total > 0 ? 100.0 * static_cast<double>(process_cpu(ours[i]) - cpu_before[i]) / total : 0.0;
      };
      double worker_share = 0;
      for (std::size_t i = 3; i < ours.size(); ++i) worker_share += share(i);
      per_process = fmt::format("screener-replay {:.1f} %, screenerd {:.1f} %, workers {:.1f} % (together), this bench "
                                "{:.1f} % of one CPU",
                                share(0), share(1), worker_share, share(2));
    }
    if (now_ns() - last_check > 1'000'000'000) {
      check_alive();
      last_check = now_ns();
    }
  }
  {
    sched_param param{};
    (void)sched_setscheduler(0, SCHED_OTHER, &param);  // the parsing below is no business of SCHED_FIFO
  }
  for (std::size_t i = 0; i < workers.size(); ++i) stop(workers[i]);
  const int daemon_status = stop(daemon);
  stop(replay);
  if (daemon_status != 0) out.info("warning", fmt::format("screenerd exited with {}", daemon_status));

  // The closed frames: (symbol, interval, open time) -> receive time.
  std::unordered_map<std::string, std::int64_t> closed;
  std::map<std::pair<std::string, std::int64_t>, std::pair<std::int64_t, std::int64_t>> bursts;  // first, last recv
  std::size_t frames = 0;
  {
    std::ifstream in(record);
    std::string line;
    while (std::getline(in, line)) {
      ++frames;
      if (line.find("\\\"x\\\":true") == std::string::npos) continue;
      const std::int64_t recv = to_int(field_after(line, "{\"recv_ns\":"));
      const std::size_t k = line.find("\\\"k\\\":{");
      if (k == std::string::npos || recv < 0) continue;
      const std::string_view symbol = field_after(line, "\\\"s\\\":\\\"", k);
      const std::string_view interval = field_after(line, "\\\"i\\\":\\\"", k);
      const std::int64_t open_ms = to_int(field_after(line, "\\\"t\\\":", k));
      closed.emplace(bar_key(symbol, interval, open_ms), recv);
      auto [it, inserted] = bursts.try_emplace({std::string(interval), open_ms}, recv, recv);
      if (!inserted) {
        it->second.first = std::min(it->second.first, recv);
        it->second.second = std::max(it->second.second, recv);
      }
    }
  }

  // Match.
  Samples all;
  double to_emit_sum = 0;  // ns, from the signals' whole-ms "ts"
  std::map<std::pair<std::string, std::int64_t>, WaveStats> waves;
  std::size_t unmatched = 0;
  std::size_t late = 0;
  std::size_t in_window = 0;
  for (const SeenSignal& s : tail.signals()) {
    if (s.late) {
      ++late;
      continue;
    }
    const auto it = closed.find(bar_key(s.symbol, s.interval, s.open_ms));
    if (it == closed.end()) {
      ++unmatched;
      continue;
    }
    if (it->second < window_start || it->second >= window_end) continue;
    ++in_window;
    const std::int64_t latency = s.seen_ns - it->second;
    all.add(static_cast<double>(latency));
    // "ts" is the worker's clock at emit in whole ms, truncated: on average 0.5 ms before the emit.
    to_emit_sum += static_cast<double>(s.ts_ms * 1'000'000 + 500'000 - it->second);
    WaveStats& w = waves[{s.interval, s.open_ms}];
    ++w.signals;
    if (s.seen_ns < w.first_seen) {
      w.first_seen = s.seen_ns;
      w.first_latency = latency;
    }
    if (s.seen_ns >= w.last_seen) {
      w.last_seen = s.seen_ns;
      w.last_latency = latency;
    }
  }
  Samples first;
  Samples last;
  Samples span;
  Samples burst;
  Samples per_wave;
  for (const auto& [key, w] : waves) {
    first.add(static_cast<double>(w.first_latency));
    last.add(static_cast<double>(w.last_latency));
    per_wave.add(static_cast<double>(w.signals));
    const auto b = bursts.find(key);
    if (b != bursts.end()) {
      span.add(static_cast<double>(w.last_seen - b->second.first));
      burst.add(static_cast<double>(b->second.second - b->second.first));
    }
  }

  out.info("run", fmt::format("ready after {:.1f} s; measured {} s of wall time ({} waves of 1m closes at x{}); "
                              "{} frames recorded, {} closed; {} signal lines read in {} inotify wakes",
                              ready_s, opt.seconds, opt.seconds * opt.speed / 60, opt.speed, frames, closed.size(),
                              tail.signals().size(), tail.wakes()));
  out.info("matched", fmt::format("{} signals on bars closed in the window ({} waves, median {:.0f} signals per "
                                  "wave); outside the window or unmatched: {} unmatched, {} late",
                                  in_window, waves.size(), per_wave.summary().median, unmatched, late));
  out.info("load", "during the window the machine was " + load_text +
                       " (this run: screener-replay, screenerd, the workers, this bench); " + per_process);
  if (in_window > 0) {
    const double to_emit = to_emit_sum / static_cast<double>(in_window);
    out.info("split", fmt::format("mean {:.0f} us = frame received -> worker emit {:.0f} us + emit -> line seen {:.0f} us "
                                  "(split by the signals' \"ts\", the worker's clock in whole ms, + 0.5 ms: means only)",
                                  all.summary().mean / 1e3, to_emit / 1e3, (all.summary().mean - to_emit) / 1e3));
  }
  out.section("Tick to signal (closed kline frame received by screenerd -> signal line in the JSONL file)");
  auto note = [](const Samples& s, const char* what) {
    const double p99 = s.summary().p99;
    return fmt::format("{}; p99 {} the 1 ms target", what, p99 < kTargetLatencyP99Ns ? "meets" : "misses");
  };
  out.print(Result{"e2e", "every signal", "per-signal", all.summary(), 0,
                   note(all, "each signal against the frame that closed its own symbol's bar")});
  out.print(Result{"e2e", "first signal of each wave", "per-wave", first.summary(), 0,
                   note(first, "the earliest signal line of a bar open time, against its symbol's frame")});
  out.print(Result{"e2e", "last signal of each wave", "per-wave", last.summary(), 0,
                   note(last, "the latest signal line of a bar open time, against its symbol's frame")});
  out.print(Result{"e2e", "first closed frame -> last signal of a wave", "per-wave", span.summary(), 0,
                   "the whole wave: first x=true frame of the open time received -> its last signal line"});
  out.print(Result{"e2e", "closed-frame burst (first -> last frame)", "per-wave", burst.summary(), 0,
                   "how long screenerd takes to receive one open time's x=true frames of all symbols"});
  out.info("elapsed", fmt::format("{:.1f} s", static_cast<double>(now_ns() - started) / 1e9));
  if (opt.keep) out.info("kept", work);
  remove_leftovers();
  return in_window > 0 ? 0 : 1;
}

}  // namespace e2e

}  // namespace

int main(int argc, char** argv) {
  set_program_name("worker_bench");
  const auto parsed = parse_options(argc, argv);
  if (!parsed) return 2;
  if (parsed->mode == "e2e") return e2e::run(*parsed);
  return run_eval(*parsed);
}
