// SPDX-License-Identifier: Apache-2.0
// Batch evaluation of rules: indicator values, offsets, crosses, not-ready propagation,
// multi-timeframe alignment by close time, aggregation, and `screenerctl eval`.
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "common/indicators/indicators.hpp"
#include "common/kline_csv.hpp"
#include "common/rules/evaluate.hpp"

using namespace screener;
using namespace screener::rules;

namespace {

constexpr std::int64_t kT0 = 1'620'000'000'000;  // a multiple of 5m and 1h
constexpr std::array kHeld{Interval::m1, Interval::m5, Interval::m15, Interval::h1};

CheckedRule expr(std::string_view text, Interval trader = Interval::m1) {
  CheckOptions o;
  o.trader_interval = trader;
  o.held = kHeld;
  auto r = load_expression(text, Origin{"<test>", 1, 1}, o);
  INFO(text);
  INFO((r ? std::string() : r.error()));
  REQUIRE(r.has_value());
  return std::move(*r);
}

shm::Bar bar(std::size_t i, double close) {
  shm::Bar b{};
  b.open_time_ms = kT0 + static_cast<std::int64_t>(i) * 60'000;
  b.open = close - 0.5;
  b.high = close + 1.0;
  b.low = close - 1.0;
  b.close = close;
  b.volume = 10.0 + static_cast<double>(i % 7);
  b.quote_volume = b.volume * close;
  b.trades = static_cast<std::int64_t>(i % 5) + 1;
  return b;
}

std::vector<shm::Bar> bars_from(const std::vector<double>& closes) {
  std::vector<shm::Bar> out;
  for (std::size_t i = 0; i < closes.size(); ++i) out.push_back(bar(i, closes[i]));
  return out;
}

/// A deterministic wiggly series (no randomness: the same bars every run).
std::vector<shm::Bar> wiggly(std::size_t n) {
  std::vector<double> closes;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = static_cast<double>(i);
    closes.push_back(100.0 + 5.0 * std::sin(x / 7.0) + 2.0 * std::cos(x / 3.0) + 0.01 * x);
  }
  std::vector<shm::Bar> out = bars_from(closes);
  for (std::size_t i = 0; i < n; ++i) {
    out[i].high = out[i].close + 0.3 + 0.2 * std::sin(static_cast<double>(i));
    out[i].low = out[i].close - 0.4 - 0.1 * std::cos(static_cast<double>(i));
  }
  return out;
}

SeriesResult eval(const CheckedRule& rule, std::span<const SeriesInput> inputs) {
  auto r = evaluate_series(rule, inputs);
  INFO((r ? std::string() : r.error()));
  REQUIRE(r.has_value());
  return std::move(*r);
}

SeriesResult eval1(std::string_view text, const std::vector<shm::Bar>& bars) {
  const std::array inputs{SeriesInput{Interval::m1, bars}};
  return eval(expr(text), inputs);
}

/// Every value equals `expected` (NaN: not ready), bit for bit.
void require_equal(const SeriesResult& r, const std::vector<double>& expected) {
  REQUIRE(r.type == Type::Number);
  REQUIRE(r.values.size() == expected.size());
  for (std::size_t t = 0; t < expected.size(); ++t) {
    INFO("bar " << t);
    REQUIRE(r.values[t].ready == !std::isnan(expected[t]));
    if (r.values[t].ready) REQUIRE(r.values[t].number == expected[t]);
  }
}

std::vector<double> closes_of(const std::vector<shm::Bar>& bars) {
  std::vector<double> out;
  for (const auto& b : bars) out.push_back(b.close);
  return out;
}

std::string conditions(const SeriesResult& r) {
  std::string out;
  for (const Value& v : r.values) out += !v.ready ? '-' : v.truth ? 'T' : 'F';
  return out;
}

}  // namespace

TEST_CASE("load_expression accepts numbers and checks conditions as load_rule does", "[rules_eval]") {
  CHECK(expr("rsi(14)").root.type == Type::Number);
  CHECK(expr("macd(12, 26, 9).hist[1] * 2").root.type == Type::Number);
  CHECK(expr("rsi(14) < 30").root.type == Type::Condition);
  const CheckedRule r = expr("ema(200)@1h");
  CHECK(to_string(r) == "ema(200)@1h");
  REQUIRE(r.warmup.size() == 1);
  CHECK(r.warmup[0].bars == 1205);

  CheckOptions o;
  o.held = kHeld;
  const auto bad = load_expression("rsii(14)", Origin{"<command line>", 1, 1}, o);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error() == "<command line>:1:1: unknown function 'rsii' (did you mean 'rsi'?)\nrsii(14)\n^~~~\n");
  const auto type_error = load_expression("close and 1", Origin{}, o);
  REQUIRE_FALSE(type_error.has_value());
  CHECK_THAT(type_error.error(), Catch::Contains("'and' needs a condition on the left, got a number"));
}

TEST_CASE("indicator values equal the batch library's outputs at every bar", "[rules_eval]") {
  const std::vector<shm::Bar> bars = wiggly(300);
  const std::vector<double> close = closes_of(bars);
  std::vector<double> high, low, volume;
  for (const auto& b : bars) {
    high.push_back(b.high);
    low.push_back(b.low);
    volume.push_back(b.volume);
  }
  const std::size_t n = bars.size();
  std::vector<double> a(n), b(n), c(n), d(n), e(n);

  (void)ta::rsi(close, 14, a);
  require_equal(eval1("rsi(14)", bars), a);
  (void)ta::macd(close, 12, 26, 9, a, b, c);
  require_equal(eval1("macd(12, 26, 9).hist", bars), c);
  require_equal(eval1("macd(12, 26, 9).signal", bars), b);
  (void)ta::bbands(close, 20, 2.0, a, b, c, d, e);
  require_equal(eval1("bbands(20, 2).upper", bars), a);
  require_equal(eval1("bbands(20, 2).percent_b", bars), e);
  (void)ta::atr(high, low, close, 14, a);
  require_equal(eval1("atr(14)", bars), a);
  (void)ta::stoch(high, low, close, 14, 3, 3, a, b);
  require_equal(eval1("stoch(14, 3, 3).d", bars), b);
  (void)ta::sma(volume, 5, a);
  require_equal(eval1("sma(volume, 5)", bars), a);
  (void)ta::highest(high, 10, a);
  require_equal(eval1("highest(high, 10)", bars), a);
  (void)ta::mfi(high, low, close, volume, 14, a);
  require_equal(eval1("mfi(14)", bars), a);
}

TEST_CASE("not ready before the warm-up; ready from the first value on", "[rules_eval]") {
  const std::vector<shm::Bar> bars = wiggly(40);
  const SeriesResult r = eval1("rsi(14) > 0", bars);
  for (std::size_t t = 0; t < bars.size(); ++t) {
    INFO("bar " << t);
    CHECK(r.values[t].ready == (t >= 14));  // rsi's lookback is 14
  }
  CHECK(format_value(Type::Number, Value{}) == "nan");
  CHECK(format_value(Type::Condition, r.values[14]) == (r.values[14].truth ? "true" : "false"));
  CHECK(format_value(Type::Number, Value{true, 0.1, false}) == "0.1");
}

TEST_CASE("offsets index back k bars of the node's timeline", "[rules_eval]") {
  const std::vector<shm::Bar> bars = bars_from({1, 2, 3, 4, 5, 6});
  const double nan = ta::kNaN;
  require_equal(eval1("close[2]", bars), {nan, nan, 1, 2, 3, 4});
  require_equal(eval1("sma(3)[1]", bars), {nan, nan, nan, 2, 3, 4});
  require_equal(eval1("close - close[1]", bars), {nan, 1, 1, 1, 1, 1});
  require_equal(eval1("-close[5]", bars), {nan, nan, nan, nan, nan, -1});
}

TEST_CASE("crosses_above is a[1] <= b[1] and a > b; crosses_below mirrors it", "[rules_eval]") {
  const std::vector<shm::Bar> bars = bars_from({9, 10, 11, 12, 9, 11, 10});
  CHECK(conditions(eval1("crosses_above(close, 10)", bars)) == "-FTFFTF");
  CHECK(conditions(eval1("crosses_below(close, 10)", bars)) == "-FFFTFF");
  // With offsets: close[1] against 10, shifted by one bar.
  CHECK(conditions(eval1("crosses_above(close[1], 10)", bars)) == "--FTFFT");
  // Two series: close against its previous value.
  CHECK(conditions(eval1("crosses_above(close, close[1] + 0.5)", bars)) == "--FFFTF");
}

TEST_CASE("not-ready propagation, logic and arithmetic edge cases", "[rules_eval]") {
  const std::vector<shm::Bar> bars = bars_from({1, 2, 3});
  CHECK(conditions(eval1("close[1] > 0 and close > 0", bars)) == "-TT");
  CHECK(conditions(eval1("close[1] > 0 or close > 0", bars)) == "-TT");  // no short-circuit
  CHECK(conditions(eval1("not close[2] > 1", bars)) == "--T");
  CHECK(conditions(eval1("close >= 2 and close != 3", bars)) == "FTF");
  // Division by zero and non-finite results are not ready.
  const double nan = ta::kNaN;
  require_equal(eval1("close / (close - close)", bars), {nan, nan, nan});
  require_equal(eval1("(close - 1) / 2", bars), {0, 0.5, 1});
  CHECK(conditions(eval1("close / (close - 2) > 0", bars)) == "F-T");
  // Ticker fields have no history: never ready, with a note.
  const SeriesResult ticker = eval1("last_price > 0 or close > 0", bars);
  CHECK(conditions(ticker) == "---");
  REQUIRE(ticker.notes.size() == 1);
  CHECK_THAT(ticker.notes[0], Catch::Contains("ticker fields"));
  // Constant expressions are ready at every bar.
  require_equal(eval1("2 * 3", bars), {6, 6, 6});
}

TEST_CASE("forming bars and missing intervals are errors of batch evaluation", "[rules_eval]") {
  const std::vector<shm::Bar> bars = bars_from({1, 2, 3});
  const std::array inputs{SeriesInput{Interval::m1, bars}};
  const auto forming = evaluate_series(expr("close@5m.forming > 1"), inputs);
  REQUIRE_FALSE(forming.has_value());
  CHECK_THAT(forming.error(), Catch::Contains("not supported"));
  const auto missing = evaluate_series(expr("close@5m > 1"), inputs);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error() == "no bars given for interval 5m");
  CHECK(required_intervals(expr("close@1h > ema(5)@5m and close > 0")) ==
        std::vector<Interval>{Interval::m1, Interval::m5, Interval::h1});
}

TEST_CASE("aggregation groups by bar_open_time like Binance and drops incomplete groups", "[rules_eval]") {
  std::vector<double> closes;
  for (int i = 1; i <= 12; ++i) closes.push_back(i);
  const std::vector<shm::Bar> m1 = bars_from(closes);  // 00:00 .. 00:11, 5m groups [0-4] [5-9] [10-11]
  const auto m5 = aggregate_bars(m1, Interval::m1, Interval::m5);
  REQUIRE(m5.has_value());
  REQUIRE(m5->size() == 2);  // 00:10 has only two of its five minutes: dropped
  const shm::Bar& g = (*m5)[1];
  CHECK(g.open_time_ms == kT0 + 300'000);
  CHECK(g.open == m1[5].open);
  CHECK(g.close == 10);
  CHECK(g.high == 11);  // bar 9: close 10 + 1
  CHECK(g.low == 5);    // bar 5: close 6 - 1
  double volume = 0;
  std::int64_t trades = 0;
  for (std::size_t i = 5; i < 10; ++i) {
    volume += m1[i].volume;
    trades += m1[i].trades;
  }
  CHECK(g.volume == volume);
  CHECK(g.trades == trades);

  // A first group that starts late is dropped too.
  const auto late = aggregate_bars(std::span(m1).subspan(2), Interval::m1, Interval::m5);
  REQUIRE(late.has_value());
  REQUIRE(late->size() == 1);
  CHECK(late->front().open_time_ms == kT0 + 300'000);

  // 3m bars cannot make 5m bars.
  std::vector<shm::Bar> m3 = m1;
  for (std::size_t i = 0; i < m3.size(); ++i) m3[i].open_time_ms = kT0 + static_cast<std::int64_t>(i) * 180'000;
  const auto bad = aggregate_bars(m3, Interval::m3, Interval::m5);
  REQUIRE_FALSE(bad.has_value());
  CHECK_THAT(bad.error(), Catch::Contains("3m bars cannot be aggregated into 5m bars"));
}

TEST_CASE("higher timeframes align by close time: the last bar closed at the evaluating bar's close", "[rules_eval]") {
  std::vector<double> closes;
  for (int i = 1; i <= 12; ++i) closes.push_back(i);
  const std::vector<shm::Bar> m1 = bars_from(closes);
  const std::vector<shm::Bar> m5 = *aggregate_bars(m1, Interval::m1, Interval::m5);
  const std::array inputs{SeriesInput{Interval::m1, m1}, SeriesInput{Interval::m5, m5}};
  const double nan = ta::kNaN;
  // The 1m bar 00:04 closes at 00:04:59.999, with the 5m bar 00:00 (close 5): from there on it
  // is used, until the 1m bar 00:09 closes with the 5m bar 00:05 (close 10). The 1m bar 00:05
  // still sees the 5m bar 00:00.
  require_equal(eval(expr("close@5m"), inputs), {nan, nan, nan, nan, 5, 5, 5, 5, 5, 10, 10, 10});
  require_equal(eval(expr("close@5m[1]"), inputs), {nan, nan, nan, nan, nan, nan, nan, nan, nan, 5, 5, 5});
  require_equal(eval(expr("close - close@5m"), inputs), {nan, nan, nan, nan, 0, 1, 2, 3, 4, 0, 1, 2});
  // crosses on a higher timeframe compare its own previous bar.
  CHECK(conditions(eval(expr("crosses_above(close@5m, 7)"), inputs)) == "---------TTT");
  // The trader's own interval may be the higher one: 5m bars evaluated against 5m inputs.
  const std::array m5_only{SeriesInput{Interval::m5, m5}};
  require_equal(eval(expr("close", Interval::m5), m5_only), {5, 10});
}

TEST_CASE("rsi(14) over BTCUSDT's week of 1m bars equals ta::rsi over the closes", "[rules_eval]") {
  const std::string path = std::string(SCREENER_SHARED_DATA) +
                           "/freqtrade_selskas_2021/binance_spot_1m_94pairs_2021-05-01_to_2021-05-07.csv.gz";
  INFO(path);
  REQUIRE(std::filesystem::exists(path));
  auto loaded = load_kline_csv(path);
  REQUIRE(loaded.has_value());
  const KlineSeries* btc = nullptr;
  for (const auto& s : *loaded)
    if (s.symbol() == "BTCUSDT") btc = &s;
  REQUIRE(btc != nullptr);
  const std::vector<shm::Bar>& bars = btc->bars();
  REQUIRE(bars.size() > 1000);
  std::vector<double> expected(bars.size());
  (void)ta::rsi(closes_of(bars), 14, expected);
  require_equal(eval1("rsi(14)", bars), expected);

  // And at 1h, aggregated: the 1h value at each 1m bar is the last closed hour's.
  const std::vector<shm::Bar> h1 = *aggregate_bars(bars, Interval::m1, Interval::h1);
  std::vector<double> hourly(h1.size());
  (void)ta::rsi(closes_of(h1), 14, hourly);
  const std::array inputs{SeriesInput{Interval::m1, bars}, SeriesInput{Interval::h1, h1}};
  const SeriesResult r = eval(expr("rsi(14)@1h"), inputs);
  std::size_t j = 0;
  for (std::size_t t = 0; t < bars.size(); ++t) {
    const std::int64_t now = bar_close_time(Interval::m1, bars[t].open_time_ms);
    while (j < h1.size() && bar_close_time(Interval::h1, h1[j].open_time_ms) <= now) ++j;
    const double want = j == 0 ? ta::kNaN : hourly[j - 1];
    INFO("bar " << t);
    REQUIRE(r.values[t].ready == !std::isnan(want));
    if (r.values[t].ready) REQUIRE(r.values[t].number == want);
  }
}

namespace {

struct Run {
  int exit_code = -1;
  std::string output;
};

/// Runs a shell command line, capturing stdout and stderr together.
Run run(const std::string& command) {
  Run r;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) r.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace

TEST_CASE("screenerctl eval --csv prints the last value, the series and rule errors", "[rules_eval][process]") {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / fmt::format("rules_eval_test_{}", ::getpid());
  std::filesystem::create_directories(dir);
  const std::filesystem::path csv = dir / "klines.csv";
  {
    std::ofstream out(csv);
    out << "symbol,open_time_ms,open,high,low,close,volume\n";
    for (int i = 0; i < 10; ++i) {
      const std::int64_t t = kT0 + i * 60'000;
      const int close = i + 1;
      out << "AAAUSDT," << t << ',' << close << ",20,0.5," << close << ",3\n";
      out << "BBBUSDT," << t << ",7,8,6,7,3\n";
    }
  }
  const std::string ctl = std::string(SCREENER_BIN_DIR) + "/screenerctl eval --csv " + csv.string();

  const Run last = run(ctl + " --symbol AAAUSDT --interval 1m 'close[1] * 10'");
  CHECK(last.exit_code == 0);
  CHECK(last.output == "90\n");

  const Run sma = run(ctl + " --symbol AAAUSDT --interval 1m 'sma(2)'");
  CHECK(sma.exit_code == 0);
  CHECK(sma.output == "9.5\n");

  const Run ratio = run(ctl + " --symbol AAAUSDT --interval 1m 'close / 30'");
  CHECK(ratio.exit_code == 0);
  CHECK(ratio.output == fmt::format("{}\n", 10.0 / 30));  // the shortest round-trip decimal

  const Run series = run(ctl + " --symbol AAAUSDT --interval 5m --series 'close > close[1]'");
  CHECK(series.exit_code == 0);
  CHECK(series.output == fmt::format("open_time,value\n{},nan\n{},true\n", kT0, kT0 + 300'000));

  const Run higher = run(ctl + " --symbol AAAUSDT --interval 1m --series 'close@5m'");
  CHECK(higher.exit_code == 0);
  CHECK_THAT(higher.output, Catch::Contains(fmt::format("{},nan\n{},5\n", kT0 + 180'000, kT0 + 240'000)));
  CHECK_THAT(higher.output, Catch::EndsWith(fmt::format("{},10\n", kT0 + 540'000)));

  const Run typo = run(ctl + " --symbol AAAUSDT --interval 1m 'rsii(14) < 30'");
  CHECK(typo.exit_code == 2);
  CHECK(typo.output == "<command line>:1:1: unknown function 'rsii' (did you mean 'rsi'?)\nrsii(14) < 30\n^~~~\n");

  const Run missing = run(ctl + " --symbol ZZZUSDT --interval 1m 'close > 0'");
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.output, Catch::Contains("symbol ZZZUSDT is not in"));

  const Run ambiguous = run(ctl + " --interval 1m 'close > 0'");
  CHECK(ambiguous.exit_code == 1);
  CHECK_THAT(ambiguous.output, Catch::Contains("choose one with --symbol"));

  std::filesystem::remove_all(dir);
}
