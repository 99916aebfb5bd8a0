// SPDX-License-Identifier: Apache-2.0
// worker::IndicatorState: every function of the rule language against the batch evaluator
// (rules::evaluate_series) bit for bit, over a random walk, degenerate series and real Binance 1m
// bars; the output history, peek(), reset(), output_index(), and the absence of allocation on the
// hot paths (counted by the replaced global operator new below).
#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <new>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "common/kline_csv.hpp"
#include "common/rules/evaluate.hpp"
#include "worker/indicator_state.hpp"

namespace {
std::atomic<std::size_t> g_allocations{0};
}  // namespace

// Every allocation of this executable is counted, so that a test can prove a code path makes none.
// Out of line: inlined into std::allocator, GCC would flag free() on operator new's pointer.
[[gnu::noinline]] void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace screener;
using screener::worker::IndicatorState;
using screener::worker::output_index;

namespace {

constexpr std::array kHeld{Interval::m1};
// 2021-05-01 23:00 UTC: a series of 600 1m bars crosses midnight at bar 60, restarting vwap.
constexpr std::int64_t kT0 = 1'619'910'000'000;
constexpr std::int64_t kMinute = 60'000;

// Every function of the language, several with a non-default source, every output of the
// multi-output ones, and edge parameters (swapped macd periods, period-1 smoothing, negative k).
constexpr std::array<std::string_view, 52> kExpressions{
    "sma(20)",
    "sma(volume, 20)",
    "ema(12)",
    "ema(open, 30)",
    "wma(9)",
    "wma(high, 20)",
    "rsi(14)",
    "rsi(low, 7)",
    "macd(12, 26, 9).line",
    "macd(12, 26, 9).signal",
    "macd(12, 26, 9).hist",
    "macd(26, 12, 9).hist",
    "macd(5, 8, 1).signal",
    "bbands(20, 2).upper",
    "bbands(20, 2).middle",
    "bbands(20, 2).lower",
    "bbands(20, 2).width",
    "bbands(20, 2).percent_b",
    "bbands(quote_volume, 10, -1.5).percent_b",
    "bbands(open, 5, 0).width",
    "atr(14)",
    "atr(1)",
    "natr(14)",
    "stoch(14, 3, 3).k",
    "stoch(14, 3, 3).d",
    "stoch(5, 1, 1).k",
    "stoch(5, 1, 1).d",
    "stochrsi(14, 14, 3).k",
    "stochrsi(14, 14, 3).d",
    "stochrsi(high, 10, 5, 2).k",
    "stochrsi(high, 10, 5, 2).d",
    "adx(14)",
    "adx(2)",
    "plus_di(14)",
    "minus_di(14)",
    "minus_di(3)",
    "cci(20)",
    "mfi(14)",
    "willr(14)",
    "obv",
    "vwap()",
    "roc(10)",
    "roc(trades, 5)",
    "change_pct(1)",
    "change_pct(volume, 3)",
    "highest(high, 10)",
    "lowest(low, 10)",
    "highest(20)",
    "lowest(trades, 7)",
    "highest(quote_volume, 2)",
    "cci(2)",
    "mfi(2)",
};

constexpr std::array<std::string_view, 22> kFunctionNames{
    "sma", "ema", "wma", "rsi", "macd", "bbands", "atr", "natr", "stoch", "stochrsi", "adx",
    "plus_di", "minus_di", "cci", "mfi", "willr", "obv", "roc", "change_pct", "vwap", "highest", "lowest",
};

rules::CheckedRule load(std::string_view text) {
  rules::CheckOptions options;
  options.trader_interval = Interval::m1;
  options.held = kHeld;
  auto rule = rules::load_expression(text, rules::Origin{"<test>", 1, 1}, options);
  INFO(text);
  INFO((rule ? std::string() : rule.error()));
  REQUIRE(rule.has_value());
  REQUIRE(rule->root.kind == rules::Node::Kind::Indicator);
  REQUIRE(rule->keys.size() == 1);
  return std::move(*rule);
}

/// The indicator's key and the index of the output the expression selects.
struct Selected {
  rules::CheckedRule rule;
  rules::IndicatorKey key;
  std::uint8_t output = 0;
  int warmup = 0;  ///< bars after which the batch value is a number (margin included)
};

Selected select(std::string_view text) {
  Selected s{load(text), {}, 0, 0};
  s.key = s.rule.keys[0];
  const auto index = output_index(s.key.function, s.rule.root.output);
  INFO(text);
  REQUIRE(index.has_value());
  s.output = *index;
  s.warmup = s.rule.key_bars[0];
  return s;
}

/// Distinct keys of kExpressions, in order of first appearance.
std::vector<rules::IndicatorKey> all_keys() {
  std::vector<rules::IndicatorKey> keys;
  for (std::string_view text : kExpressions) {
    rules::IndicatorKey key = load(text).keys[0];
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
  }
  return keys;
}

bool identical(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

/// SplitMix64: the same bars on every platform (std:: distributions are implementation-defined).
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1p-53; }

 private:
  std::uint64_t state_;
};

/// A random walk of `n` 1m bars on a price grid of `tick` (so closes and highs repeat, as real ones
/// do): ±0.2% per bar, wicks up to 0.15%, about 5% of the bars without volume.
std::vector<shm::Bar> random_walk(std::size_t n, double start, double tick, double volume_scale, std::uint64_t seed) {
  Random rng(seed);
  auto on_grid = [&](double x) { return std::max(std::round(x / tick), 1.0) * tick; };
  std::vector<shm::Bar> bars;
  double price = on_grid(start);
  for (std::size_t i = 0; i < n; ++i) {
    shm::Bar b{};
    b.open_time_ms = kT0 + static_cast<std::int64_t>(i) * kMinute;
    b.open = price;
    b.close = on_grid(price * (1.0 + (rng.uniform() - 0.5) * 0.004));
    b.high = std::max(on_grid(std::max(b.open, b.close) * (1.0 + rng.uniform() * 0.0015)), std::max(b.open, b.close));
    b.low = std::min(on_grid(std::min(b.open, b.close) * (1.0 - rng.uniform() * 0.0015)), std::min(b.open, b.close));
    const bool quiet = rng.uniform() < 0.05;
    b.volume = quiet ? 0.0 : std::round(rng.uniform() * volume_scale * 1000.0) / 1000.0;
    b.quote_volume = b.volume * ((b.high + b.low) / 2.0);
    b.trades = quiet ? 0 : 1 + static_cast<std::int64_t>(rng.next() % 200);
    b.taker_buy_base_volume = b.volume / 2.0;
    b.taker_buy_quote_volume = b.quote_volume / 2.0;
    bars.push_back(b);
    price = b.close;
  }
  return bars;
}

std::vector<shm::Bar> flat(std::size_t n, double price) {
  std::vector<shm::Bar> bars(n);
  for (std::size_t i = 0; i < n; ++i) {
    shm::Bar& b = bars[i];
    b.open_time_ms = kT0 + static_cast<std::int64_t>(i) * kMinute;
    b.open = b.high = b.low = b.close = price;
  }
  return bars;
}

const std::vector<shm::Bar>& walk() {
  static const std::vector<shm::Bar> bars = random_walk(600, 100.0, 0.01, 500.0, 42);
  return bars;
}

/// Feeds `bars` to a state of the expression's key and compares value(output, 0) after every bar
/// with the batch evaluation at that bar: the same bits, NaN exactly where batch is not ready. With
/// `numbers_after_warmup`, every value after the key's warm-up must also be a number.
void expect_matches_batch(std::string_view text, const std::vector<shm::Bar>& bars, std::string_view series,
                          bool numbers_after_warmup = false) {
  const Selected s = select(text);
  const std::array inputs{rules::SeriesInput{Interval::m1, bars}};
  const auto batch = rules::evaluate_series(s.rule, inputs);
  INFO(series << ": " << text);
  REQUIRE(batch.has_value());
  REQUIRE(batch->values.size() == bars.size());

  IndicatorState state(s.key, 2);
  std::size_t mismatches = 0, not_numbers = 0, numbers = 0;
  std::size_t first_mismatch = 0;
  double got_first = 0, want_first = 0;
  for (std::size_t i = 0; i < bars.size(); ++i) {
    state.update(bars[i]);
    const rules::Value& want = batch->values[i];
    const double got = state.value(s.output, 0);
    if (want.ready) ++numbers;
    if (!identical(got, want.ready ? want.number : ta::kNaN)) {
      if (mismatches++ == 0) {
        first_mismatch = i;
        got_first = got;
        want_first = want.ready ? want.number : ta::kNaN;
      }
    }
    if (numbers_after_warmup && i + 1 >= static_cast<std::size_t>(s.warmup) && std::isnan(got)) ++not_numbers;
  }
  INFO("first mismatch at bar " << first_mismatch << ": state " << got_first << ", batch " << want_first);
  CHECK(mismatches == 0);
  CHECK(numbers > 0);
  CHECK(state.bars() == bars.size());
  if (numbers_after_warmup) {
    INFO("warm-up " << s.warmup << " bars");
    CHECK(not_numbers == 0);
  }
}

struct Snapshot {
  std::uint64_t bars = 0;
  std::vector<double> values;  ///< every output at every age up to history + 1
};

Snapshot snapshot(const IndicatorState& s) {
  Snapshot out{s.bars(), {}};
  for (std::uint8_t o = 0; o <= s.outputs(); ++o)
    for (std::size_t age = 0; age <= s.history() + 1; ++age) out.values.push_back(s.value(o, age));
  return out;
}

bool identical(const Snapshot& a, const Snapshot& b) {
  if (a.bars != b.bars || a.values.size() != b.values.size()) return false;
  for (std::size_t i = 0; i < a.values.size(); ++i)
    if (!identical(a.values[i], b.values[i])) return false;
  return true;
}

/// A forming version of `b`: the bar so far, its close elsewhere and less volume.
shm::Bar forming_of(const shm::Bar& b, double fraction) {
  shm::Bar f = b;
  f.close = b.low + (b.high - b.low) * fraction;
  f.volume = b.volume * fraction;
  f.quote_volume = b.quote_volume * fraction;
  f.trades = static_cast<std::int64_t>(static_cast<double>(b.trades) * fraction);
  return f;
}

}  // namespace

TEST_CASE("Every function of the language is among the tested expressions", "[indicator_state]") {
  std::set<std::string> functions;
  for (std::string_view text : kExpressions) functions.insert(load(text).keys[0].function);
  CHECK(functions == std::set<std::string>(kFunctionNames.begin(), kFunctionNames.end()));
}

TEST_CASE("Every indicator state equals the batch evaluator bit for bit over a 600-bar random walk",
          "[indicator_state]") {
  for (std::string_view text : kExpressions) expect_matches_batch(text, walk(), "random walk");
}

TEST_CASE("Every indicator state equals the batch evaluator bit for bit over real BTCUSDT and WINUSDT 1m bars",
          "[indicator_state]") {
  const std::string path = std::string(SCREENER_SHARED_DATA) +
                           "/freqtrade_selskas_2021/binance_spot_1m_94pairs_2021-05-01_to_2021-05-07.csv.gz";
  INFO(path);
  REQUIRE(std::filesystem::exists(path));
  const auto loaded = load_kline_csv(path);
  REQUIRE(loaded.has_value());
  // BTCUSDT near 57 000 USDT; WINUSDT near 1e-3 USDT with volumes near 1e8.
  for (const char* symbol : {"BTCUSDT", "WINUSDT"}) {
    const auto it = std::find_if(loaded->begin(), loaded->end(), [&](const auto& s) { return s.symbol() == symbol; });
    REQUIRE(it != loaded->end());
    REQUIRE(it->size() == 10'080);
    for (std::string_view text : kExpressions) expect_matches_batch(text, it->bars(), symbol);
  }
}

TEST_CASE("A flat series with zero volume matches batch bit for bit and is a number after warm-up",
          "[indicator_state]") {
  for (const double price : {100.0, 1e-8}) {
    const std::vector<shm::Bar> bars = flat(600, price);
    for (std::string_view text : kExpressions)
      expect_matches_batch(text, bars, price == 100.0 ? "flat at 100" : "flat at 1e-8", true);
  }
}

TEST_CASE("Prices near 1e-8 match batch bit for bit and are numbers after warm-up", "[indicator_state]") {
  // A sub-satoshi coin: ticks of 1e-12 (0.01%), volumes near 1e10.
  const std::vector<shm::Bar> tiny = random_walk(600, 1e-8, 1e-12, 1e10, 7);
  for (std::string_view text : kExpressions) expect_matches_batch(text, tiny, "near 1e-8", true);
  // And on the coarse grid such a coin really trades on: prices of a few 1e-8 steps, many repeats.
  const std::vector<shm::Bar> coarse = random_walk(600, 3e-8, 1e-9, 1e10, 11);
  for (std::string_view text : kExpressions) expect_matches_batch(text, coarse, "near 3e-8 on a 1e-9 grid", true);
}

TEST_CASE("value(output, age) is the value age updates earlier, NaN beyond the history and the bars fed",
          "[indicator_state]") {
  const std::vector<shm::Bar>& bars = walk();
  for (const std::size_t history : {std::size_t{1}, std::size_t{5}}) {
    for (const rules::IndicatorKey& key : all_keys()) {
      INFO(rules::to_string(key) << ", history " << history);
      IndicatorState state(key, history);
      REQUIRE(state.history() == history);
      std::vector<std::vector<double>> seen(state.outputs());
      std::size_t mismatches = 0;
      for (std::uint8_t o = 0; o <= state.outputs(); ++o)
        if (!std::isnan(state.value(o, 0))) ++mismatches;
      for (std::size_t i = 0; i < bars.size(); ++i) {
        state.update(bars[i]);
        for (std::uint8_t o = 0; o < state.outputs(); ++o) {
          seen[o].push_back(state.value(o, 0));
          for (std::size_t age = 0; age <= history + 2; ++age) {
            const double want = age < history && age <= i ? seen[o][i - age] : ta::kNaN;
            if (!identical(state.value(o, age), want)) ++mismatches;
          }
        }
        if (!std::isnan(state.value(state.outputs(), 0))) ++mismatches;
      }
      CHECK(mismatches == 0);
      // The recorded values really change, so the ages are told apart.
      CHECK(std::set<double>(seen[0].begin() + 300, seen[0].end()).size() > 10);
    }
  }
}

TEST_CASE("peek returns the value after one more bar and leaves the state unchanged", "[indicator_state]") {
  const std::vector<shm::Bar>& bars = walk();
  for (const rules::IndicatorKey& key : all_keys()) {
    INFO(rules::to_string(key));
    IndicatorState state(key, 3);
    IndicatorState scratch(key, 3);
    std::size_t wrong_values = 0, changed_states = 0, numbers = 0;
    for (std::size_t i = 0; i < bars.size(); ++i) {
      const shm::Bar forming = forming_of(bars[i], 0.25 + 0.5 * static_cast<double>(i % 3) / 2.0);
      const Snapshot before = snapshot(state);
      IndicatorState after = state;
      after.update(forming);
      for (std::uint8_t o = 0; o < state.outputs(); ++o) {
        const double peeked = state.peek(forming, o, scratch);
        if (!identical(peeked, after.value(o, 0))) ++wrong_values;
        if (!std::isnan(peeked)) ++numbers;
      }
      if (!identical(snapshot(state), before)) ++changed_states;
      state.update(bars[i]);
    }
    CHECK(wrong_values == 0);
    CHECK(changed_states == 0);
    CHECK(numbers > 0);
  }
}

TEST_CASE("reset then re-feeding repeats a fresh state's values", "[indicator_state]") {
  const std::vector<shm::Bar>& bars = walk();
  for (const rules::IndicatorKey& key : all_keys()) {
    INFO(rules::to_string(key));
    IndicatorState fresh(key, 4);
    IndicatorState reused(key, 4);
    for (std::size_t i = 0; i < 250; ++i) reused.update(bars[(i * 7) % bars.size()]);
    reused.reset();
    CHECK(identical(snapshot(reused), snapshot(fresh)));
    std::size_t differences = 0;
    for (const shm::Bar& b : bars) {
      fresh.update(b);
      reused.update(b);
      if (!identical(snapshot(reused), snapshot(fresh))) ++differences;
    }
    CHECK(differences == 0);
  }
}

TEST_CASE("update, value, peek, reset and copy-assignment between states of one key do not allocate",
          "[indicator_state]") {
  const std::vector<shm::Bar>& bars = walk();
  for (const rules::IndicatorKey& key : all_keys()) {
    INFO(rules::to_string(key));
    IndicatorState state(key, 4);
    IndicatorState scratch(key, 4);
    IndicatorState target(key, 4);
    std::size_t numbers = 0;
    const std::size_t before = g_allocations.load();
    for (int pass = 0; pass < 2; ++pass) {
      for (const shm::Bar& b : bars) {
        numbers += !std::isnan(state.peek(forming_of(b, 0.5), 0, scratch));
        state.update(b);
        numbers += !std::isnan(state.value(0, 0)) + !std::isnan(state.value(0, 3));
      }
      target = state;
      state.reset();
    }
    const std::size_t allocations = g_allocations.load() - before;
    CHECK(allocations == 0);
    CHECK(target.bars() == bars.size());
    CHECK(numbers > 0);
  }
}

TEST_CASE("Copies and moves carry the whole state", "[indicator_state]") {
  const std::vector<shm::Bar>& bars = walk();
  const rules::IndicatorKey key = select("macd(12, 26, 9).hist").key;
  IndicatorState state(key, 3);
  for (std::size_t i = 0; i < 100; ++i) state.update(bars[i]);
  IndicatorState copy(state);
  IndicatorState assigned(select("rsi(14)").key, 1);
  assigned = state;  // from another key: the shape changes too
  IndicatorState temporary(state);
  IndicatorState moved(std::move(temporary));
  IndicatorState move_assigned(select("obv").key, 1);
  IndicatorState other(state);
  move_assigned = std::move(other);
  for (std::size_t i = 100; i < bars.size(); ++i) {
    state.update(bars[i]);
    copy.update(bars[i]);
    assigned.update(bars[i]);
    moved.update(bars[i]);
    move_assigned.update(bars[i]);
  }
  CHECK(identical(snapshot(copy), snapshot(state)));
  CHECK(identical(snapshot(assigned), snapshot(state)));
  CHECK(identical(snapshot(moved), snapshot(state)));
  CHECK(identical(snapshot(move_assigned), snapshot(state)));
  // reset() of a copy returns to the copied key's fresh state.
  assigned.reset();
  CHECK(identical(snapshot(assigned), snapshot(IndicatorState(key, 3))));
}

TEST_CASE("output_index numbers every output of every function and refuses unknown pairs", "[indicator_state]") {
  for (std::string_view fn : {"sma", "ema", "wma", "rsi", "atr", "natr", "adx", "plus_di", "minus_di", "cci", "mfi",
                              "willr", "obv", "roc", "change_pct", "vwap", "highest", "lowest"}) {
    INFO(fn);
    CHECK(output_index(fn, "") == std::uint8_t{0});
    CHECK_FALSE(output_index(fn, "k").has_value());
    CHECK_FALSE(output_index(fn, "line").has_value());
  }
  CHECK(output_index("macd", "line") == std::uint8_t{0});
  CHECK(output_index("macd", "signal") == std::uint8_t{1});
  CHECK(output_index("macd", "hist") == std::uint8_t{2});
  CHECK(output_index("bbands", "upper") == std::uint8_t{0});
  CHECK(output_index("bbands", "middle") == std::uint8_t{1});
  CHECK(output_index("bbands", "lower") == std::uint8_t{2});
  CHECK(output_index("bbands", "width") == std::uint8_t{3});
  CHECK(output_index("bbands", "percent_b") == std::uint8_t{4});
  for (std::string_view fn : {"stoch", "stochrsi"}) {
    INFO(fn);
    CHECK(output_index(fn, "k") == std::uint8_t{0});
    CHECK(output_index(fn, "d") == std::uint8_t{1});
    CHECK_FALSE(output_index(fn, "").has_value());
  }
  CHECK_FALSE(output_index("macd", "").has_value());
  CHECK_FALSE(output_index("macd", "histogram").has_value());
  CHECK_FALSE(output_index("bbands", "k").has_value());
  CHECK_FALSE(output_index("rsii", "").has_value());
  CHECK_FALSE(output_index("stochf", "k").has_value());
  CHECK_FALSE(output_index("", "").has_value());
  // Every output count fits kMaxOutputs, and a state has as many outputs as its function.
  CHECK(IndicatorState(select("bbands(20, 2).upper").key, 1).outputs() == worker::kMaxOutputs);
  CHECK(IndicatorState(select("macd(12, 26, 9).line").key, 1).outputs() == 3);
  CHECK(IndicatorState(select("stochrsi(14, 14, 3).k").key, 1).outputs() == 2);
  CHECK(IndicatorState(select("obv").key, 1).outputs() == 1);
}

TEST_CASE("The constructor refuses unknown functions, invalid parameters and an empty history", "[indicator_state]") {
  rules::IndicatorKey key = select("rsi(14)").key;
  CHECK_NOTHROW(IndicatorState(key, 1));
  CHECK_THROWS_AS(IndicatorState(key, 0), std::invalid_argument);
  rules::IndicatorKey bad_period = key;
  bad_period.params = {1};
  CHECK_THROWS_AS(IndicatorState(bad_period, 1), std::invalid_argument);
  rules::IndicatorKey no_params = key;
  no_params.params.clear();
  CHECK_THROWS_AS(IndicatorState(no_params, 1), std::invalid_argument);
  rules::IndicatorKey unknown = key;
  unknown.function = "stochf";  // a library indicator the language does not offer
  CHECK_THROWS_AS(IndicatorState(unknown, 1), std::invalid_argument);
}
