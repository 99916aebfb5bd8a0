// SPDX-License-Identifier: Apache-2.0
// The ingest logic without a network: MarketWriter's gap detection and ring completeness,
// Backfill's paging and its handling of 429/418, RestBudget's pacing, the universe pick, and
// FrameBatcher's bursts and their arrival-to-publish delays.
// A manual scheduler and a scripted REST client stand in for Asio and the exchange.

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <deque>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/interval.hpp"
#include "common/kline_ring.hpp"
#include "daemon/ingest/backfill.hpp"
#include "daemon/ingest/frame_batcher.hpp"
#include "daemon/ingest/market_writer.hpp"
#include "daemon/ingest/rest_budget.hpp"
#include "daemon/ingest/symbol_registry.hpp"
#include "daemon/ingest/universe.hpp"
#include "tests/segment_test_support.hpp"

using namespace screener;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kT0 = 1'620'000'000'000 - 1'620'000'000'000 % (5 * kMinute);  // a 5m boundary

/// Time stands still until a test advances it; tasks run when their time comes.
class ManualScheduler final : public ingest::Scheduler {
 public:
  [[nodiscard]] Clock::time_point now() const override { return now_; }
  [[nodiscard]] std::chrono::system_clock::time_point wall_now() const override { return wall_; }
  void after(std::chrono::milliseconds delay, std::function<void()> task) override {
    tasks_.emplace(now_ + delay, std::move(task));
  }
  /// Advances by `step` and runs what came due, up to 1000 tasks.
  void advance(std::chrono::milliseconds step) {
    now_ += step;
    wall_ += step;
    for (int i = 0; i < 1000 && !tasks_.empty() && tasks_.begin()->first <= now_; ++i) {
      auto task = std::move(tasks_.begin()->second);
      tasks_.erase(tasks_.begin());
      task();
    }
  }
  /// Moves the clock without running anything, as time spent inside a task would.
  void pass(std::chrono::milliseconds step) {
    now_ += step;
    wall_ += step;
  }
  void set_wall(std::chrono::system_clock::time_point wall) { wall_ = wall; }
  [[nodiscard]] std::size_t pending() const { return tasks_.size(); }

 private:
  Clock::time_point now_{};
  std::chrono::system_clock::time_point wall_{std::chrono::system_clock::time_point{} + std::chrono::hours(24 * 365 * 50)};
  std::multimap<Clock::time_point, std::function<void()>> tasks_;
};

/// Answers each GET from a script; records the targets.
class ScriptedRest final : public net::HttpClient {
 public:
  std::function<net::HttpResult(const std::string& target)> answer;
  std::vector<std::string> targets;
  std::deque<std::pair<std::string, std::function<void(net::HttpResult)>>> waiting;

  void get(std::string target, std::function<void(net::HttpResult)> done) override {
    targets.push_back(target);
    waiting.emplace_back(std::move(target), std::move(done));
  }
  void cancel_all() override { waiting.clear(); }
  [[nodiscard]] std::size_t pending() const noexcept override { return waiting.size(); }
  /// Answers everything waiting, and what those answers cause, up to `limit` requests.
  int answer_all(int limit = 100) {
    int answered = 0;
    while (!waiting.empty() && answered < limit) {
      auto [target, done] = std::move(waiting.front());
      waiting.pop_front();
      done(answer(target));
      ++answered;
    }
    return answered;
  }
};

shm::Bar bar_at(std::int64_t open_time, double close) {
  return shm::Bar{open_time, close, close + 1, close - 1, close, 10, 10 * close, 5, 4, 4 * close};
}

std::string kline_json(const shm::Bar& bar, Interval interval) {
  return fmt::format(R"([{},"{}","{}","{}","{}","{}",{},"{}",{},"{}","{}","0"])", bar.open_time_ms, bar.open,
                     bar.high, bar.low, bar.close, bar.volume, bar_close_time(interval, bar.open_time_ms),
                     bar.quote_volume, bar.trades, bar.taker_buy_base_volume, bar.taker_buy_quote_volume);
}

/// A REST exchange holding 1m bars [first, last] for every symbol; answers /api/v3/klines like
/// Binance (newest page includes the open bar `open_bar` when it is in range).
struct FakeExchange {
  std::int64_t first = kT0;
  std::int64_t open_bar = kT0 + 100 * kMinute;  ///< the bar forming now
  std::set<std::int64_t> missing;               ///< open times the exchange has no bar for

  static std::int64_t param(const std::string& target, const std::string& key) {
    const auto at = target.find("&" + key + "=");
    if (at == std::string::npos) return -1;
    return std::stoll(target.substr(at + key.size() + 2));
  }

  net::HttpResult klines(const std::string& target) const {
    const std::int64_t start = param(target, "startTime");
    const std::int64_t end = param(target, "endTime");
    const std::int64_t limit = param(target, "limit");
    std::vector<std::int64_t> times;
    for (std::int64_t t = first; t <= open_bar; t += kMinute)
      if (!missing.contains(t) && (start < 0 || t >= start) && (end < 0 || t <= end)) times.push_back(t);
    if (start >= 0) {
      if (static_cast<std::int64_t>(times.size()) > limit) times.resize(static_cast<std::size_t>(limit));
    } else if (static_cast<std::int64_t>(times.size()) > limit) {
      times.erase(times.begin(), times.end() - limit);
    }
    std::string body = "[";
    for (const auto t : times) body += (body.size() > 1 ? "," : "") + kline_json(bar_at(t, 100.0 + static_cast<double>((t - kT0) / kMinute)), Interval::m1);
    body += "]";
    net::HttpResponse response;
    response.status = 200;
    response.body = body;
    response.used_weight_1m = 2;
    return response;
  }
};

struct Fixture {
  test::ScopedSegmentName name;
  shm::SegmentWriter writer;
  ManualScheduler scheduler;
  std::shared_ptr<ScriptedRest> rest = std::make_shared<ScriptedRest>();
  ingest::RestBudget budget;
  ingest::SymbolRegistry registry;
  std::unique_ptr<ingest::Backfill> backfill;
  std::unique_ptr<ingest::MarketWriter> market;
  FakeExchange exchange;
  std::uint32_t symbol = 0;

  explicit Fixture(std::uint32_t depth = 8)
      : writer(create(name.str(), depth)), registry(writer) {
    ingest::BackfillOptions options;
    options.depth = depth;
    backfill = std::make_unique<ingest::Backfill>(scheduler, std::vector<std::shared_ptr<net::HttpClient>>{rest},
                                                  budget, registry, options);
    market = std::make_unique<ingest::MarketWriter>(writer, registry, *backfill);
    backfill->attach(*market, [] {});
    budget.set_limit(6000, 0.8);
    rest->answer = [this](const std::string& target) { return exchange.klines(target); };
    symbol = *registry.upsert(ingest::SymbolListing{"BTCUSDT", "BTC", "USDT", shm::TradingStatus::Trading, 0.01, 0.001});
  }

  static shm::SegmentWriter create(const std::string& name, std::uint32_t depth) {
    shm::WriterOptions options;
    options.name = name;
    options.geometry = test::small_geometry(4, depth, 1024);
    auto writer = shm::SegmentWriter::create(options);
    if (!writer) throw std::runtime_error(writer.error().message);
    return std::move(*writer);
  }

  void live(std::int64_t open_time, bool closed, Interval interval = Interval::m1) {
    feed::KlineUpdate update{};
    update.symbol = "BTCUSDT";
    update.interval = interval;
    update.bar = bar_at(open_time, 100.0 + static_cast<double>((open_time - kT0) / kMinute));
    update.closed = closed;
    market->apply_kline(update);
  }

  std::vector<std::int64_t> stored_open_times(std::uint32_t interval_index = 0) {
    std::vector<shm::Bar> bars(writer.view().ring_capacity());
    const auto count = shm::ring_read_closed(shm::SegmentView(writer.view().base()), writer.view().ring_index(symbol, interval_index), bars);
    std::vector<std::int64_t> times;
    for (std::size_t i = 0; i < *count; ++i) times.push_back(bars[i].open_time_ms);
    return times;
  }

  bool ring_complete(std::uint32_t interval_index = 0) {
    return shm::ring_read_state(shm::SegmentView(writer.view().base()), writer.view().ring_index(symbol, interval_index))->complete();
  }
};

std::vector<std::int64_t> minutes(std::int64_t from, std::int64_t to) {  // [from, to)
  std::vector<std::int64_t> times;
  for (std::int64_t t = from; t < to; t += kMinute) times.push_back(t);
  return times;
}

}  // namespace

TEST_CASE("InitialBackfillStoresTheNewestClosedBarsWithoutTheOpenOne", "[ingest][backfill]") {
  Fixture sut(8);
  sut.backfill->initialise(sut.symbol, 0);
  sut.rest->answer_all();
  REQUIRE(sut.rest->targets.size() == 1);
  CHECK(sut.rest->targets[0] == "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=9");
  // The open bar (kT0 + 100 min) is not history; the 8 before it are.
  CHECK(sut.stored_open_times() == minutes(kT0 + 92 * kMinute, kT0 + 100 * kMinute));
  // Complete only once the live stream is seen to continue the history.
  CHECK_FALSE(sut.ring_complete());
  sut.live(kT0 + 100 * kMinute, false);
  CHECK(sut.ring_complete());
}

TEST_CASE("InitialBackfillDeeperThanOnePageFetchesOlderPages", "[ingest][backfill]") {
  Fixture sut(1440);
  sut.exchange.first = kT0;
  sut.exchange.open_bar = kT0 + 2000 * kMinute;
  sut.backfill->initialise(sut.symbol, 0);
  sut.rest->answer_all();
  REQUIRE(sut.rest->targets.size() == 2);
  CHECK(sut.rest->targets[0] == "/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1000");
  // Page one held 999 closed bars; the second asks for the 441 before the oldest of them.
  CHECK(sut.rest->targets[1] ==
        fmt::format("/api/v3/klines?symbol=BTCUSDT&interval=1m&endTime={}&limit=441", kT0 + 1001 * kMinute - 1));
  CHECK(sut.stored_open_times() == minutes(kT0 + 560 * kMinute, kT0 + 2000 * kMinute));
}

TEST_CASE("ShortHistoryEndsTheInitialBackfillWithWhatTheExchangeHas", "[ingest][backfill]") {
  Fixture sut(8);
  sut.exchange.open_bar = kT0 + 3 * kMinute;
  sut.backfill->initialise(sut.symbol, 0);
  sut.rest->answer_all();
  CHECK(sut.rest->targets.size() == 1);
  CHECK(sut.stored_open_times() == minutes(kT0, kT0 + 3 * kMinute));
  sut.live(kT0 + 3 * kMinute, false);
  CHECK(sut.ring_complete());
}

TEST_CASE("LostCloseFrameIsDetectedAndFetchedOverRest", "[ingest][gaps]") {
  Fixture sut(8);
  sut.backfill->initialise(sut.symbol, 0);
  sut.rest->answer_all();
  sut.live(kT0 + 100 * kMinute, false);
  REQUIRE(sut.ring_complete());
  // The x=true frame of bar 100 never arrives; bar 101 starts forming.
  sut.live(kT0 + 101 * kMinute, false);
  CHECK_FALSE(sut.ring_complete());
  REQUIRE(sut.rest->waiting.size() == 1);
  CHECK(sut.rest->waiting.front().first ==
        fmt::format("/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime={}&endTime={}&limit=1000",
                    kT0 + 100 * kMinute, kT0 + 101 * kMinute - 1));
  sut.exchange.open_bar = kT0 + 101 * kMinute;
  sut.rest->answer_all();
  CHECK(sut.stored_open_times() == minutes(kT0 + 93 * kMinute, kT0 + 101 * kMinute));
  CHECK(sut.ring_complete());
  CHECK(sut.market->stats().gaps_detected == 1);
}

TEST_CASE("ClosedBarAfterAHoleFillsTheHoleWithoutDoublingAnything", "[ingest][gaps]") {
  Fixture sut(16);
  sut.backfill->initialise(sut.symbol, 0);
  sut.rest->answer_all();
  sut.live(kT0 + 100 * kMinute, true);
  // A reconnect lost bars 101-103; bar 104 arrives closed.
  sut.exchange.open_bar = kT0 + 105 * kMinute;
  sut.live(kT0 + 104 * kMinute, true);
  CHECK_FALSE(sut.ring_complete());
  sut.rest->answer_all();
  CHECK(sut.stored_open_times() == minutes(kT0 + 89 * kMinute, kT0 + 105 * kMinute));
  CHECK(sut.ring_complete());
  // The same closed frames again (a rotation overlap) change nothing.
  const auto before = sut.stored_open_times();
  sut.live(kT0 + 104 * kMinute, true);
  CHECK(sut.stored_open_times() == before);
}

TEST_CASE("MaintenanceWindowWithoutBarsStaysAGapAndIsNotAskedForAgain", "[ingest][gaps]") {
  Fixture sut(16);
  sut.backfill->initialise(sut.symbol, 0);
  sut.rest->answer_all();
  sut.live(kT0 + 100 * kMinute, true);
  sut.exchange.missing = {kT0 + 101 * kMinute, kT0 + 102 * kMinute};  // the exchange was down
  sut.exchange.open_bar = kT0 + 104 * kMinute;
  sut.live(kT0 + 103 * kMinute, true);
  sut.rest->answer_all();
  CHECK(sut.ring_complete());
  const std::size_t requests = sut.rest->targets.size();
  sut.live(kT0 + 104 * kMinute, false);
  sut.live(kT0 + 104 * kMinute, true);
  CHECK(sut.rest->targets.size() == requests);
  CHECK(sut.ring_complete());
}

TEST_CASE("StreamLossMarksRingsIncompleteUntilLiveDataContinuesThem", "[ingest][gaps]") {
  Fixture sut(8);
  sut.backfill->initialise(sut.symbol, 0);
  sut.rest->answer_all();
  sut.live(kT0 + 100 * kMinute, false);
  REQUIRE(sut.ring_complete());
  sut.market->stream_lost(sut.symbol, 0);
  CHECK_FALSE(sut.ring_complete());
  sut.live(kT0 + 100 * kMinute, false);
  CHECK(sut.ring_complete());
}

TEST_CASE("RateLimitHoldsEveryRequestForRetryAfter", "[ingest][backfill]") {
  Fixture sut(8);
  int calls = 0;
  sut.rest->answer = [&](const std::string& target) -> net::HttpResult {
    if (++calls == 1) {
      net::HttpResponse limited;
      limited.status = 429;
      limited.retry_after_s = 7;
      limited.body = R"({"code":-1003,"msg":"Too much request weight used"})";
      return limited;
    }
    return sut.exchange.klines(target);
  };
  sut.backfill->initialise(sut.symbol, 0);
  sut.rest->answer_all();
  CHECK(sut.backfill->stats().rate_limited == 1);
  CHECK(sut.rest->targets.size() == 1);
  sut.scheduler.advance(6s);
  CHECK(sut.rest->targets.size() == 1);  // still held
  sut.scheduler.advance(2s);
  REQUIRE(sut.rest->targets.size() == 2);
  sut.rest->answer_all();
  CHECK(sut.stored_open_times().size() == 8);
}

TEST_CASE("BanStopsAllRestUntilItEnds", "[ingest][backfill]") {
  Fixture sut(8);
  int calls = 0;
  sut.rest->answer = [&](const std::string& target) -> net::HttpResult {
    if (++calls == 1) {
      net::HttpResponse banned;
      banned.status = 418;
      banned.retry_after_s = 120;
      return banned;
    }
    return sut.exchange.klines(target);
  };
  sut.backfill->initialise(sut.symbol, 0);
  sut.backfill->initialise(sut.symbol, 1);
  sut.rest->answer_all(1);
  CHECK(sut.budget.banned(sut.scheduler.wall_now()));
  sut.scheduler.advance(119s);
  CHECK(sut.rest->targets.size() == 1);
  sut.scheduler.advance(2s);
  CHECK(sut.rest->targets.size() == 2);
}

TEST_CASE("TransportErrorsAreRetriedWithBackoffAndBounded", "[ingest][backfill]") {
  Fixture sut(8);
  sut.rest->answer = [](const std::string&) -> net::HttpResult { return std::unexpected(std::string("connection refused")); };
  sut.live(kT0, false);  // nothing stored yet: no gap logic
  sut.backfill->initialise(sut.symbol, 0);
  for (int i = 0; i < 20; ++i) {
    sut.rest->answer_all();
    sut.scheduler.advance(1s);
  }
  // Five quick attempts with backoff, then the job is parked for a minute: not hammered.
  CHECK(sut.rest->targets.size() == 5);
  CHECK(sut.backfill->stats().failures == 5);
}

TEST_CASE("BudgetWaitsForTheNextMinuteOnceTheShareIsUsed", "[ingest][budget]") {
  ingest::RestBudget sut;
  sut.set_limit(100, 0.5);  // 50 per minute for us
  const auto minute = std::chrono::floor<std::chrono::minutes>(std::chrono::system_clock::now());
  const auto now = minute + 10s;
  for (int i = 0; i < 25; ++i) sut.on_sent(2, now);
  CHECK(sut.delay(2, now) > 49s);
  CHECK(sut.delay(2, now) < 51s);
  CHECK(sut.delay(2, minute + 60s) == 0ms);
  // The exchange's own count wins when it is higher (other clients on this IP).
  ingest::RestBudget shared;
  shared.set_limit(100, 0.5);
  shared.on_used_weight(49, now);
  CHECK(shared.delay(2, now) > 0ms);
}

TEST_CASE("TopNUniversePicksTradingSymbolsOfTheQuoteAssetByQuoteVolume", "[ingest][universe]") {
  feed::ExchangeInfo info;
  auto listing = [](std::string symbol, std::string quote, shm::TradingStatus status) {
    feed::SymbolListing l{};
    l.symbol = symbol;
    l.base_asset = symbol.substr(0, 3);
    l.quote_asset = quote;
    l.status = status;
    l.status_text = status == shm::TradingStatus::Trading ? "TRADING" : "BREAK";
    l.spot_allowed = true;
    return l;
  };
  info.symbols = {listing("AAAUSDT", "USDT", shm::TradingStatus::Trading),
                  listing("BBBUSDT", "USDT", shm::TradingStatus::Trading),
                  listing("CCCUSDT", "USDT", shm::TradingStatus::Break),
                  listing("DDDBTC", "BTC", shm::TradingStatus::Trading),
                  listing("EEEUSDT", "USDT", shm::TradingStatus::Trading)};
  std::vector<feed::TickerSnapshot> tickers(5);
  const char* names[] = {"AAAUSDT", "BBBUSDT", "CCCUSDT", "DDDBTC", "EEEUSDT"};
  const double volumes[] = {10, 30, 99, 99, 20};
  for (int i = 0; i < 5; ++i) {
    tickers[i].symbol = names[i];
    tickers[i].ticker.quote_volume_24h = volumes[i];
  }
  config::UniverseConfig config;
  config.top_n = 2;
  const auto choice = ingest::choose_universe(info, tickers, config);
  REQUIRE(choice.follow.size() == 2);
  CHECK(choice.follow[0].symbol == "BBBUSDT");
  CHECK(choice.follow[1].symbol == "EEEUSDT");

  // A refresh: BBB stops trading, FFF is newly listed, AAA (known before, never followed) is not "new".
  info.symbols[1].status = shm::TradingStatus::Break;
  info.symbols.push_back(listing("FFFUSDT", "USDT", shm::TradingStatus::Trading));
  const std::set<std::string> followed{"BBBUSDT", "EEEUSDT"};
  const std::set<std::string> known{"AAAUSDT", "BBBUSDT", "CCCUSDT", "DDDBTC", "EEEUSDT"};
  const auto change = ingest::diff_universe(info, followed, known, {}, config);
  REQUIRE(change.retire.size() == 1);
  CHECK(change.retire[0].symbol == "BBBUSDT");
  REQUIRE(change.add.size() == 1);
  CHECK(change.add[0].symbol == "FFFUSDT");
}

TEST_CASE("ExplicitUniverseWarnsAboutSymbolsTheExchangeDoesNotTrade", "[ingest][universe]") {
  feed::ExchangeInfo info;
  feed::SymbolListing btc{};
  btc.symbol = "BTCUSDT";
  btc.quote_asset = "USDT";
  btc.status = shm::TradingStatus::Trading;
  btc.spot_allowed = true;
  info.symbols = {btc};
  config::UniverseConfig config;
  config.symbols = {"BTCUSDT", "NOPEUSDT"};
  const auto choice = ingest::choose_universe(info, {}, config);
  REQUIRE(choice.follow.size() == 1);
  REQUIRE(choice.warnings.size() == 1);
  CHECK_THAT(choice.warnings[0], Catch::Contains("NOPEUSDT"));
}

namespace {

/// A FrameBatcher whose publish takes 1 ms of the manual clock, recording what it is told.
struct BatcherProbe {
  ManualScheduler scheduler;
  int publishes = 0;
  std::vector<std::chrono::milliseconds> delays;
  ingest::FrameBatcher batcher{scheduler,
                               [this] {
                                 ++publishes;
                                 scheduler.pass(1ms);
                               },
                               [this](ingest::FrameBatcher::Clock::duration delay) {
                                 delays.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(delay));
                               }};
};

}  // namespace

TEST_CASE("FramesOfOneBurstArePublishedOnceEachWithItsArrivalToPublishDelay", "[ingest][latency]") {
  BatcherProbe probe;
  probe.batcher.frame_applied(probe.scheduler.now(), true);
  probe.scheduler.pass(2ms);
  probe.batcher.frame_applied(probe.scheduler.now(), true);
  probe.batcher.frame_applied(probe.scheduler.now(), false);  // a control reply: publishes nothing of its own
  probe.scheduler.pass(3ms);
  CHECK(probe.publishes == 0);  // not before the handler that applied the frames returns

  probe.scheduler.advance(0ms);
  CHECK(probe.publishes == 1);
  // Measured once the publish returned: 5 ms waiting plus the publish's own 1 ms, and 3 + 1.
  CHECK(probe.delays == std::vector<std::chrono::milliseconds>{6ms, 4ms});

  // The next burst starts empty: the frames already published are not reported again.
  probe.batcher.frame_applied(probe.scheduler.now(), true);
  probe.scheduler.advance(0ms);
  CHECK(probe.publishes == 2);
  CHECK(probe.delays == std::vector<std::chrono::milliseconds>{6ms, 4ms, 1ms});
}

TEST_CASE("PublishNowReportsTheWaitingFramesAndStopCancelsTheScheduledBurst", "[ingest][latency]") {
  BatcherProbe probe;
  probe.batcher.frame_applied(probe.scheduler.now(), true);
  probe.scheduler.pass(2ms);
  probe.batcher.publish_now();  // a lost connection: the workers must hear at once
  CHECK(probe.publishes == 1);
  CHECK(probe.delays == std::vector<std::chrono::milliseconds>{3ms});

  probe.scheduler.advance(0ms);  // the burst's own publish still runs, with nothing left to report
  CHECK(probe.publishes == 2);
  CHECK(probe.delays.size() == 1);

  probe.batcher.frame_applied(probe.scheduler.now(), true);
  probe.batcher.stop();
  probe.scheduler.advance(10ms);
  CHECK(probe.publishes == 2);
  CHECK(probe.delays.size() == 1);
  CHECK(probe.scheduler.pending() == 0);
}
