// SPDX-License-Identifier: Apache-2.0
// screenerd against screener-replay, both as real processes on loopback: the segment must end up
// holding exactly the source's bars in every ring — every closed bar once, with the source's
// values — whatever the exchange does on the way (dropped connections, lost close frames,
// malformed frames, rate limits, TLS); and its /metrics page shows how long frames took to be
// published.
//
// The source is a slice of real Binance 1m klines from ../shared/data; the expected bars of the
// higher intervals are aggregated here, independently of the replay's own aggregation.

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/interval.hpp"
#include "common/kline_csv.hpp"
#include "common/kline_ring.hpp"
#include "common/segment_geometry.hpp"
#include "common/segment_reader.hpp"
#include "tests/segment_test_support.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_certificates.hpp"
#include "tests/support/tiny_http.hpp"

using namespace screener;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string> kSymbols{"BTCUSDT", "WINUSDT", "BTGUSDT", "ETHUSDT"};  // WIN: 1e-3 prices; BTG: empty bars
const std::vector<Interval> kIntervals{Interval::m1, Interval::m5, Interval::m15, Interval::h1};
constexpr std::size_t kSourceBars = 360;   // 6 hours of 1m bars per symbol
constexpr std::size_t kHistoryBars = 180;  // served over REST; the rest is streamed

using Source = std::map<std::string, std::vector<shm::Bar>>;

/// The slice of the real 94-pair file this suite replays, loaded once.
const Source& source_bars() {
  static const Source source = [] {
    auto series = load_kline_csv(std::string(SCREENER_SHARED_DATA) +
                                 "/freqtrade_selskas_2021/binance_spot_1m_94pairs_2021-05-01_to_2021-05-07.csv.gz");
    if (!series) throw std::runtime_error(series.error());
    Source slice;
    for (const auto& s : *series) {
      if (std::find(kSymbols.begin(), kSymbols.end(), s.symbol()) == kSymbols.end()) continue;
      const auto bars = s.bars();
      slice[s.symbol()] = std::vector<shm::Bar>(bars.begin(), bars.begin() + kSourceBars);
    }
    if (slice.size() != kSymbols.size()) throw std::runtime_error("source symbols missing from the shared data");
    return slice;
  }();
  return source;
}

/// Writes the slice as a 7-column CSV, values printed so that they read back as the same doubles.
void write_source_csv(const std::string& path) {
  std::ofstream out(path);
  out << "symbol,open_time_ms,open,high,low,close,volume\n";
  for (std::size_t i = 0; i < kSourceBars; ++i)
    for (const auto& [symbol, bars] : source_bars())
      out << fmt::format("{},{},{},{},{},{},{}\n", symbol, bars[i].open_time_ms, bars[i].open, bars[i].high,
                         bars[i].low, bars[i].close, bars[i].volume);
}

/// Binance's aggregation of 1m bars into `interval` bars: first open, max high, min low, last
/// close, summed volumes, in time order.
std::vector<shm::Bar> aggregate(const std::vector<shm::Bar>& minutes, Interval interval) {
  std::vector<shm::Bar> out;
  for (const auto& bar : minutes) {
    const std::int64_t open = bar_open_time(interval, bar.open_time_ms);
    if (out.empty() || out.back().open_time_ms != open) {
      shm::Bar first = bar;
      first.open_time_ms = open;
      out.push_back(first);
      continue;
    }
    shm::Bar& agg = out.back();
    agg.high = std::max(agg.high, bar.high);
    agg.low = std::min(agg.low, bar.low);
    agg.close = bar.close;
    agg.volume += bar.volume;
    agg.quote_volume += bar.quote_volume;
    agg.trades += bar.trades;
    agg.taker_buy_base_volume += bar.taker_buy_base_volume;
    agg.taker_buy_quote_volume += bar.taker_buy_quote_volume;
  }
  return out;
}

std::string describe(const shm::Bar& b) {
  return fmt::format("t={} o={} h={} l={} c={} v={} q={} n={} V={} Q={}", b.open_time_ms, b.open, b.high, b.low,
                     b.close, b.volume, b.quote_volume, b.trades, b.taker_buy_base_volume, b.taker_buy_quote_volume);
}

struct Setup {
  std::string replay_flags{};     ///< extra screener-replay flags
  bool tls = false;
  bool trust_ca = true;
  std::string record_file{};      ///< screenerd --record
  int watchdog_seconds = 30;      ///< screenerd's silence limit per connection
  int refresh_seconds = 0;        ///< screenerd's exchangeInfo refresh ([universe]); 0: its default
  bool metrics = false;           ///< [metrics] on a port the kernel picks (metrics_port() reads it)
};

class Exchange {
 public:
  explicit Exchange(const Setup& setup) {
    write_source_csv(dir.file("source.csv"));
    std::vector<std::string> argv{SCREENER_BIN_DIR "/screener-replay", "--csv", dir.file("source.csv"),
                                  "--intervals", "1m,5m,15m,1h", "--live-from-bars", std::to_string(kHistoryBars),
                                  "--updates-per-bar", "3", "--speed", "max", "--listen", "127.0.0.1:0",
                                  "--port-file", dir.file("port"), "--ping-interval-ms", "1000"};
    if (setup.tls) {
      const auto certificates = test::make_test_certificates(dir.file(""));
      argv.insert(argv.end(), {"--tls-cert", certificates.server_pem, "--tls-key", certificates.server_key});
    }
    for (std::size_t start = 0; start < setup.replay_flags.size();) {
      const std::size_t space = std::min(setup.replay_flags.find(' ', start), setup.replay_flags.size());
      if (space > start) argv.push_back(setup.replay_flags.substr(start, space - start));
      start = space + 1;
    }
    replay.emplace(argv, dir.file("replay.log"));
    REQUIRE(test::eventually([&] { return std::ifstream(dir.file("port")).good(); }, 10s));
    std::ifstream(dir.file("port")) >> port;
    REQUIRE(port > 0);
  }

  void start_daemon(const Setup& setup) {
    const char* ws = setup.tls ? "wss" : "ws";
    const char* http = setup.tls ? "https" : "http";
    std::string symbols;
    for (const auto& s : kSymbols) symbols += fmt::format("{}\"{}\"", symbols.empty() ? "" : ", ", s);
    std::ofstream(dir.file("screener.toml")) << fmt::format(R"([segment]
name = "{}"
max_symbols = 8
journal_capacity = 4096
[market]
intervals = ["1m", "5m", "15m", "1h"]
depth = 1440
[exchange]
ws_url = "{}://127.0.0.1:{}"
rest_url = "{}://127.0.0.1:{}"
ca_file = "{}"
[universe]
symbols = [{}]
{}[ingest]
reconnect_min_ms = 50
reconnect_max_ms = 400
watchdog_seconds = {}
{})",
                                                            segment.str(), ws, port, http, port,
                                                            setup.tls && setup.trust_ca ? dir.file("ca.pem") : "",
                                                            symbols,
                                                            setup.refresh_seconds > 0
                                                                ? fmt::format("refresh_seconds = {}\n", setup.refresh_seconds)
                                                                : std::string(),
                                                            setup.watchdog_seconds,
                                                            setup.metrics ? "[metrics]\nlisten = \"127.0.0.1:0\"\n" : "");
    std::vector<std::string> argv{SCREENER_BIN_DIR "/screenerd", "--config", dir.file("screener.toml")};
    if (!setup.record_file.empty()) argv.insert(argv.end(), {"--record", setup.record_file});
    daemon.emplace(argv, dir.file("daemon.log"));
  }

  /// Waits until every ring holds exactly the source's bars (and, unless a fault may have cut
  /// the stream after the market's end, is marked complete).
  /// `settled_before_ms`: compare only bars that closed that long before the source's end. A
  /// fault that hits the market's very last frames leaves nothing later to reveal it, as a live
  /// exchange always would.
  void expect_exact_rings(bool require_complete = true, std::int64_t settled_before_ms = 0) {
    std::optional<shm::SegmentReader> reader;
    REQUIRE(test::eventually(
        [&] {
          auto attached = shm::SegmentReader::open(shm::ReaderOptions{segment.str()});
          if (attached) reader.emplace(std::move(*attached));
          return reader.has_value();
        },
        10s));
    const shm::SegmentView& view = reader->view();
    auto slot_of = [&](const std::string& symbol) -> std::optional<std::uint32_t> {
      for (std::uint32_t s = 0; s < view.max_symbols(); ++s) {
        const auto info = shm::seqlock_read(&view.symbol_slot(s)->info);
        if (info && std::string_view(info->symbol.data()) == symbol) return s;
      }
      return std::nullopt;
    };
    for (const auto& [symbol, minutes] : source_bars()) {
      for (std::size_t i = 0; i < kIntervals.size(); ++i) {
        const std::int64_t source_end = next_bar_open_time(Interval::m1, minutes.back().open_time_ms);
        auto expected = aggregate(minutes, kIntervals[i]);
        std::erase_if(expected, [&](const shm::Bar& bar) {
          return next_bar_open_time(kIntervals[i], bar.open_time_ms) > source_end - settled_before_ms;
        });
        INFO(symbol << " " << interval_name(kIntervals[i]));
        std::vector<shm::Bar> stored(view.ring_capacity());
        std::size_t count = 0;
        bool complete = false;
        // Bounded poll until the ring holds exactly the expected bars; a fault may first leave it
        // short (a gap being filled) or stale (a reconnect in progress).
        const bool exact = test::eventually(
            [&] {
              const auto slot = slot_of(symbol);
              if (!slot) return false;
              const std::uint32_t ring = view.ring_index(*slot, static_cast<std::uint32_t>(i));
              const auto state = shm::ring_read_state(view, ring);
              const auto copied = shm::ring_read_closed(view, ring, stored);
              if (!state || !copied) return false;
              count = *copied;
              complete = state->complete();
              while (count > expected.size()) --count;  // later bars are outside the comparison
              return count == expected.size() &&
                     std::memcmp(stored.data(), expected.data(), count * sizeof(shm::Bar)) == 0;
            },
            60s);
        if (!exact) {
          std::string first_difference = "none in the stored prefix";
          for (std::size_t k = 0; k < std::min(count, expected.size()); ++k) {
            if (std::memcmp(&stored[k], &expected[k], sizeof(shm::Bar)) != 0) {
              first_difference = fmt::format("bar {}:\n stored   {}\n expected {}", k, describe(stored[k]),
                                             describe(expected[k]));
              break;
            }
          }
          FAIL_CHECK("ring differs from the source: " << count << " bars stored, " << expected.size()
                                                      << " expected; first difference: " << first_difference
                                                      << "\n--- daemon log (tail):\n" << tail(daemon->log(), 4000));
          continue;
        }
        CHECK(count == expected.size());
        if (require_complete) CHECK(complete);
      }
    }
  }

  /// The port screenerd's metrics endpoint bound, from its log line; 0 until it is there.
  [[nodiscard]] int metrics_port() const {
    constexpr std::string_view kLine = "metrics on http://127.0.0.1:";
    const std::string log = daemon->log();
    const auto at = log.find(kLine);
    if (at == std::string::npos) return 0;
    return std::atoi(log.c_str() + at + kLine.size());
  }

  static std::string tail(const std::string& text, std::size_t bytes) {
    return text.size() <= bytes ? text : text.substr(text.size() - bytes);
  }

  test::TempDir dir;
  test::ScopedSegmentName segment;
  std::optional<test::ChildProcess> replay;
  std::optional<test::ChildProcess> daemon;
  int port = 0;

};

}  // namespace

TEST_CASE("DaemonHoldsExactlyTheSourceBarsInEveryRing", "[e2e]") {
  const Setup setup{};
  Exchange exchange(setup);
  exchange.start_daemon(setup);
  exchange.expect_exact_rings();

  // The operator's view prints the same values, round-trip exact.
  test::ChildProcess ctl({SCREENER_BIN_DIR "/screenerctl", "klines", "ETHUSDT", "1h", "--segment",
                          exchange.segment.str()},
                         exchange.dir.file("ctl.log"));
  REQUIRE(test::eventually([&] { return !ctl.running(); }, 10s));
  std::istringstream csv(ctl.log());
  std::string line;
  std::getline(csv, line);
  CHECK(line == "open_time,open,high,low,close,volume,quote_volume,trades,taker_buy_base,taker_buy_quote,closed");
  const auto hours = aggregate(source_bars().at("ETHUSDT"), Interval::h1);
  for (const auto& bar : hours) {
    REQUIRE(std::getline(csv, line));
    CHECK(line == fmt::format("{},{},{},{},{},{},{},{},{},{},true", bar.open_time_ms, bar.open, bar.high, bar.low,
                              bar.close, bar.volume, bar.quote_volume, bar.trades, bar.taker_buy_base_volume,
                              bar.taker_buy_quote_volume));
  }
}

TEST_CASE("MetricsScrapeCountsFramesFromArrivalToPublish", "[e2e][metrics]") {
  const Setup setup{.metrics = true};
  Exchange exchange(setup);
  exchange.start_daemon(setup);
  REQUIRE(test::eventually([&] { return exchange.metrics_port() > 0; }, 10s));
  const auto port = static_cast<std::uint16_t>(exchange.metrics_port());

  // The histogram is there from the start, and counts once frames flow.
  std::string page;
  const auto published_frames = [&]() -> unsigned long long {
    try {
      page = test::simple_request(port, "GET", "/metrics").body;
    } catch (const std::runtime_error&) {
      return 0;
    }
    constexpr std::string_view kCount = "\nscreener_frame_to_publish_seconds_count ";
    const auto at = page.find(kCount);
    return at == std::string::npos ? 0ULL : std::stoull(page.substr(at + kCount.size()));
  };
  const bool counted = test::eventually([&] { return published_frames() > 0; }, 30s);
  INFO("--- /metrics:\n" << page << "\n--- daemon log (tail):\n" << Exchange::tail(exchange.daemon->log(), 4000));
  REQUIRE(counted);
  CHECK_THAT(page, Catch::Contains("# TYPE screener_frame_to_publish_seconds histogram\n"));
  CHECK_THAT(page, Catch::Contains("screener_frame_to_publish_seconds_bucket{le=\"1e-05\"} "));
  CHECK_THAT(page, Catch::Contains("screener_frame_to_publish_seconds_bucket{le=\"+Inf\"} "));
}

TEST_CASE("DroppedConnectionsAndLostCloseFramesAreBackfilledWithNothingMissingOrDoubled", "[e2e]") {
  const Setup setup{.replay_flags = "--drop-after-frames 400 --skip-closed 6"};
  Exchange exchange(setup);
  exchange.start_daemon(setup);
  // A drop after the market's last frame leaves a connection with nothing to continue its rings.
  exchange.expect_exact_rings(false);
  const std::string log = exchange.daemon->log();
  CHECK_THAT(log, Catch::Contains("lost"));         // the connection drops were noticed
  CHECK_THAT(log, Catch::Contains("reconnecting"));
}

TEST_CASE("MalformedFramesAreDroppedAndNeverReachTheSegment", "[e2e]") {
  const Setup setup{.replay_flags = "--malformed-every 50"};
  Exchange exchange(setup);
  exchange.start_daemon(setup);
  exchange.expect_exact_rings(false, 3'600'000);
  CHECK_THAT(exchange.daemon->log(), Catch::Contains("dropped malformed frame"));
}

TEST_CASE("RateLimitAnswersAreHonouredAndTheBackfillStillCompletes", "[e2e]") {
  const Setup setup{.replay_flags = "--rest-429 2"};
  Exchange exchange(setup);
  exchange.start_daemon(setup);
  exchange.expect_exact_rings();
  CHECK_THAT(exchange.daemon->log(), Catch::Contains("429"));
}

TEST_CASE("TlsWithTheConfiguredCaSucceeds", "[e2e][tls]") {
  const Setup setup{.tls = true, .trust_ca = true};
  Exchange exchange(setup);
  exchange.start_daemon(setup);
  exchange.expect_exact_rings();
}

TEST_CASE("TlsWithoutTrustingTheServersCaFailsWithAClearError", "[e2e][tls]") {
  const Setup setup{.tls = true, .trust_ca = false};
  Exchange exchange(setup);
  exchange.start_daemon(setup);
  CHECK(test::eventually([&] { return exchange.daemon->log().find("not trusted") != std::string::npos; }, 15s));
  INFO(exchange.daemon->log());
  CHECK_THAT(exchange.daemon->log(), Catch::Contains("certificate verify failed"));
}

TEST_CASE("ServerShutdownRotatesTheConnectionMakeBeforeBreakWithoutLosingUpdates", "[e2e]") {
  const Setup setup{.replay_flags = "--server-shutdown-after-frames 300"};
  Exchange exchange(setup);
  exchange.start_daemon(setup);
  exchange.expect_exact_rings(false);
  const std::string log = exchange.daemon->log();
  CHECK_THAT(log, Catch::Contains("serverShutdown"));
  CHECK_THAT(log, Catch::Contains("replacement live, old connection closed"));
  // The replacement took over before the old connection went: no gap had to be filled.
  CHECK_THAT(log, !Catch::Contains("lost:"));
}

TEST_CASE("SilentConnectionIsClosedByTheWatchdogAndItsGapBackfilled", "[e2e]") {
  const Setup setup{.replay_flags = "--stall-after-frames 6000 --stall-ms 6000", .watchdog_seconds = 2};
  Exchange exchange(setup);
  exchange.start_daemon(setup);
  exchange.expect_exact_rings(false);
  CHECK_THAT(exchange.daemon->log(), Catch::Contains("watchdog: nothing received"));
}

TEST_CASE("RecordWritesEveryReceivedFrameAsJsonlThatReplayCanPlayBack", "[e2e]") {
  test::TempDir records;
  const Setup setup{.record_file = records.file("frames.jsonl")};
  Exchange exchange(setup);
  exchange.start_daemon(setup);
  exchange.expect_exact_rings();
  REQUIRE(exchange.daemon->stop() == 0);
  REQUIRE(exchange.replay->stop().has_value());

  // Every frame the exchange sent is one line: {"recv_ns":N,"conn":N,"frame":"..."}.
  std::uint64_t sent = 0;
  std::istringstream replay_log(exchange.replay->log());
  for (std::string line; std::getline(replay_log, line);) {
    const auto at = line.find(" frames sent)");
    if (at == std::string::npos) continue;
    const auto open = line.rfind('(', at);
    sent += std::stoull(line.substr(open + 1, at - open - 1));
  }
  std::ifstream file(setup.record_file);
  std::uint64_t lines = 0;
  std::uint64_t klines = 0;
  for (std::string line; std::getline(file, line); ++lines) {
    INFO(line.substr(0, 200));
    REQUIRE(line.starts_with("{\"recv_ns\":"));
    REQUIRE(line.find(",\"conn\":") != std::string::npos);
    REQUIRE(line.find(",\"frame\":\"") != std::string::npos);
    REQUIRE(line.ends_with("\"}"));
    if (line.find("@kline_") != std::string::npos) ++klines;
  }
  CHECK(sent > 0);
  CHECK(lines == sent);
  CHECK(klines > 0);

  // screener-replay accepts the recording as a capture source and serves its symbols.
  test::ChildProcess playback({SCREENER_BIN_DIR "/screener-replay", "--capture", setup.record_file, "--listen",
                               "127.0.0.1:0", "--port-file", records.file("port")},
                              records.file("playback.log"));
  CHECK(test::eventually([&] { return std::ifstream(records.file("port")).good(); }, 10s));
  INFO(playback.log());
  CHECK(playback.running());
}

TEST_CASE("SymbolThatStopsTradingIsRetiredAndFollowedAgainWhenItTrades", "[e2e][universe]") {
  // The replay's clock starts at the daemon's first subscription, after its first exchangeInfo:
  // WINUSDT is in BREAK from 2 s to 24 s, which the daemon's refreshes at ~10 s and ~20 s see
  // (either suffices, so a slow machine has margin), and trading again at its refresh at ~30 s.
  const Setup setup{.replay_flags = "--status-after-ms WINUSDT:BREAK:2000 --status-after-ms WINUSDT:TRADING:24000",
                    .refresh_seconds = 10};
  Exchange exchange(setup);
  exchange.start_daemon(setup);
  std::optional<shm::SegmentReader> reader;
  REQUIRE(test::eventually(
      [&] {
        auto attached = shm::SegmentReader::open(shm::ReaderOptions{exchange.segment.str()});
        if (attached) reader.emplace(std::move(*attached));
        return reader.has_value();
      },
      10s));
  const shm::SegmentView& view = reader->view();
  struct Slot {
    std::uint32_t index = 0;
    shm::SlotState state = shm::SlotState::Free;
    shm::TradingStatus status = shm::TradingStatus::Unknown;
  };
  const auto slot_of = [&](const std::string& symbol) -> std::optional<Slot> {
    for (std::uint32_t s = 0; s < view.max_symbols(); ++s) {
      const auto info = shm::seqlock_read(&view.symbol_slot(s)->info);
      if (info && std::string_view(info->symbol.data()) == symbol)
        return Slot{s, static_cast<shm::SlotState>(info->slot_state), static_cast<shm::TradingStatus>(info->trading_status)};
    }
    return std::nullopt;
  };
  const auto is = [&](const std::string& symbol, shm::SlotState state, shm::TradingStatus status) {
    const auto slot = slot_of(symbol);
    return slot && slot->state == state && slot->status == status;
  };
  const auto others_active = [&] {
    for (const auto& symbol : kSymbols)
      if (symbol != "WINUSDT" && !is(symbol, shm::SlotState::Active, shm::TradingStatus::Trading)) return false;
    return true;
  };
  REQUIRE(test::eventually([&] { return is("WINUSDT", shm::SlotState::Active, shm::TradingStatus::Trading); }, 10s));
  const std::uint32_t slot = slot_of("WINUSDT")->index;

  const bool retired = test::eventually([&] { return is("WINUSDT", shm::SlotState::Retired, shm::TradingStatus::Break); }, 40s);
  INFO("--- daemon log (tail):\n" << Exchange::tail(exchange.daemon->log(), 4000) << "\n--- replay log (tail):\n"
                                   << Exchange::tail(exchange.replay->log(), 2000));
  REQUIRE(retired);
  CHECK(slot_of("WINUSDT")->index == slot);
  CHECK(others_active());
  CHECK_THAT(exchange.daemon->log(), Catch::Contains("WINUSDT is no longer trading"));
  CHECK_THAT(exchange.replay->log(), Catch::Contains("status: WINUSDT is now BREAK"));

  CHECK(test::eventually([&] { return is("WINUSDT", shm::SlotState::Active, shm::TradingStatus::Trading); }, 30s));
  CHECK(slot_of("WINUSDT")->index == slot);   // the same slot, its data kept
  CHECK(others_active());
}
