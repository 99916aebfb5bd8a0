// SPDX-License-Identifier: Apache-2.0
// worker::Engine end to end in one process: a SegmentWriter plays screenerd, a read-only reader
// gives the engine its view, and every step() is one wake-up of the worker (publish, journal,
// process). The tests prove the behaviour the traders promise: edge-triggered signals, history
// never re-alerted, once per bar and the cooldown, no repeat after a restart, late marking, higher
// timeframes aligned (and awaited) exactly as the batch evaluator aligns them, signal values equal
// to the batch evaluator bit for bit, trader assignment, intrabar evaluation and symbol globs.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "common/rules/evaluate.hpp"
#include "common/signal_id.hpp"
#include "tests/support/engine_harness.hpp"
#include "tests/support/temp_dir.hpp"

using namespace screener;
using namespace screener::test;
using namespace std::chrono_literals;
using screener::shm::Bar;

namespace {

constexpr std::uint32_t kSym = 0;

/// The 1m bars of one symbol, written one after the other.
class Minutes {
 public:
  explicit Minutes(EngineHarness& h, std::uint32_t symbol = kSym) : h_(h), symbol_(symbol) {}

  /// Writes the next bar closing at `close` (opening at the previous close); no wake-up.
  shm::UpsertResult write(double close, bool from_backfill = false) {
    const Bar bar = price_bar(minute(next_), last_, close);
    last_ = close;
    ++next_;
    return h_.close_bar(symbol_, Interval::m1, bar, from_backfill);
  }
  void history(const std::vector<double>& closes) {
    for (const double c : closes) write(c);
  }
  /// One live bar and one wake-up: the signals it produced.
  std::vector<CapturedSignal> live(double close) {
    write(close);
    h_.step();
    return h_.take();
  }
  /// Skips `n` minutes (a gap) without writing them.
  void skip(std::int64_t n) { next_ += n; }
  void seek(std::int64_t index) { next_ = index; }
  [[nodiscard]] std::int64_t next() const noexcept { return next_; }

 private:
  EngineHarness& h_;
  std::uint32_t symbol_;
  std::int64_t next_ = 0;
  double last_ = 100;
};

/// Feeds live closes one per wake-up; the minute indexes that produced a signal.
std::vector<std::int64_t> fired_minutes(Minutes& m, const std::vector<double>& closes) {
  std::vector<std::int64_t> fired;
  for (const double c : closes) {
    const std::int64_t index = m.next();
    const auto signals = m.live(c);
    REQUIRE(signals.size() <= 1);
    if (!signals.empty()) {
      CHECK(json_int(signals[0].json, "bar_open_time") == minute(index));
      fired.push_back(index);
    }
  }
  return fired;
}

std::vector<TraderText> one_trader(const std::string& name, const std::string& interval, const std::string& when,
                                   const std::string& extra = "") {
  return {TraderText{name, trader_toml(name, interval, when, extra), 0}};
}

/// A started engine with one 1m trader, warmed on `history` (closes of minutes 0..n-1).
void start_warm(EngineHarness& h, Minutes& m, const std::vector<double>& history,
                const std::vector<TraderText>& traders, worker::EngineOptions options = {}) {
  m.history(history);
  h.complete_all();
  h.start_engine(std::move(options));
  h.apply(traders);
  h.step();
  REQUIRE(h.take().empty());
  REQUIRE(h.engine().trader_count() == traders.size());
}

/// A scratch state directory (fired files, evaluation progress) and engine options that use it.
struct StateDir {
  StateDir() : path(dir.file("state")) {
    std::filesystem::create_directory(path);
    options.state_dir_override = path;
  }
  TempDir dir;
  std::string path;
  worker::EngineOptions options;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// ------------------------------------------------------------------------------------- batch

rules::CheckedRule load(std::string_view text, Interval trader_interval) {
  rules::CheckOptions options;
  options.trader_interval = trader_interval;
  options.held = kEngineIntervals;
  auto rule = rules::load_expression(text, rules::Origin{"<test>", 1, 1}, options);
  if (!rule) FAIL(rule.error());
  return std::move(*rule);
}

std::vector<rules::Value> batch(std::string_view text, Interval trader_interval,
                                const std::vector<rules::SeriesInput>& inputs) {
  const rules::CheckedRule rule = load(text, trader_interval);
  auto result = rules::evaluate_series(rule, inputs);
  if (!result) FAIL(result.error());
  return std::move(result->values);
}

/// The bars (by index) where a worker warmed at `warm_index` fires with no cooldown: the gate's
/// edge state starts from the value at the warm-up bar, a not-ready value leaves it unchanged.
std::set<std::size_t> expected_edges(const std::vector<rules::Value>& values, std::size_t warm_index) {
  int state = values[warm_index].ready ? (values[warm_index].truth ? 1 : 0) : -1;
  std::set<std::size_t> edges;
  for (std::size_t i = warm_index + 1; i < values.size(); ++i) {
    if (!values[i].ready) continue;
    if (values[i].truth && state == 0) edges.insert(i);
    state = values[i].truth ? 1 : 0;
  }
  return edges;
}

/// Every value of every signal equals the batch value of its term at the signal's bar, bit for
/// bit: the engine prints shortest round-trip decimals, so parsing gives the same double back.
void check_values_against_batch(const std::vector<CapturedSignal>& signals, Interval trader_interval,
                                const std::vector<rules::SeriesInput>& inputs, std::int64_t first_open_ms,
                                std::int64_t step_ms) {
  std::map<std::string, std::vector<rules::Value>> terms;
  for (const CapturedSignal& s : signals) {
    const std::int64_t open = json_int(s.json, "bar_open_time");
    const auto index = static_cast<std::size_t>((open - first_open_ms) / step_ms);
    const auto values = json_values(s.json);
    REQUIRE_FALSE(values.empty());
    for (const auto& [label, value] : values) {
      auto it = terms.find(label);
      if (it == terms.end()) it = terms.emplace(label, batch(label, trader_interval, inputs)).first;
      REQUIRE(index < it->second.size());
      const rules::Value& expected = it->second[index];
      INFO(s.json << "\nterm " << label << " at bar " << index);
      REQUIRE(value.has_value() == expected.ready);
      if (value) CHECK(*value == expected.number);
    }
  }
}

/// 1m bars and their 5m and 1h aggregations, written to the segment as screenerd would: each
/// 5m and 1h bar right after the 1m bar that completes it.
class Market {
 public:
  Market(EngineHarness& h, std::vector<Bar> minutes) : h_(h), m1_(std::move(minutes)) {
    auto m5 = rules::aggregate_bars(m1_, Interval::m1, Interval::m5);
    auto h1 = rules::aggregate_bars(m1_, Interval::m1, Interval::h1);
    if (!m5 || !h1) throw std::runtime_error("aggregation failed");
    m5_ = std::move(*m5);
    h1_ = std::move(*h1);
  }

  /// Writes 1m bar k, then the 5m bar and (if `with_hour`) the 1h bar it completes.
  void write_minute(std::size_t k, bool with_hour = true) {
    h_.close_bar(kSym, Interval::m1, m1_[k]);
    if ((k + 1) % 5 == 0) h_.close_bar(kSym, Interval::m5, m5_[k / 5]);
    if (with_hour && (k + 1) % 60 == 0) write_hour(k / 60);
  }
  void write_hour(std::size_t hour) { h_.close_bar(kSym, Interval::h1, h1_[hour]); }
  /// Minutes [from, to), one wake-up per minute; every signal, in order.
  std::vector<CapturedSignal> live(std::size_t from, std::size_t to) {
    std::vector<CapturedSignal> out;
    for (std::size_t k = from; k < to; ++k) {
      write_minute(k);
      h_.step();
      for (auto& s : h_.take()) out.push_back(std::move(s));
    }
    return out;
  }

  [[nodiscard]] std::vector<rules::SeriesInput> inputs() const {
    return {rules::SeriesInput{Interval::m1, m1_}, rules::SeriesInput{Interval::m5, m5_},
            rules::SeriesInput{Interval::h1, h1_}};
  }
  [[nodiscard]] const std::vector<Bar>& m5() const noexcept { return m5_; }

 private:
  EngineHarness& h_;
  std::vector<Bar> m1_;
  std::vector<Bar> m5_;
  std::vector<Bar> h1_;
};

/// 1m bars whose closes are `before` up to minute `switch_at`, then `after`.
std::vector<Bar> step_closes(std::size_t n, std::size_t switch_at, double before, double after) {
  std::vector<double> closes(n, before);
  for (std::size_t k = switch_at; k < n; ++k) closes[k] = after;
  return minute_bars(closes);
}

/// Writes the forming bar and wakes the worker until the engine has evaluated it: the throttle
/// (100 ms here) lets one intrabar evaluation per symbol through per period, so a forming update
/// is tried again until it is. False if that did not happen within 5 s. `evaluated_after`: a time
/// before the wake-up that evaluated it.
bool evaluate_forming(EngineHarness& h, const Bar& bar, std::chrono::steady_clock::time_point* evaluated_after = nullptr) {
  const std::uint64_t before = h.engine().stats().evaluations;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  for (int attempt = 0; attempt < 1000 && std::chrono::steady_clock::now() < deadline; ++attempt) {
    const auto started = std::chrono::steady_clock::now();
    h.forming(kSym, Interval::m1, bar);
    h.step();
    if (h.engine().stats().evaluations > before) {
      if (evaluated_after != nullptr) *evaluated_after = started;
      return true;
    }
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

}  // namespace

// ------------------------------------------------------------------------------------- 1. edges

TEST_CASE("A condition fires once when it turns true, not while it stays true, and again after it was false",
          "[engine]") {
  EngineHarness h;
  Minutes m(h);
  start_warm(h, m, {90, 90, 90, 90, 90}, one_trader("cross100", "1m", "close > 100"));

  const auto first = m.live(110);  // minute 5: false -> true
  REQUIRE(first.size() == 1);
  const std::string& json = first[0].json;
  CHECK(json_raw(json, "trader") == "cross100");
  CHECK(json_raw(json, "symbol") == "ABCUSDT");
  CHECK(json_raw(json, "interval") == "1m");
  CHECK(json_int(json, "bar_open_time") == minute(5));
  CHECK(parse_double(json_raw(json, "close")) == 110);
  CHECK(json_int(json, "ts") == 1'800'000'000'000);
  CHECK_FALSE(json_flag(json, "late"));
  CHECK(json_raw(json, "intrabar").empty());
  CHECK(json_values(json).empty());  // no indicator terms
  CHECK(first[0].id == signal_id("cross100", "ABCUSDT", "1m", minute(5)));
  CHECK(json_raw(json, "id") == format_signal_id(first[0].id));

  // Stays true: nothing; exactly 100 is false; then true again: a new signal.
  CHECK(fired_minutes(m, {120, 105, 101, 100, 100.5, 130}) == std::vector<std::int64_t>{10});
  CHECK(fired_minutes(m, {99, 99, 101}) == std::vector<std::int64_t>{14});
  CHECK(h.engine().stats().signals == 3);
  CHECK(h.engine().stats().suppressed == 0);
}

// ------------------------------------------------------------------------------------- 2. history

TEST_CASE("History present before the engine warms is not alerted, nor the first fresh bar still true",
          "[engine]") {
  EngineHarness h;
  Minutes m(h);
  // An edge inside the history (minute 2) and the condition true at the last historical bar.
  const std::vector<double> history{90, 90, 110, 120};

  SECTION("rings complete when the table is applied") {
    start_warm(h, m, history, one_trader("cross100", "1m", "close > 100"));
  }
  SECTION("rings still backfilling when the table is applied, completed later") {
    h.start_engine();
    h.apply(one_trader("cross100", "1m", "close > 100"));
    h.step();
    m.history(history);
    h.step();  // incomplete: held
    CHECK(h.engine().stats().evaluations == 0);
    h.complete_all();
    h.step();  // warms
    CHECK(h.take().empty());
  }
  CHECK(h.engine().stats().signals == 0);
  CHECK(m.live(130).empty());  // still true: no false -> true edge
  CHECK(m.live(140).empty());
  CHECK(fired_minutes(m, {95, 105}) == std::vector<std::int64_t>{7});
}

// ------------------------------------------------------------------------------------- 3. cooldown

TEST_CASE("A cooldown of 3 bars suppresses an edge within 3 bars of the signal and allows one after", "[engine]") {
  EngineHarness h;
  Minutes m(h);
  start_warm(h, m, {90, 90, 90, 90, 90}, one_trader("cd", "1m", "close > 100", "cooldown = \"3 bars\"\n"));
  // minute:                         5    6   7    8   9    10  11  12   13  14
  CHECK(fired_minutes(m, {110, 90, 110, 90, 110, 90, 90, 110, 90, 110}) ==
        std::vector<std::int64_t>{5, 9, 12});
  // 7 is within 5 + 3 bars; 9 is not; 12 is exactly 9 + 3 bars; 14 is within 12 + 3 bars.
  CHECK(h.engine().stats().suppressed == 2);
  CHECK(h.engine().stats().signals == 3);
}

TEST_CASE("A cooldown of 10m on 1m bars suppresses edges before the 10th minute after the signal", "[engine]") {
  EngineHarness h;
  Minutes m(h);
  start_warm(h, m, {90, 90, 90, 90, 90}, one_trader("cd", "1m", "close > 100", "cooldown = \"10m\"\n"));
  SECTION("an edge at the 9th minute is suppressed") {
    // minute:                      5   6   7   8  9  10 11 12  13  14
    CHECK(fired_minutes(m, {110, 90, 110, 90, 90, 90, 90, 90, 90, 110}) == std::vector<std::int64_t>{5});
    CHECK(h.engine().stats().suppressed == 2);
  }
  SECTION("an edge at the 10th minute fires") {
    // minute:                      5   6   7   8  9  10 11 12  13  14  15
    CHECK(fired_minutes(m, {110, 90, 110, 90, 90, 90, 90, 90, 90, 90, 110}) ==
          std::vector<std::int64_t>{5, 15});
    CHECK(h.engine().stats().suppressed == 1);
  }
}

// ------------------------------------------------------------------------------------- 4. restart

TEST_CASE("A restarted engine does not repeat the signal and keeps the cooldown from the fired file", "[engine]") {
  const StateDir state_dir;
  const std::string& state = state_dir.path;
  const worker::EngineOptions& options = state_dir.options;
  const auto traders = one_trader("cross100", "1m", "close > 100", "cooldown = \"5 bars\"\n");

  EngineHarness h;
  Minutes m(h);
  start_warm(h, m, {90, 90, 90, 90, 90}, traders, options);
  REQUIRE(m.live(110).size() == 1);  // minute 5
  h.engine().persist_fired();  // written in the background otherwise
  CHECK(read_file(state + "/cross100.fired") == "ABCUSDT " + std::to_string(minute(5)) + "\n");

  // The worker restarts on the same segment.
  h.stop_engine();
  h.start_engine(options);
  h.apply(traders);
  h.step();
  CHECK(h.take().empty());  // the bar already signalled is history now: not repeated
  CHECK(m.live(120).empty());
  // minute:                  7   8    9  10
  CHECK(fired_minutes(m, {90, 110, 90, 110}) == std::vector<std::int64_t>{10});
  CHECK(h.engine().stats().suppressed == 1);  // minute 8: within 5 + 5 bars, as before the restart
  h.engine().persist_fired();
  CHECK(read_file(state + "/cross100.fired") == "ABCUSDT " + std::to_string(minute(10)) + "\n");
}

TEST_CASE("A restarted engine evaluates the bars that closed while it was down, as late, and goes on live",
          "[engine]") {
  const StateDir state_dir;
  const std::string& state = state_dir.path;
  const worker::EngineOptions& options = state_dir.options;
  const auto traders = one_trader("cross100", "1m", "close > 100");

  EngineHarness h;
  Minutes m(h);
  start_warm(h, m, {90, 90, 90, 90, 90}, traders, options);
  CHECK(m.live(95).empty());  // minute 5
  h.stop_engine();
  CHECK(read_file(state + "/worker-0.evaluated") == "ABCUSDT 1m " + std::to_string(minute(5)) + "\n");

  // While the worker is down: minutes 6 to 8 close, the edge at minute 7.
  m.history({95, 110, 90});
  h.start_engine(options);
  h.apply(traders);
  h.step();
  const auto caught_up = h.take();
  REQUIRE(caught_up.size() == 1);
  CHECK(json_int(caught_up[0].json, "bar_open_time") == minute(7));
  CHECK(caught_up[0].json.find("\"late\":true") != std::string::npos);
  // Then live as before: minute 9 is an edge again, and not late.
  const auto live = m.live(120);
  REQUIRE(live.size() == 1);
  CHECK(json_int(live[0].json, "bar_open_time") == minute(9));
  CHECK(live[0].json.find("\"late\":false") != std::string::npos);
}

TEST_CASE("A first start without a progress file evaluates no history", "[engine]") {
  const StateDir state_dir;
  const worker::EngineOptions& options = state_dir.options;
  EngineHarness h;
  Minutes m(h);
  // An edge in the history (minute 3) is not alerted: start_warm requires no signal.
  start_warm(h, m, {90, 90, 90, 110, 90}, one_trader("cross100", "1m", "close > 100"), options);
  CHECK(m.live(90).empty());
}

TEST_CASE("After a daemon restart the bar already signalled arrives again and is not signalled again",
          "[engine]") {
  const StateDir state_dir;
  const std::string& state = state_dir.path;
  const worker::EngineOptions& options = state_dir.options;
  const auto traders = one_trader("cross100", "1m", "close > 100");
  {
    EngineHarness h;
    Minutes m(h);
    start_warm(h, m, {90, 90, 90, 90, 90}, traders, options);
    REQUIRE(m.live(110).size() == 1);  // minute 5
  }
  REQUIRE(std::filesystem::exists(state + "/cross100.fired"));

  // A new segment whose history ends before minute 5, and a new worker warmed on it; then minute
  // 5 arrives live again.
  EngineHarness h;
  Minutes m(h);
  start_warm(h, m, {90, 90, 90, 90, 90}, traders, options);
  CHECK(m.live(110).empty());
  CHECK(h.engine().stats().suppressed == 1);
  CHECK(fired_minutes(m, {90, 110}) == std::vector<std::int64_t>{7});
}

// ------------------------------------------------------------------------------------- 5. late

TEST_CASE("Signals on bars backfilled into a gap are late and the live bar after the gap is not", "[engine]") {
  EngineHarness h;
  Minutes m(h);
  const bool suppress = GENERATE(false, true);
  INFO("late = " << (suppress ? "suppress" : "mark"));
  start_warm(h, m, {90, 90, 90, 90, 90},
             one_trader("cross100", "1m", "close > 100", suppress ? "late = \"suppress\"\n" : ""));

  // A gap: the ring is marked incomplete and the live stream delivers minute 9 before the
  // backfill has fetched minutes 5 to 8.
  h.set_complete(kSym, Interval::m1, false);
  h.step();
  m.seek(9);
  CHECK(m.live(110).empty());  // held: the ring is incomplete
  m.seek(5);
  for (const double c : {110.0, 90.0, 110.0, 90.0})
    CHECK(m.write(c, true) == shm::UpsertResult::Inserted);  // into the gap, from a backfill
  h.step();
  CHECK(h.take().empty());  // still incomplete
  h.set_complete(kSym, Interval::m1, true);
  h.step();

  const auto signals = h.take();
  std::vector<std::pair<std::int64_t, bool>> got;
  for (const auto& s : signals) got.emplace_back(json_int(s.json, "bar_open_time"), json_flag(s.json, "late"));
  if (suppress) {
    CHECK(got == std::vector<std::pair<std::int64_t, bool>>{{minute(9), false}});
    CHECK(h.engine().stats().late_suppressed == 2);
  } else {
    CHECK(got == std::vector<std::pair<std::int64_t, bool>>{{minute(5), true}, {minute(7), true}, {minute(9), false}});
    CHECK(h.engine().stats().late_suppressed == 0);
  }
  // Afterwards live bars are not late.
  m.seek(10);
  const auto later = fired_minutes(m, {90, 110});
  CHECK(later == std::vector<std::int64_t>{11});
}

// ------------------------------------------------------------------------------------- 6. timeframes

TEST_CASE("A higher-timeframe value in a 5m signal equals the batch value at that bar, and the signals are the "
          "batch edges",
          "[engine]") {
  EngineHarness h;
  Market market(h, random_walk(600, 0x5eed'0006, 0.8));  // 10 hours
  for (std::size_t k = 0; k < 240; ++k) market.write_minute(k);  // 4 hours of history
  h.complete_all();
  h.start_engine();
  h.apply(one_trader("mtf", "5m", "close > sma(3)@1h"));
  h.step();
  REQUIRE(h.take().empty());

  const auto signals = market.live(240, 600);
  CHECK_FALSE(h.engine().waiting());
  CHECK(h.engine().stats().wait_expired == 0);

  const auto inputs = market.inputs();
  const std::int64_t step = 5 * kMinuteMs;
  check_values_against_batch(signals, Interval::m5, inputs, kEngineT0, step);
  for (const auto& s : signals) {
    const auto values = json_values(s.json);
    REQUIRE(values.size() == 1);
    CHECK(values[0].first == "sma(3)@1h");
  }

  std::set<std::size_t> fired;
  for (const auto& s : signals) fired.insert(static_cast<std::size_t>((json_int(s.json, "bar_open_time") - kEngineT0) / step));
  const auto expected = expected_edges(batch("close > sma(3)@1h", Interval::m5, inputs), 47);
  CHECK(expected.size() >= 3);
  CHECK(fired == expected);
}

TEST_CASE("A 5m bar waits for the 1h bar that closes with it, then evaluates with the new 1h value", "[engine]") {
  EngineHarness h;
  // 1m closes 90 for three hours, 200 in the fourth: sma(3)@1h is 90 until the fourth hour's bar
  // is there, then (90 + 90 + 200) / 3.
  Market market(h, step_closes(300, 180, 90, 200));
  for (std::size_t k = 0; k < 180; ++k) market.write_minute(k);
  h.complete_all();
  worker::EngineOptions options;
  options.timeframe_wait = 60s;  // far longer than the test: the wait ends only with the bar
  h.start_engine(options);
  h.apply(one_trader("hourly", "5m", "sma(3)@1h > 100"));
  h.step();
  CHECK(market.live(180, 235).empty());  // 03:00 to 03:50 see the 02:00 hour
  CHECK_FALSE(h.engine().waiting());

  // 03:55 closes at 03:59:59.999 with the 03:00 hour, which the exchange sends separately.
  for (std::size_t k = 235; k < 240; ++k) market.write_minute(k, false);
  h.step();
  CHECK(h.take().empty());
  CHECK(h.engine().waiting());
  h.step();  // a wake-up with nothing new: still waiting
  CHECK(h.take().empty());
  CHECK(h.engine().waiting());

  market.write_hour(3);
  h.step();
  CHECK_FALSE(h.engine().waiting());
  const auto signals = h.take();
  REQUIRE(signals.size() == 1);
  CHECK(json_int(signals[0].json, "bar_open_time") == kEngineT0 + 3 * kHourMs + 55 * kMinuteMs);
  const auto values = json_values(signals[0].json);
  REQUIRE(values.size() == 1);
  REQUIRE(values[0].second);
  CHECK(*values[0].second == (90.0 + 90.0 + 200.0) / 3);
  check_values_against_batch(signals, Interval::m5, market.inputs(), kEngineT0, 5 * kMinuteMs);
  CHECK(h.engine().stats().wait_expired == 0);
}

TEST_CASE("With timeframe_wait 0 a 5m bar goes ahead at once with the previous 1h bar", "[engine]") {
  EngineHarness h;
  Market market(h, step_closes(300, 180, 90, 200));
  for (std::size_t k = 0; k < 180; ++k) market.write_minute(k);
  h.complete_all();
  worker::EngineOptions options;
  options.timeframe_wait = 0ms;
  h.start_engine(options);
  h.apply(one_trader("hourly", "5m", "sma(3)@1h > 100"));
  h.step();
  CHECK(market.live(180, 235).empty());

  for (std::size_t k = 235; k < 240; ++k) market.write_minute(k, false);
  h.step();
  CHECK_FALSE(h.engine().waiting());
  CHECK(h.engine().stats().wait_expired == 1);
  CHECK(h.take().empty());  // evaluated with the 02:00 hour: sma 90

  market.write_hour(3);
  h.step();
  CHECK(h.take().empty());  // a 1h bar alone evaluates nothing for a 5m trader
  const auto signals = market.live(240, 245);  // 04:00 sees the 03:00 hour
  REQUIRE(signals.size() == 1);
  CHECK(json_int(signals[0].json, "bar_open_time") == kEngineT0 + 4 * kHourMs);
  check_values_against_batch(signals, Interval::m5, market.inputs(), kEngineT0, 5 * kMinuteMs);
  CHECK(h.engine().stats().wait_expired == 1);
}

// ------------------------------------------------------------------------------------- 7. batch

TEST_CASE("Over a random walk fed bar by bar, signal values equal the batch terms bit for bit and the signals "
          "are the batch edges",
          "[engine]") {
  constexpr std::string_view kWhen = "rsi(14) < 45 or crosses_above(macd(12,26,9).hist, 0)";
  constexpr std::size_t kWarm = 200;
  const std::vector<Bar> bars = random_walk(600, 0x5eed'0007);
  EngineHarness h;
  for (std::size_t i = 0; i < kWarm; ++i) h.close_bar(kSym, Interval::m1, bars[i]);
  h.complete_all();
  h.start_engine();
  h.apply(one_trader("mix", "1m", std::string(kWhen)));
  h.step();
  REQUIRE(h.take().empty());

  std::vector<CapturedSignal> signals;
  for (std::size_t i = kWarm; i < bars.size(); ++i) {
    h.close_bar(kSym, Interval::m1, bars[i]);
    h.step();
    for (auto& s : h.take()) signals.push_back(std::move(s));
  }

  const std::vector<rules::SeriesInput> inputs{rules::SeriesInput{Interval::m1, bars}};
  check_values_against_batch(signals, Interval::m1, inputs, kEngineT0, kMinuteMs);
  std::set<std::string> labels;
  for (const auto& s : signals)
    for (const auto& v : json_values(s.json)) labels.insert(v.first);
  CHECK(labels == std::set<std::string>{"rsi(14)", "macd(12, 26, 9).hist"});

  std::set<std::size_t> fired;
  for (const auto& s : signals)
    fired.insert(static_cast<std::size_t>((json_int(s.json, "bar_open_time") - kEngineT0) / kMinuteMs));
  const auto expected = expected_edges(batch(kWhen, Interval::m1, inputs), kWarm - 1);
  CHECK(expected.size() >= 5);
  CHECK(fired == expected);
  CHECK(h.engine().stats().signals == expected.size());
  CHECK(h.engine().stats().skipped_bars == 0);
}

// ------------------------------------------------------------------------------------- 8. owners

TEST_CASE("An engine runs only the traders the table assigns to its worker index", "[engine]") {
  EngineHarness h;
  Minutes m(h);
  m.history({90, 90, 90, 90, 90});
  h.complete_all();
  worker::EngineOptions options;
  options.worker_index = 1;
  h.start_engine(options);
  const std::string text = trader_toml("cross100", "1m", "close > 100");

  h.apply({TraderText{"cross100", text, 0}});  // another worker's
  h.step();
  CHECK(h.engine().trader_count() == 0);
  CHECK(h.engine().stats().traders == 0);
  CHECK(fired_minutes(m, {110, 90, 110}).empty());
  CHECK(h.engine().stats().evaluations == 0);

  h.apply({TraderText{"cross100", text, 1}});  // moved to this worker
  CHECK(h.engine().trader_count() == 1);
  CHECK(h.engine().stats().generation == 2);
  h.step();  // warms
  CHECK(h.take().empty());
  CHECK(fired_minutes(m, {90, 110}) == std::vector<std::int64_t>{9});

  h.apply({TraderText{"cross100", text, shm::kUnassigned}});  // no owner
  CHECK(h.engine().trader_count() == 0);
  CHECK(fired_minutes(m, {90, 110}).empty());
}

TEST_CASE("A new table generation neither swallows the bar that closed just before it nor the cooldown",
          "[engine]") {
  EngineHarness h;
  Minutes m(h);
  const auto kept = one_trader("cross100", "1m", "close > 100", "cooldown = \"5 bars\"\n");
  start_warm(h, m, {90, 90, 90, 90, 90}, kept);
  REQUIRE(m.live(110).size() == 1);  // minute 5: the cooldown runs to minute 10
  CHECK(m.live(90).empty());         // minute 6

  // Minute 7 closes true; before the worker has looked at it, a new generation arrives (a trader
  // added): screener-worker applies the table first, then reads the journal.
  m.write(110);
  auto traders = kept;
  traders.push_back(TraderText{"never", trader_toml("never", "1m", "close < 0"), 0});
  h.apply(traders);
  h.step();
  CHECK(h.take().empty());  // minute 7 is evaluated: an edge within the cooldown
  CHECK(h.engine().stats().suppressed == 1);

  // Minute 8 false, and again a new generation (the added trader removed) before minute 9 is seen.
  CHECK(m.live(90).empty());
  m.write(110);  // minute 9: still within the cooldown
  h.apply(kept);
  h.step();
  CHECK(h.take().empty());
  CHECK(h.engine().stats().suppressed == 2);
  CHECK(m.live(90).empty());  // minute 10
  m.write(110);               // minute 11: past the cooldown
  h.apply(traders);
  h.step();
  const auto signals = h.take();
  REQUIRE(signals.size() == 1);
  CHECK(json_int(signals[0].json, "bar_open_time") == minute(11));
}

TEST_CASE("A bar waiting for its higher timeframe when a new table generation arrives is still evaluated",
          "[engine]") {
  EngineHarness h;
  Market market(h, step_closes(300, 180, 90, 200));
  for (std::size_t k = 0; k < 180; ++k) market.write_minute(k);
  h.complete_all();
  worker::EngineOptions options;
  options.timeframe_wait = 60s;
  h.start_engine(options);
  const auto traders = one_trader("hourly", "5m", "sma(3)@1h > 100");
  h.apply(traders);
  h.step();
  CHECK(market.live(180, 235).empty());
  for (std::size_t k = 235; k < 240; ++k) market.write_minute(k, false);
  h.step();
  REQUIRE(h.engine().waiting());

  auto more = traders;
  more.push_back(TraderText{"never", trader_toml("never", "1m", "close < 0"), 0});
  h.apply(more);
  h.step();
  CHECK(h.take().empty());
  market.write_hour(3);
  h.step();
  const auto signals = h.take();
  REQUIRE(signals.size() == 1);
  CHECK(json_int(signals[0].json, "bar_open_time") == kEngineT0 + 3 * kHourMs + 55 * kMinuteMs);
  CHECK_FALSE(h.engine().waiting());
}

// ------------------------------------------------------------------------------------- 9. intrabar

TEST_CASE("An on-update trader fires on the forming bar, marked intrabar, at most once per bar", "[engine]") {
  EngineHarness h;
  Minutes m(h);
  // The last closed bar falls (close < open): the condition starts false.
  start_warm(h, m, {100, 101, 102, 103, 102},
             one_trader("up", "1m", "close > open", "on = \"update\"\nthrottle = \"100ms\"\n"));
  auto forming = [](std::int64_t k, double open, double close) { return price_bar(minute(k), open, close); };

  REQUIRE(evaluate_forming(h, forming(5, 102, 101)));  // false
  CHECK(h.take().empty());
  std::chrono::steady_clock::time_point evaluated_after;
  REQUIRE(evaluate_forming(h, forming(5, 102, 103), &evaluated_after));  // true: fires
  auto signals = h.take();
  REQUIRE(signals.size() == 1);
  CHECK(json_flag(signals[0].json, "intrabar"));
  CHECK_FALSE(json_flag(signals[0].json, "late"));
  CHECK(json_int(signals[0].json, "bar_open_time") == minute(5));
  CHECK(parse_double(json_raw(signals[0].json, "close")) == 103);

  // An update right after an evaluation is throttled: not even evaluated. (Checked only when this
  // wake-up came within the throttle period, which a heavily loaded machine may not manage.)
  const std::uint64_t evaluations = h.engine().stats().evaluations;
  h.forming(kSym, Interval::m1, forming(5, 102, 103.5));
  h.step();
  if (std::chrono::steady_clock::now() - evaluated_after < 90ms) CHECK(h.engine().stats().evaluations == evaluations);

  // Still true, several updates: nothing; false then true again within the same bar: suppressed.
  for (const double close : {104.0, 105.0, 101.0, 106.0}) REQUIRE(evaluate_forming(h, forming(5, 102, close)));
  CHECK(h.take().empty());
  CHECK(h.engine().stats().suppressed == 1);

  // The bar closes true: no second signal for minute 5.
  m.seek(5);
  m.write(106);
  h.step();
  CHECK(h.take().empty());

  // The next bar: a new edge fires again.
  REQUIRE(evaluate_forming(h, forming(6, 106, 105)));
  REQUIRE(evaluate_forming(h, forming(6, 106, 107)));
  signals = h.take();
  REQUIRE(signals.size() == 1);
  CHECK(json_int(signals[0].json, "bar_open_time") == minute(6));
  CHECK(json_flag(signals[0].json, "intrabar"));
  CHECK(h.engine().stats().signals == 2);
}

// ------------------------------------------------------------------------------------- 10. symbols

TEST_CASE("A trader with symbols = \"AB*\" watches only the symbols matching the glob", "[engine]") {
  const std::vector<std::string> names{"ABCUSDT", "XABUSDT", "ABZBTC", "BTCUSDT"};
  EngineHarness h(names);
  std::vector<Minutes> minutes;
  for (std::uint32_t s = 0; s < names.size(); ++s) minutes.emplace_back(h, s);
  for (auto& m : minutes) m.history({90, 90, 90});
  h.complete_all();
  h.start_engine();
  h.apply(one_trader("ab", "1m", "close > 100", "symbols = \"AB*\"\n"));
  h.step();
  REQUIRE(h.take().empty());

  for (auto& m : minutes) m.write(110);
  h.step();
  std::multiset<std::string> symbols;
  for (const auto& s : h.take()) symbols.insert(std::string(json_raw(s.json, "symbol")));
  CHECK(symbols == std::multiset<std::string>{"ABCUSDT", "ABZBTC"});
  CHECK(h.engine().stats().evaluations == 4);  // two warm-ups, two bars
}
