// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "tests/support/temp_dir.hpp"
#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <unistd.h>

#include "common/interval.hpp"
#include "tools/replay/exchange_model.hpp"

using screener::Interval;
using screener::interval_info;
using namespace screener::replay;

namespace {

const std::string kData = SCREENER_SHARED_DATA;
const std::string kArchive27 = kData + "/nautilus_databinancevision_sample/ADABTC-1m-2021-11-27.csv";
const std::string kArchive28 = kData + "/nautilus_databinancevision_sample/ADABTC-1m-2021-11-28.csv";
const std::string kWeek = kData + "/freqtrade_selskas_2021/binance_spot_1m_94pairs_2021-05-01_to_2021-05-07.csv.gz";
const std::string kCryptofeed = kData + "/cryptofeed_binance_2021-10-12/BINANCE.ws.1.0";

constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kDay = 86'400'000;

double number(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  REQUIRE(ec == std::errc{});
  REQUIRE(end == text.data() + text.size());
  return value;
}

// --- JSON access that checks types: strings stay strings, numbers numbers. -------------------

simdjson::dom::element member(simdjson::dom::element e, std::string_view key) {
  simdjson::dom::element out;
  INFO("key " << key);
  REQUIRE(e[key].get(out) == simdjson::SUCCESS);
  return out;
}
std::string str(simdjson::dom::element e, std::string_view key) {
  std::string_view out;
  INFO("key " << key << " must be a string");
  REQUIRE(member(e, key).get(out) == simdjson::SUCCESS);
  return std::string(out);
}
std::int64_t integer(simdjson::dom::element e, std::string_view key) {
  std::int64_t out = 0;
  INFO("key " << key << " must be an integer");
  REQUIRE(member(e, key).get(out) == simdjson::SUCCESS);
  return out;
}
bool boolean(simdjson::dom::element e, std::string_view key) {
  bool out = false;
  INFO("key " << key << " must be a boolean");
  REQUIRE(member(e, key).get(out) == simdjson::SUCCESS);
  return out;
}

/// Holds a parser per document, so elements stay valid while the document is used.
struct Json {
  explicit Json(const std::string& text) {
    INFO(text.substr(0, 300));
    REQUIRE(parser.parse(text).get(root) == simdjson::SUCCESS);
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
};

struct Kline {
  std::int64_t E = 0, t = 0, T = 0, f = 0, L = 0, n = 0;
  std::string s, i, o, c, h, l, v, q, V, Q;
  bool x = false;
};

Kline parse_kline(const std::string& payload) {
  Json json(payload);
  const auto doc = json.root;
  CHECK(str(doc, "e") == "kline");
  Kline k;
  k.E = integer(doc, "E");
  k.s = str(doc, "s");
  const auto body = member(doc, "k");
  k.t = integer(body, "t");
  k.T = integer(body, "T");
  CHECK(str(body, "s") == k.s);
  k.i = str(body, "i");
  k.f = integer(body, "f");
  k.L = integer(body, "L");
  k.o = str(body, "o");
  k.c = str(body, "c");
  k.h = str(body, "h");
  k.l = str(body, "l");
  k.v = str(body, "v");
  k.n = integer(body, "n");
  k.x = boolean(body, "x");
  k.q = str(body, "q");
  k.V = str(body, "V");
  k.Q = str(body, "Q");
  CHECK(str(body, "B") == "0");
  return k;
}

struct RestKline {
  std::int64_t t = 0, T = 0, n = 0;
  std::string o, h, l, c, v, q, V, Q;
};

std::vector<RestKline> parse_klines(const std::string& body) {
  Json json(body);
  simdjson::dom::array array;
  REQUIRE(json.root.get(array) == simdjson::SUCCESS);
  std::vector<RestKline> out;
  for (simdjson::dom::element row : array) {
    simdjson::dom::array items;
    REQUIRE(row.get(items) == simdjson::SUCCESS);
    REQUIRE(items.size() == 12);
    std::vector<simdjson::dom::element> e(items.begin(), items.end());
    RestKline k;
    std::string_view text;
    REQUIRE(e[0].get(k.t) == simdjson::SUCCESS);
    REQUIRE(e[6].get(k.T) == simdjson::SUCCESS);
    REQUIRE(e[8].get(k.n) == simdjson::SUCCESS);
    std::string* strings[] = {&k.o, &k.h, &k.l, &k.c, &k.v};
    for (int i = 0; i < 5; ++i) {
      REQUIRE(e[static_cast<std::size_t>(i) + 1].get(text) == simdjson::SUCCESS);
      *strings[i] = std::string(text);
    }
    REQUIRE(e[7].get(text) == simdjson::SUCCESS);
    k.q = std::string(text);
    REQUIRE(e[9].get(text) == simdjson::SUCCESS);
    k.V = std::string(text);
    REQUIRE(e[10].get(text) == simdjson::SUCCESS);
    k.Q = std::string(text);
    REQUIRE(e[11].get(text) == simdjson::SUCCESS);
    CHECK(text == "0");
    out.push_back(k);
  }
  return out;
}

std::unique_ptr<ExchangeModel> make(const ModelOptions& options) {
  auto model = make_exchange_model(options);
  INFO((model ? std::string() : model.error()));
  REQUIRE(model.has_value());
  return std::move(*model);
}

ModelOptions synthetic(std::uint64_t seed, std::size_t symbols, std::size_t history, std::vector<Interval> intervals,
                       std::int64_t start_ms = 1'704'067'200'000, std::optional<std::size_t> live = std::nullopt) {
  ModelOptions options;
  options.source = SyntheticSource{seed, symbols, start_ms, history, live};
  options.intervals = std::move(intervals);
  return options;
}

std::vector<RestKline> klines(const ExchangeModel& model, const std::string& query) {
  const RestAnswer answer = model.rest("/api/v3/klines", query);
  INFO(query << " -> " << answer.body.substr(0, 300));
  REQUIRE(answer.status == 200);
  CHECK(answer.weight == 2);
  return parse_klines(answer.body);
}

/// All REST klines of `interval` from `start` up to the clock (paged by 1000).
std::vector<RestKline> all_klines(const ExchangeModel& model, const std::string& symbol, std::string_view interval,
                                  std::int64_t start) {
  std::vector<RestKline> out;
  for (;;) {
    auto page = klines(model, fmt::format("symbol={}&interval={}&startTime={}&limit=1000", symbol, interval, start));
    out.insert(out.end(), page.begin(), page.end());
    if (page.size() < 1000) return out;
    start = page.back().t + 1;
  }
}

/// The doubles a hand fold of `bars` gives, in the model's order.
struct Folded {
  std::string open, close;
  double high = 0, low = 0, volume = 0, quote = 0, taker_base = 0, taker_quote = 0;
  std::int64_t trades = 0;
};
Folded fold(const std::vector<RestKline>& bars) {
  Folded f;
  f.open = bars.front().o;
  f.close = bars.back().c;
  f.high = number(bars.front().h);
  f.low = number(bars.front().l);
  f.volume = number(bars.front().v);
  f.quote = number(bars.front().q);
  f.taker_base = number(bars.front().V);
  f.taker_quote = number(bars.front().Q);
  f.trades = bars.front().n;
  for (std::size_t i = 1; i < bars.size(); ++i) {
    f.high = std::max(f.high, number(bars[i].h));
    f.low = std::min(f.low, number(bars[i].l));
    f.volume += number(bars[i].v);
    f.quote += number(bars[i].q);
    f.taker_base += number(bars[i].V);
    f.taker_quote += number(bars[i].Q);
    f.trades += bars[i].n;
  }
  return f;
}

void check_equal(const RestKline& bar, const Folded& f) {
  CHECK(bar.o == f.open);
  CHECK(bar.c == f.close);
  CHECK(number(bar.h) == f.high);
  CHECK(number(bar.l) == f.low);
  CHECK(number(bar.v) == f.volume);
  CHECK(number(bar.q) == f.quote);
  CHECK(number(bar.V) == f.taker_base);
  CHECK(number(bar.Q) == f.taker_quote);
  CHECK(bar.n == f.trades);
}

std::vector<RestKline> base_bars_of(const std::vector<RestKline>& base, std::int64_t open, std::int64_t close) {
  std::vector<RestKline> out;
  for (const auto& b : base)
    if (b.t >= open && b.t <= close) out.push_back(b);
  return out;
}

/// Steps the model until the clock reaches `until_ms` (inclusive) or the source ends.
std::vector<std::pair<std::int64_t, StreamFrame>> run_until(ExchangeModel& model, std::int64_t until_ms) {
  std::vector<std::pair<std::int64_t, StreamFrame>> out;
  while (model.next_step_ms() && *model.next_step_ms() <= until_ms) {
    const std::int64_t at = *model.next_step_ms();
    for (auto& frame : model.step()) out.emplace_back(at, std::move(frame));
    REQUIRE(model.now_ms() == at);
  }
  return out;
}

std::string error_body(int code, std::string_view msg) {
  return fmt::format("{{\"code\":{},\"msg\":\"{}\"}}", code, msg);
}

using ScratchDir = screener::test::TempDir;

}  // namespace

// ---------------------------------------------------------------------------------------------
// Synthetic source

TEST_CASE("SameSeedGivesByteIdenticalFrames", "[replay_model]") {
  const auto options = synthetic(42, 4, 100, {Interval::m1, Interval::m5, Interval::h1});
  auto a = make(options);
  auto b = make(options);
  auto c = make(synthetic(43, 4, 100, {Interval::m1, Interval::m5, Interval::h1}));
  CHECK(a->rest("/api/v3/klines", "symbol=SYN002USDT&interval=1m&limit=100").body ==
        b->rest("/api/v3/klines", "symbol=SYN002USDT&interval=1m&limit=100").body);
  CHECK(a->rest("/api/v3/klines", "symbol=SYN002USDT&interval=1m&limit=100").body !=
        c->rest("/api/v3/klines", "symbol=SYN002USDT&interval=1m&limit=100").body);
  std::size_t frames = 0;
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(a->next_step_ms() == b->next_step_ms());
    const auto fa = a->step();
    const auto fb = b->step();
    REQUIRE(fa.size() == fb.size());
    for (std::size_t k = 0; k < fa.size(); ++k) {
      REQUIRE(fa[k].stream == fb[k].stream);
      REQUIRE(fa[k].payload == fb[k].payload);
    }
    frames += fa.size();
  }
  CHECK(frames > 1000);
  CHECK(a->rest("/api/v3/ticker/24hr", "").body == b->rest("/api/v3/ticker/24hr", "").body);
}

TEST_CASE("SyntheticBarsAreValidAcrossPriceLevels", "[replay_model]") {
  auto sut = make(synthetic(7, 12, 1000, {Interval::m1}));
  CHECK(sut->listings().size() == 12);
  CHECK(sut->listings()[0].symbol == "SYN000USDT");
  CHECK(sut->listings()[0].base_asset == "SYN000");
  CHECK(sut->listings()[0].quote_asset == "USDT");
  CHECK(sut->now_ms() == 1'704'067'200'000);
  std::size_t empty = 0;
  for (const auto& listing : sut->listings()) {
    const auto bars = klines(*sut, "symbol=" + listing.symbol + "&interval=1m&limit=1000");
    REQUIRE(bars.size() == 1000);
    CHECK(bars.back().t == sut->now_ms() - kMinute);  // history only: no step has run
    const double tick = number(listing.tick_size);
    for (std::size_t i = 0; i < bars.size(); ++i) {
      const auto& b = bars[i];
      INFO(listing.symbol << " bar " << b.t);
      for (const std::string* text : {&b.o, &b.h, &b.l, &b.c, &b.v, &b.q, &b.V, &b.Q}) {
        REQUIRE(text->size() > 9);
        REQUIRE((*text)[text->size() - 9] == '.');  // 8 decimals, like Binance
      }
      const double o = number(b.o), h = number(b.h), l = number(b.l), c = number(b.c);
      REQUIRE(l > 0);
      REQUIRE(l <= std::min(o, c));
      REQUIRE(h >= std::max(o, c));
      REQUIRE(std::abs(c / tick - std::round(c / tick)) < 1e-6);
      REQUIRE(number(b.V) <= number(b.v));
      REQUIRE(number(b.Q) <= number(b.q));
      REQUIRE(b.T == b.t + kMinute - 1);
      if (i > 0) REQUIRE(b.o == bars[i - 1].c);
      if (b.n == 0) {
        ++empty;
        REQUIRE(b.v == "0.00000000");
        REQUIRE(b.q == "0.00000000");
        REQUIRE((b.o == b.h && b.h == b.l && b.l == b.c));
      } else {
        REQUIRE(number(b.v) > 0);
        const double typical = (h + l + c) / 3;
        REQUIRE(number(b.q) == Approx(number(b.v) * typical).epsilon(0.01));
      }
    }
  }
  CHECK(empty > 50);     // about 2 % of 12 000 bars
  CHECK(empty < 600);
  const auto btc_like = klines(*sut, "symbol=SYN000USDT&interval=1m&limit=1");
  const auto tiny = klines(*sut, "symbol=SYN001USDT&interval=1m&limit=1");
  CHECK(number(btc_like[0].c) > 10'000);
  CHECK(number(tiny[0].c) < 0.001);
}

// ---------------------------------------------------------------------------------------------
// Aggregation

TEST_CASE("HigherIntervalBarsAggregateTheBaseBarsExactly", "[replay_model]") {
  auto sut = make(synthetic(3, 3, 3000, {Interval::m1}));
  for (const std::string symbol : {"SYN000USDT", "SYN001USDT", "SYN002USDT"}) {
    const std::int64_t from = sut->now_ms() - 3000 * kMinute;
    const auto base = all_klines(*sut, symbol, "1m", from);
    REQUIRE(base.size() == 3000);
    for (const auto& [name, interval] : std::vector<std::pair<std::string, Interval>>{
             {"3m", Interval::m3}, {"5m", Interval::m5}, {"15m", Interval::m15}, {"1h", Interval::h1},
             {"4h", Interval::h4}, {"1d", Interval::d1}}) {
      const auto higher = all_klines(*sut, symbol, name, 0);
      REQUIRE(!higher.empty());
      for (const auto& bar : higher) {
        INFO(symbol << " " << name << " bar " << bar.t);
        CHECK(bar.t == screener::bar_open_time(interval, bar.t));
        CHECK(bar.T == bar.t + interval_info(interval).duration_ms - 1);
        const auto parts = base_bars_of(base, bar.t, bar.T);
        REQUIRE(!parts.empty());
        check_equal(bar, fold(parts));
        if (parts.size() == 1) {  // single-bar passthrough keeps the source text
          CHECK(bar.v == parts[0].v);
          CHECK(bar.q == parts[0].q);
        }
      }
    }
  }
}

TEST_CASE("WeekAndMonthBarsFollowMondayAndCalendarBoundaries", "[replay_model]") {
  // 2024-02-29 23:50 → live from 2024-03-04 23:50 is too long a run; use REST for the history and
  // streams for the closes: start at Sunday 2024-03-03 23:55 with 7 days of history.
  const std::int64_t start = 1'709'510'100'000;  // 2024-03-03 23:55 UTC, a Sunday
  auto sut = make(synthetic(11, 2, 7 * 1440, {Interval::m1, Interval::w1, Interval::M1}, start));
  const auto base = all_klines(*sut, "SYN001USDT", "1m", 0);
  REQUIRE(base.size() == 7 * 1440);
  REQUIRE(base.front().t == 1'708'905'300'000);  // 2024-02-25 23:55, a Sunday

  const auto months = klines(*sut, "symbol=SYN001USDT&interval=1M");
  REQUIRE(months.size() == 2);
  CHECK(months[0].t == 1'706'745'600'000);      // 2024-02-01
  CHECK(months[0].T == 1'709'251'199'999);      // 2024-02-29 23:59:59.999 (leap year)
  CHECK(months[1].t == 1'709'251'200'000);      // 2024-03-01
  CHECK(months[1].T == 1'711'929'599'999);      // 2024-03-31 23:59:59.999
  check_equal(months[0], fold(base_bars_of(base, months[0].t, months[0].T)));
  check_equal(months[1], fold(base_bars_of(base, months[1].t, months[1].T)));

  const auto weeks = klines(*sut, "symbol=SYN001USDT&interval=1w");
  REQUIRE(weeks.size() == 2);
  CHECK(weeks[0].t == 1'708'300'800'000);       // Monday 2024-02-19
  CHECK(weeks[1].t == 1'708'905'600'000);       // Monday 2024-02-26
  CHECK(weeks[1].T == 1'709'510'399'999);       // Sunday 2024-03-03 23:59:59.999
  check_equal(weeks[1], fold(base_bars_of(base, weeks[1].t, weeks[1].T)));

  // Live: the week closes at Monday 00:00 with one x=true frame equal to the REST bar.
  const auto frames = run_until(*sut, 1'709'510'400'000);
  std::vector<Kline> finals;
  for (const auto& [at, frame] : frames)
    if (frame.stream == "syn001usdt@kline_1w") {
      const Kline k = parse_kline(frame.payload);
      if (k.x) finals.push_back(k);
    }
  REQUIRE(finals.size() == 1);
  CHECK(finals[0].t == 1'708'905'600'000);
  CHECK(finals[0].T == 1'709'510'399'999);
  CHECK(finals[0].E == 1'709'510'400'000);
  const auto week = klines(*sut, "symbol=SYN001USDT&interval=1w&startTime=1708905600000&limit=1");
  REQUIRE(week.size() == 1);
  CHECK(finals[0].o == week[0].o);
  CHECK(finals[0].h == week[0].h);
  CHECK(finals[0].l == week[0].l);
  CHECK(finals[0].c == week[0].c);
  CHECK(finals[0].v == week[0].v);
  CHECK(finals[0].q == week[0].q);
  CHECK(finals[0].n == week[0].n);
  // The month did not close: March goes on.
  for (const auto& [at, frame] : frames)
    if (frame.stream == "syn001usdt@kline_1M") CHECK_FALSE(parse_kline(frame.payload).x);
}

// ---------------------------------------------------------------------------------------------
// Streams

TEST_CASE("FormingUpdatesAreValidAndEachBarHasExactlyOneFinalEqualToIt", "[replay_model]") {
  auto sut = make(synthetic(5, 3, 200, {Interval::m1, Interval::m5, Interval::h1}));
  const std::int64_t start = sut->now_ms();
  const std::int64_t end = start + 12 * kMinute;
  const auto frames = run_until(*sut, end);

  struct BarTrack {
    std::vector<Kline> forming;
    std::vector<Kline> finals;
  };
  std::map<std::pair<std::string, std::int64_t>, BarTrack> bars;
  std::map<std::int64_t, std::vector<const StreamFrame*>> by_step;
  for (const auto& [at, frame] : frames) {
    if (frame.stream.find("@kline_") == std::string::npos) continue;
    const Kline k = parse_kline(frame.payload);
    INFO(frame.payload);
    CHECK(k.E == at);
    std::string lower = k.s;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    CHECK(frame.stream == lower + "@kline_" + k.i);
    const Interval interval = *screener::parse_interval(k.i);
    CHECK(k.T == screener::bar_close_time(interval, k.t));
    const double o = number(k.o), h = number(k.h), l = number(k.l), c = number(k.c);
    CHECK(l <= std::min(o, c));
    CHECK(h >= std::max(o, c));
    CHECK(number(k.V) <= number(k.v));
    if (k.n == 0) CHECK((k.f == -1 && k.L == -1));
    else CHECK(k.L - k.f + 1 == k.n);
    auto& track = bars[{frame.stream, k.t}];
    (k.x ? track.finals : track.forming).push_back(k);
    by_step[at].push_back(&frame);
  }
  std::size_t closed_bars = 0;
  for (const auto& [key, track] : bars) {
    INFO(key.first << " bar " << key.second);
    // Forming updates never go backwards.
    for (std::size_t i = 1; i < track.forming.size(); ++i) {
      const Kline& a = track.forming[i - 1];
      const Kline& b = track.forming[i];
      CHECK(a.o == b.o);
      CHECK(number(b.h) >= number(a.h));
      CHECK(number(b.l) <= number(a.l));
      CHECK(number(b.v) >= number(a.v));
      CHECK(number(b.q) >= number(a.q));
      CHECK(b.n >= a.n);
    }
    const Interval interval = *screener::parse_interval(key.first.substr(key.first.find('_') + 1));
    const bool closed = screener::bar_close_time(interval, key.second) < end;
    if (!closed || key.second < start) {
      CHECK(track.finals.empty());
      continue;
    }
    ++closed_bars;
    REQUIRE(track.finals.size() == 1);
    const Kline& fin = track.finals.front();
    CHECK(fin.E == screener::bar_close_time(interval, key.second) + 1);
    if (interval == Interval::m1) CHECK(track.forming.size() == 30);  // one per 2 s
    // The last forming update already carries the final values.
    const Kline& last = track.forming.back();
    CHECK((last.o == fin.o && last.h == fin.h && last.l == fin.l && last.c == fin.c && last.v == fin.v &&
           last.q == fin.q && last.n == fin.n));
    // And the final frame is the bar REST serves.
    const auto rest = klines(*sut, fmt::format("symbol={}&interval={}&startTime={}&limit=1", fin.s, fin.i, fin.t));
    REQUIRE(rest.size() == 1);
    CHECK((rest[0].t == fin.t && rest[0].o == fin.o && rest[0].h == fin.h && rest[0].l == fin.l &&
           rest[0].c == fin.c && rest[0].v == fin.v && rest[0].q == fin.q && rest[0].V == fin.V &&
           rest[0].Q == fin.Q && rest[0].n == fin.n));
  }
  CHECK(closed_bars == 3 * (12 + 2));  // 12 one-minute and 2 five-minute bars per symbol

  // A 5m forming frame is the closed 1m bars of its 5m bar plus the 1m forming bar of that step.
  const std::int64_t probe = start + 7 * kMinute + 20'000;
  REQUIRE(by_step.count(probe) == 1);
  std::optional<Kline> one, five;
  for (const StreamFrame* f : by_step[probe]) {
    if (f->stream == "syn002usdt@kline_1m") one = parse_kline(f->payload);
    if (f->stream == "syn002usdt@kline_5m") five = parse_kline(f->payload);
  }
  REQUIRE(one);
  REQUIRE(five);
  CHECK(five->t == start + 5 * kMinute);
  CHECK_FALSE(five->x);
  const auto closed_ones = klines(*sut, fmt::format("symbol=SYN002USDT&interval=1m&startTime={}&endTime={}",
                                                    five->t, five->t + kMinute));
  REQUIRE(closed_ones.size() == 2);
  CHECK(number(five->v) == number(closed_ones[0].v) + number(closed_ones[1].v) + number(one->v));
  CHECK(five->n == closed_ones[0].n + closed_ones[1].n + one->n);
  CHECK(five->o == closed_ones[0].o);
  CHECK(five->c == one->c);
}

TEST_CASE("UpdatesPerBarIsConfigurable", "[replay_model]") {
  auto options = synthetic(5, 1, 10, {Interval::m1});
  options.updates_per_bar = 1;
  auto sut = make(options);
  const auto frames = run_until(*sut, sut->now_ms() + 3 * kMinute);
  std::map<std::int64_t, int> forming;
  std::map<std::int64_t, int> finals;
  for (const auto& [at, frame] : frames)
    if (frame.stream == "syn000usdt@kline_1m") {
      const Kline k = parse_kline(frame.payload);
      ++(k.x ? finals : forming)[k.t];
      if (!k.x) CHECK(at == k.t);  // the single update comes at the bar's open
    }
  CHECK(forming.size() == 4);
  for (const auto& [t, n] : forming) CHECK(n == 1);
  CHECK(finals.size() == 3);
}

TEST_CASE("EmptyBarsCarryMinusOneTradeIds", "[replay_model]") {
  auto sut = make(synthetic(9, 6, 10, {Interval::m1}));
  const auto frames = run_until(*sut, sut->now_ms() + 60 * kMinute);
  std::size_t empty = 0;
  for (const auto& [at, frame] : frames) {
    if (frame.stream.find("@kline_1m") == std::string::npos) continue;
    const Kline k = parse_kline(frame.payload);
    if (!k.x || k.n != 0) continue;
    ++empty;
    CHECK(k.f == -1);
    CHECK(k.L == -1);
    CHECK(k.v == "0.00000000");
    CHECK((k.o == k.h && k.h == k.l && k.l == k.c));
  }
  CHECK(empty > 0);
}

TEST_CASE("MiniTickerCarries24HourRollingStatsOfChangedSymbols", "[replay_model]") {
  auto sut = make(synthetic(21, 3, 1600, {Interval::m1}));
  const std::int64_t start = sut->now_ms();
  auto frames = run_until(*sut, start + 5 * kMinute + 2'000);
  std::vector<std::pair<std::int64_t, std::string>> tickers;
  for (const auto& [at, frame] : frames)
    if (frame.stream == "!miniTicker@arr") tickers.emplace_back(at, frame.payload);
  REQUIRE(!tickers.empty());
  // A whole second with no kline update changes nothing: no frame then.
  for (const auto& [at, payload] : tickers) CHECK(at % 2'000 == 0);
  CHECK(tickers.back().first == start + 5 * kMinute + 2'000);

  const std::int64_t now = sut->now_ms();
  Json json(tickers.back().second);
  simdjson::dom::array array;
  REQUIRE(json.root.get(array) == simdjson::SUCCESS);
  REQUIRE(array.size() == 3);
  for (simdjson::dom::element item : array) {
    CHECK(str(item, "e") == "24hrMiniTicker");
    CHECK(integer(item, "E") == now);
    const std::string symbol = str(item, "s");
    INFO(symbol);
    // The window: the base bars opening in (now - 24 h, now], the forming one included.
    const auto window = all_klines(*sut, symbol, "1m", now - kDay + 1);
    REQUIRE(window.size() == 1440);
    CHECK(window.back().t == start + 5 * kMinute);  // the open bar is in it
    const Folded f = fold(window);
    CHECK(str(item, "o") == f.open);
    CHECK(str(item, "c") == f.close);
    CHECK(number(str(item, "h")) == f.high);
    CHECK(number(str(item, "l")) == f.low);
    CHECK(number(str(item, "v")) == f.volume);
    CHECK(number(str(item, "q")) == f.quote);

    const RestAnswer ticker = sut->rest("/api/v3/ticker/24hr", "symbol=" + symbol);
    REQUIRE(ticker.status == 200);
    CHECK(ticker.weight == 2);
    Json t(ticker.body);
    CHECK(str(t.root, "symbol") == symbol);
    CHECK(str(t.root, "openPrice") == str(item, "o"));
    CHECK(str(t.root, "lastPrice") == str(item, "c"));
    CHECK(str(t.root, "highPrice") == str(item, "h"));
    CHECK(str(t.root, "lowPrice") == str(item, "l"));
    CHECK(str(t.root, "volume") == str(item, "v"));
    CHECK(str(t.root, "quoteVolume") == str(item, "q"));
    CHECK(integer(t.root, "closeTime") == now);
    CHECK(integer(t.root, "openTime") == now - kDay);
    CHECK(integer(t.root, "count") == f.trades);
    for (const char* key : {"priceChange", "priceChangePercent", "weightedAvgPrice", "prevClosePrice", "lastQty",
                            "bidPrice", "bidQty", "askPrice", "askQty"})
      CHECK(!str(t.root, key).empty());
    (void)integer(t.root, "firstId");
    (void)integer(t.root, "lastId");
  }
}

// ---------------------------------------------------------------------------------------------
// REST

TEST_CASE("KlinesWindowsFollowBinanceSemantics", "[replay_model]") {
  auto sut = make(synthetic(13, 2, 2000, {Interval::m1, Interval::m5}));
  const std::int64_t live = sut->now_ms();
  const auto frames = run_until(*sut, live + 90'000);  // 1.5 bars into the live market
  const std::int64_t open_bar = live + kMinute;

  SECTION("no startTime or endTime: the newest bars, the still-open one last") {
    const auto bars = klines(*sut, "symbol=SYN001USDT&interval=1m&limit=5");
    REQUIRE(bars.size() == 5);
    CHECK(bars.back().t == open_bar);
    CHECK(bars[3].t == live);
    // The open bar is as the last forming frame showed it.
    std::optional<Kline> last;
    for (const auto& [at, frame] : frames)
      if (frame.stream == "syn001usdt@kline_1m") last = parse_kline(frame.payload);
    REQUIRE(last);
    CHECK(last->t == open_bar);
    CHECK_FALSE(last->x);
    CHECK((bars.back().o == last->o && bars.back().h == last->h && bars.back().l == last->l &&
           bars.back().c == last->c && bars.back().v == last->v && bars.back().n == last->n));
    CHECK(klines(*sut, "symbol=SYN001USDT&interval=1m").size() == 500);
    const auto fives = klines(*sut, "symbol=SYN001USDT&interval=5m&limit=2");
    CHECK(fives.back().t == screener::bar_open_time(Interval::m5, open_bar));
  }
  SECTION("startTime: the oldest bars from it, rounded up to a bar open") {
    const auto bars = klines(*sut, fmt::format("symbol=SYN001USDT&interval=1m&startTime={}&limit=3", live - 3 * kMinute + 1));
    REQUIRE(bars.size() == 3);
    CHECK(bars[0].t == live - 2 * kMinute);
    CHECK(bars[2].t == live);
    const auto tail = klines(*sut, fmt::format("symbol=SYN001USDT&interval=1m&startTime={}", live - kMinute));
    REQUIRE(tail.size() == 3);  // never past the clock: ends with the open bar
    CHECK(tail.back().t == open_bar);
    CHECK(klines(*sut, fmt::format("symbol=SYN001USDT&interval=1m&startTime={}", open_bar + 1)).empty());
    // startTime in microseconds is accepted too.
    const auto micro = klines(*sut, fmt::format("symbol=SYN001USDT&interval=1m&startTime={}&limit=1", live * 1000));
    REQUIRE(micro.size() == 1);
    CHECK(micro[0].t == live);
  }
  SECTION("endTime: the newest bars opening at or before it") {
    const auto bars = klines(*sut, fmt::format("symbol=SYN001USDT&interval=1m&endTime={}&limit=4", live - 1));
    REQUIRE(bars.size() == 4);
    CHECK(bars.back().t == live - kMinute);
    CHECK(bars.front().t == live - 4 * kMinute);
  }
  SECTION("both: from startTime, never past endTime") {
    const auto bars = klines(*sut, fmt::format("symbol=SYN001USDT&interval=1m&startTime={}&endTime={}&limit=1000",
                                               live - 10 * kMinute, live - 5 * kMinute));
    REQUIRE(bars.size() == 6);
    CHECK(bars.front().t == live - 10 * kMinute);
    CHECK(bars.back().t == live - 5 * kMinute);
    const auto limited = klines(*sut, fmt::format("symbol=SYN001USDT&interval=1m&startTime={}&endTime={}&limit=2",
                                                  live - 10 * kMinute, live - 5 * kMinute));
    REQUIRE(limited.size() == 2);
    CHECK(limited.back().t == live - 9 * kMinute);
  }
  SECTION("errors") {
    auto over = sut->rest("/api/v3/klines", "symbol=SYN001USDT&interval=1m&limit=1001");
    CHECK(over.status == 400);
    CHECK(over.weight == 2);
    Json json(over.body);
    CHECK(integer(json.root, "code") == -1130);
    CHECK(!str(json.root, "msg").empty());
    CHECK(sut->rest("/api/v3/klines", "symbol=NOPE&interval=1m").body == error_body(-1121, "Invalid symbol."));
    CHECK(sut->rest("/api/v3/klines", "symbol=NOPE&interval=1m").status == 400);
    CHECK(sut->rest("/api/v3/klines", "symbol=SYN001USDT&interval=2m").body == error_body(-1120, "Invalid interval."));
    CHECK(sut->rest("/api/v3/klines", "symbol=SYN001USDT&interval=1s").body == error_body(-1120, "Invalid interval."));
    CHECK(Json(sut->rest("/api/v3/klines", "interval=1m").body).root["code"].get_int64().value() == -1102);
    CHECK(Json(sut->rest("/api/v3/klines", "symbol=SYN001USDT&interval=1m&startTime=x").body)
              .root["code"].get_int64().value() == -1100);
    CHECK(Json(sut->rest("/api/v3/klines", "symbol=SYN001USDT&interval=1m&startTime=5&endTime=4").body)
              .root["code"].get_int64().value() == -1023);
    const auto missing = sut->rest("/api/v3/nothing", "");
    CHECK(missing.status == 404);
    Json body(missing.body);
    (void)integer(body.root, "code");
    (void)str(body.root, "msg");
  }
}

TEST_CASE("ExchangeInfoListsTheSymbolsWithTheirFilters", "[replay_model]") {
  auto options = synthetic(1, 3, 10, {Interval::m1});
  options.weight_limit = 1200;
  auto sut = make(options);
  CHECK(sut->request_weight_limit() == 1200);
  const auto symbols_of = [&](const std::string& query) {
    const RestAnswer answer = sut->rest("/api/v3/exchangeInfo", query);
    INFO(query << " -> " << answer.body.substr(0, 200));
    REQUIRE(answer.status == 200);
    CHECK(answer.weight == 20);
    Json json(answer.body);
    std::vector<std::string> out;
    simdjson::dom::array list;
    REQUIRE(member(json.root, "symbols").get(list) == simdjson::SUCCESS);
    for (simdjson::dom::element s : list) out.push_back(str(s, "symbol"));
    return out;
  };
  const RestAnswer all = sut->rest("/api/v3/exchangeInfo", "");
  Json json(all.body);
  CHECK(str(json.root, "timezone") == "UTC");
  CHECK(integer(json.root, "serverTime") == sut->now_ms());
  simdjson::dom::array limits;
  REQUIRE(member(json.root, "rateLimits").get(limits) == simdjson::SUCCESS);
  std::set<std::string> kinds;
  for (simdjson::dom::element l : limits) {
    kinds.insert(str(l, "rateLimitType"));
    if (str(l, "rateLimitType") == "REQUEST_WEIGHT") {
      CHECK(str(l, "interval") == "MINUTE");
      CHECK(integer(l, "intervalNum") == 1);
      CHECK(integer(l, "limit") == 1200);
    }
  }
  CHECK(kinds.count("REQUEST_WEIGHT") == 1);
  CHECK(kinds.count("RAW_REQUESTS") == 1);
  simdjson::dom::array list;
  REQUIRE(member(json.root, "symbols").get(list) == simdjson::SUCCESS);
  REQUIRE(list.size() == 3);
  simdjson::dom::element first;
  REQUIRE(list.at(0).get(first) == simdjson::SUCCESS);
  CHECK(str(first, "symbol") == "SYN000USDT");
  CHECK(str(first, "status") == "TRADING");
  CHECK(str(first, "baseAsset") == "SYN000");
  CHECK(str(first, "quoteAsset") == "USDT");
  CHECK(boolean(first, "isSpotTradingAllowed"));
  simdjson::dom::array filters;
  REQUIRE(member(first, "filters").get(filters) == simdjson::SUCCESS);
  std::map<std::string, simdjson::dom::element> by_type;
  for (simdjson::dom::element f : filters) by_type[str(f, "filterType")] = f;
  REQUIRE(by_type.count("PRICE_FILTER") == 1);
  REQUIRE(by_type.count("LOT_SIZE") == 1);
  CHECK(str(by_type["PRICE_FILTER"], "tickSize") == sut->listings()[0].tick_size);
  CHECK(str(by_type["LOT_SIZE"], "stepSize") == sut->listings()[0].step_size);
  CHECK(sut->listings()[0].tick_size == "0.01000000");

  CHECK(symbols_of("symbol=SYN001USDT") == std::vector<std::string>{"SYN001USDT"});
  CHECK(symbols_of("symbols=[\"SYN002USDT\",\"SYN000USDT\"]") == std::vector<std::string>{"SYN002USDT", "SYN000USDT"});
  CHECK(symbols_of("symbols=%5B%22SYN002USDT%22%2C%22SYN001USDT%22%5D") ==
        std::vector<std::string>{"SYN002USDT", "SYN001USDT"});
  CHECK(symbols_of("permissions=SPOT").size() == 3);
  CHECK(symbols_of("permissions=%5B%22MARGIN%22%5D").empty());
  CHECK(symbols_of("symbolStatus=TRADING").size() == 3);
  CHECK(symbols_of("symbolStatus=HALT").empty());
  CHECK(sut->rest("/api/v3/exchangeInfo", "symbol=NOPE").body == error_body(-1121, "Invalid symbol."));
  CHECK(sut->rest("/api/v3/exchangeInfo", "symbols=[\"SYN000USDT\",\"NOPE\"]").status == 400);
  CHECK(Json(sut->rest("/api/v3/exchangeInfo", "symbol=SYN000USDT&symbolStatus=TRADING").body)
            .root["code"].get_int64().value() == -1128);
}

TEST_CASE("RequestWeightsFollowBinance", "[replay_model]") {
  auto sut = make(synthetic(1, 120, 5, {Interval::m1}));
  const auto weight = [&](std::string_view path, const std::string& query) { return sut->rest(path, query).weight; };
  std::string twenty = "[";
  std::string hundred = "[";
  std::string all = "[";
  for (std::size_t i = 0; i < 120; ++i) {
    const std::string item = fmt::format("\"SYN{:03}USDT\"", i);
    if (i < 20) twenty += (i ? "," : "") + item;
    if (i < 100) hundred += (i ? "," : "") + item;
    all += (i ? "," : "") + item;
  }
  twenty += "]";
  hundred += "]";
  all += "]";
  CHECK(weight("/api/v3/exchangeInfo", "") == 20);
  CHECK(weight("/api/v3/klines", "symbol=SYN000USDT&interval=1m&limit=1000") == 2);
  CHECK(weight("/api/v3/ticker/24hr", "symbol=SYN000USDT") == 2);
  CHECK(weight("/api/v3/ticker/24hr", "symbols=" + twenty) == 2);
  CHECK(weight("/api/v3/ticker/24hr", "symbols=" + hundred) == 40);
  CHECK(weight("/api/v3/ticker/24hr", "symbols=" + all) == 80);
  CHECK(weight("/api/v3/ticker/24hr", "") == 80);
  const RestAnswer mini = sut->rest("/api/v3/ticker/24hr", "symbols=" + twenty + "&type=MINI");
  REQUIRE(mini.status == 200);
  Json json(mini.body);
  simdjson::dom::array list;
  REQUIRE(json.root.get(list) == simdjson::SUCCESS);
  CHECK(list.size() == 20);
  simdjson::dom::element first;
  REQUIRE(list.at(0).get(first) == simdjson::SUCCESS);
  CHECK(str(first, "symbol") == "SYN000USDT");
  (void)str(first, "lastPrice");
  CHECK(first["priceChange"].error() == simdjson::NO_SUCH_FIELD);
  CHECK(Json(sut->rest("/api/v3/ticker/24hr", "symbol=SYN000USDT&symbols=" + twenty).body)
            .root["code"].get_int64().value() == -1128);
}

// ---------------------------------------------------------------------------------------------
// CSV sources

TEST_CASE("ArchiveCsvSourceResendsTheExactSourceTexts", "[replay_model]") {
  ModelOptions options;
  options.source = CsvSource{{kArchive27, kArchive28}, std::nullopt, std::nullopt};
  options.intervals = {Interval::m1, Interval::h1};
  options.live_from = LiveFromBars{5};
  auto sut = make(options);
  REQUIRE(sut->listings().size() == 1);
  CHECK(sut->listings()[0].symbol == "ADABTC");
  CHECK(sut->listings()[0].base_asset == "ADA");
  CHECK(sut->listings()[0].quote_asset == "BTC");
  CHECK(sut->listings()[0].tick_size == "0.00000001");
  CHECK(sut->now_ms() == 1637971200000 + 5 * kMinute);

  const auto history = klines(*sut, "symbol=ADABTC&interval=1m");
  REQUIRE(history.size() == 5);
  CHECK(history[0].o == "0.00002853");
  CHECK(history[0].v == "36304.20000000");
  CHECK(history[0].q == "1.03547608");
  CHECK(history[0].n == 79);
  CHECK(history[0].V == "19523.00000000");
  CHECK(history[0].Q == "0.55694227");

  // Live through the first file's last bar: the gap to the next day produces no steps.
  const auto frames = run_until(*sut, 1637971200000 + 10 * kMinute);
  REQUIRE(sut->next_step_ms() == 1638057600000);
  std::vector<Kline> finals;
  for (const auto& [at, frame] : frames)
    if (frame.stream.starts_with("adabtc@kline_")) {
      const Kline k = parse_kline(frame.payload);
      if (k.x) finals.push_back(k);
    }
  REQUIRE(finals.size() == 6);  // five 1m bars, and the 1h bar ended by the gap
  CHECK(finals[0].i == "1m");
  CHECK(finals[0].t == 1637971200000 + 5 * kMinute);
  CHECK(finals[0].v == "7530.20000000");
  CHECK(finals[0].n == 22);
  const Kline& hour = finals.back();
  CHECK(hour.i == "1h");
  CHECK(hour.t == 1637971200000);
  CHECK(hour.o == "0.00002853");
  const auto rest_hour = klines(*sut, "symbol=ADABTC&interval=1h&limit=1&endTime=1637971200000");
  REQUIRE(rest_hour.size() == 1);
  CHECK((rest_hour[0].v == hour.v && rest_hour[0].h == hour.h && rest_hour[0].c == hour.c));
}

TEST_CASE("SevenColumnSourceResendsSourceTokensExactly", "[replay_model]") {
  ModelOptions options;
  options.source = CsvSource{{kWeek}, std::nullopt, std::nullopt};
  options.intervals = {Interval::m1, Interval::m5};
  options.updates_per_bar = 2;
  auto sut = make(options);
  REQUIRE(sut->listings().size() == 94);
  CHECK(sut->now_ms() == 1619827200000 + 1440 * kMinute);
  const auto dgb = klines(*sut, "symbol=DGBUSDT&interval=1m&startTime=1619827200000&limit=1");
  REQUIRE(dgb.size() == 1);
  CHECK(dgb[0].v == "21554875.6999999993");
  CHECK(dgb[0].q == "0.00000000");  // the layout has no quote volume
  const auto five = klines(*sut, "symbol=DGBUSDT&interval=5m&startTime=1619827200000&limit=1");
  const auto ones = klines(*sut, "symbol=DGBUSDT&interval=1m&startTime=1619827200000&limit=5");
  check_equal(five[0], fold(ones));
  // Live frames carry the source tokens too (BTCUSDT prices have no trailing zeros).
  const auto frames = run_until(*sut, sut->now_ms() + kMinute);
  std::optional<Kline> btc;
  for (const auto& [at, frame] : frames)
    if (frame.stream == "btcusdt@kline_1m" && parse_kline(frame.payload).x) btc = parse_kline(frame.payload);
  REQUIRE(btc);
  const auto rest = klines(*sut, fmt::format("symbol=BTCUSDT&interval=1m&startTime={}&limit=1", btc->t));
  CHECK(btc->o == rest[0].o);
  CHECK(btc->v == rest[0].v);
  CHECK(btc->o.find('.') != std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Captures and the end of a source

TEST_CASE("CryptofeedCaptureReplaysFramesVerbatimWithTheirTiming", "[replay_model]") {
  ModelOptions options;
  options.source = CaptureSource{kCryptofeed};
  auto sut = make(options);
  CHECK(sut->now_ms() == 1633998511159);
  std::set<std::string> symbols;
  for (const auto& l : sut->listings()) symbols.insert(l.symbol);
  CHECK(symbols == std::set<std::string>{"NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR"});
  CHECK(sut->intervals() == std::vector<Interval>{Interval::m1});
  CHECK(sut->rest("/api/v3/klines", "symbol=NKNUSDT&interval=1m").body == "[]");
  CHECK(sut->rest("/api/v3/klines", "symbol=BTCUSDT&interval=1m").body == error_body(-1121, "Invalid symbol."));

  // Expected: each line's frame and time, from the file itself.
  std::ifstream in(kCryptofeed);
  std::string line;
  std::getline(in, line);
  std::vector<std::pair<std::int64_t, std::string>> expected;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const std::size_t colon = line.find(": ");
    const std::string seconds = line.substr(0, colon);
    const std::size_t dot = seconds.find('.');
    std::string fraction = seconds.substr(dot + 1) + "000";
    expected.emplace_back(std::stoll(seconds.substr(0, dot)) * 1000 + std::stoll(fraction.substr(0, 3)),
                          line.substr(colon + 2));
  }
  REQUIRE(expected.size() == 265);
  std::size_t n = 0;
  std::int64_t previous = 0;
  while (auto next = sut->next_step_ms()) {
    CHECK(*next >= previous);
    previous = *next;
    for (const auto& frame : sut->step()) {
      REQUIRE(n < expected.size());
      CHECK(sut->now_ms() == expected[n].first);
      CHECK("{\"stream\":\"" + frame.stream + "\",\"data\":" + frame.payload + "}" == expected[n].second);
      ++n;
    }
  }
  CHECK(n == 265);
  CHECK(sut->step().empty());
  CHECK(sut->now_ms() == 1633998542077);
}

TEST_CASE("JsonlCaptureSplitsStreamsAndSkipsReplies", "[replay_model]") {
  ScratchDir dir;
  const std::string kline =
      R"({"e":"kline","E":1633998523963,"s":"NKNUSDT","k":{"t":1633998480000,"T":1633998539999,"s":"NKNUSDT","i":"1m","f":1,"L":2,"o":"0.35270000","c":"0.35280000","h":"0.35280000","l":"0.35220000","v":"25877.00000000","n":30,"x":false,"q":"9116.04600000","V":"58.00000000","Q":"20.46240000","B":"0"}})";
  const std::string escaped = [&] {
    std::string out;
    for (char c : kline) {
      if (c == '"') out += "\\\"";
      else out += c;
    }
    return out;
  }();
  const std::string file = dir.write(
      "capture.jsonl",
      "{\"recv_ns\":1633998523964000000,\"conn\":0,\"frame\":\"{\\\"result\\\":null,\\\"id\\\":1}\"}\n"
      "{\"recv_ns\":1633998523965123456,\"conn\":0,\"frame\":\"{\\\"stream\\\":\\\"nknusdt@kline_1m\\\",\\\"data\\\":" +
          escaped + "}\"}\n" + "{\"recv_ns\":1633998524500000000,\"conn\":1,\"frame\":\"" + escaped + "\"}\n" +
          "{\"recv_ns\":1633998524500900000,\"conn\":1,\"frame\":\"[{\\\"e\\\":\\\"24hrMiniTicker\\\",\\\"E\\\":1,"
          "\\\"s\\\":\\\"ABCUSDT\\\"}]\"}\n");
  ModelOptions options;
  options.source = CaptureSource{file};
  auto sut = make(options);
  CHECK(sut->listings().size() == 2);
  REQUIRE(sut->next_step_ms() == 1633998523965);
  auto first = sut->step();
  REQUIRE(first.size() == 1);
  CHECK(first[0].stream == "nknusdt@kline_1m");
  CHECK(first[0].payload == kline);
  REQUIRE(sut->next_step_ms() == 1633998524500);
  auto second = sut->step();  // frames in the same millisecond go out in one step
  REQUIRE(second.size() == 2);
  CHECK(second[0].stream == "nknusdt@kline_1m");
  CHECK(second[0].payload == kline);
  CHECK(second[1].stream == "!miniTicker@arr");
  CHECK_FALSE(sut->next_step_ms().has_value());

  const std::string broken = dir.write("broken.jsonl", "{\"recv_ns\":1,\"conn\":0,\"frame\":\"{}\"}\n{\"recv_ns\":2}\n");
  options.source = CaptureSource{broken};
  const auto error = make_exchange_model(options);
  REQUIRE_FALSE(error.has_value());
  CHECK_THAT(error.error(), Catch::Contains("broken.jsonl:2: missing or non-string frame"));
}

TEST_CASE("ExhaustedSourceHasNoNextStep", "[replay_model]") {
  auto sut = make(synthetic(2, 2, 5, {Interval::m1, Interval::m5}, 1'704'067'200'000, 3));
  const auto frames = run_until(*sut, std::numeric_limits<std::int64_t>::max());
  CHECK_FALSE(sut->next_step_ms().has_value());
  CHECK(sut->now_ms() == 1'704'067'200'000 + 3 * kMinute);
  CHECK(sut->step().empty());
  std::size_t finals = 0;
  for (const auto& [at, frame] : frames)
    if (frame.stream.ends_with("@kline_1m") && parse_kline(frame.payload).x) ++finals;
  CHECK(finals == 2 * 3);
  // The 5m bar never closed: no final frame for it.
  for (const auto& [at, frame] : frames)
    if (frame.stream.ends_with("@kline_5m")) CHECK_FALSE(parse_kline(frame.payload).x);
  CHECK(klines(*sut, "symbol=SYN000USDT&interval=1m&limit=1000").size() == 8);

  ModelOptions all_history;
  all_history.source = CsvSource{{kArchive27}, std::nullopt, std::nullopt};
  all_history.live_from = LiveFromBars{100};
  auto done = make(all_history);
  CHECK_FALSE(done->next_step_ms().has_value());
  CHECK(klines(*done, "symbol=ADABTC&interval=1m").size() == 10);
}

TEST_CASE("BadOptionsAreReported", "[replay_model]") {
  auto options = synthetic(1, 1, 10, {Interval::s1});
  auto bad_interval = make_exchange_model(options);
  REQUIRE_FALSE(bad_interval.has_value());
  CHECK_THAT(bad_interval.error(), Catch::Contains("1s cannot be built from the source's 1m bars"));
  ModelOptions csv;
  csv.source = CsvSource{{"/nonexistent.csv"}, std::nullopt, std::nullopt};
  CHECK_FALSE(make_exchange_model(csv).has_value());
  options = synthetic(1, 1, 10, {Interval::m1});
  options.live_from = LiveFromTime{1'704'067'200'000 + 3 * kMinute + 1};
  auto later = make(options);
  CHECK(later->now_ms() == 1'704'067'200'000 + 4 * kMinute);
}

TEST_CASE("SymbolNotTradingStreamsNothingUntilItTradesAgainAndLosesNoBar", "[replay_model]") {
  constexpr std::int64_t kStart = 1'704'067'200'000;
  auto sut = make(synthetic(5, 3, 30, {Interval::m1, Interval::m5}, kStart));
  const auto is_halted = [](const StreamFrame& f) {
    return f.stream.starts_with("syn001usdt@") || f.payload.find("\"SYN001USDT\"") != std::string::npos;
  };
  // Closed 1m bars by symbol, from the frames.
  std::map<std::string, std::vector<std::int64_t>> finals;
  std::map<std::int64_t, std::string> halted_final_close;  // SYN001's final frames: open -> close text
  const auto collect = [&](const std::vector<std::pair<std::int64_t, StreamFrame>>& frames) {
    for (const auto& [at, frame] : frames) {
      if (!frame.stream.ends_with("@kline_1m")) continue;
      const Kline k = parse_kline(frame.payload);
      if (!k.x) continue;
      finals[k.s].push_back(k.t);
      if (k.s == "SYN001USDT") halted_final_close[k.t] = k.c;
    }
  };
  const auto before = run_until(*sut, kStart + 2 * kMinute);
  CHECK(std::any_of(before.begin(), before.end(), [&](const auto& f) { return is_halted(f.second); }));
  collect(before);

  CHECK_FALSE(sut->set_listing_status("NOPEUSDT", "BREAK"));
  REQUIRE(sut->set_listing_status("SYN001USDT", "BREAK"));
  CHECK(sut->listings()[1].status == "BREAK");
  const auto statuses = [&](const std::string& query) {
    const RestAnswer answer = sut->rest("/api/v3/exchangeInfo", query);
    REQUIRE(answer.status == 200);
    Json json(answer.body);
    std::vector<std::string> out;
    simdjson::dom::array list;
    REQUIRE(member(json.root, "symbols").get(list) == simdjson::SUCCESS);
    for (simdjson::dom::element s : list) out.push_back(str(s, "symbol") + ":" + str(s, "status"));
    return out;
  };
  CHECK(statuses("symbol=SYN001USDT") == std::vector<std::string>{"SYN001USDT:BREAK"});
  CHECK(statuses("symbolStatus=BREAK") == std::vector<std::string>{"SYN001USDT:BREAK"});
  CHECK(statuses("symbolStatus=TRADING") == std::vector<std::string>{"SYN000USDT:TRADING", "SYN002USDT:TRADING"});

  // Halted over three bar closes, the 5m close included: none of its frames, tickers included.
  const auto during = run_until(*sut, kStart + 5 * kMinute);
  REQUIRE(!during.empty());
  CHECK(std::none_of(during.begin(), during.end(), [&](const auto& f) { return is_halted(f.second); }));
  collect(during);

  REQUIRE(sut->set_listing_status("SYN001USDT", "TRADING"));
  CHECK(statuses("symbolStatus=BREAK").empty());
  const auto after = run_until(*sut, kStart + 8 * kMinute);
  CHECK(std::any_of(after.begin(), after.end(), [&](const auto& f) { return is_halted(f.second); }));
  collect(after);

  // The others closed every bar exactly once; the halted one all but the three of its halt.
  std::vector<std::int64_t> every;
  for (int m = 0; m < 8; ++m) every.push_back(kStart + m * kMinute);
  CHECK(finals["SYN000USDT"] == every);
  CHECK(finals["SYN002USDT"] == every);
  CHECK(finals["SYN001USDT"] == std::vector<std::int64_t>{kStart, kStart + kMinute, kStart + 5 * kMinute,
                                                         kStart + 6 * kMinute, kStart + 7 * kMinute});
  // REST kept the halted symbol's bars, the ones closed during the halt among them, and its
  // streamed finals are the same bars.
  const auto rest = klines(*sut, fmt::format("symbol=SYN001USDT&interval=1m&startTime={}&limit=8", kStart));
  REQUIRE(rest.size() == 8);
  for (std::size_t m = 0; m < rest.size(); ++m) {
    CHECK(rest[m].t == kStart + static_cast<std::int64_t>(m) * kMinute);
    if (halted_final_close.contains(rest[m].t)) CHECK(halted_final_close[rest[m].t] == rest[m].c);
  }
  // The 5m bar forming after the halt streams what REST serves.
  std::optional<Kline> last_5m;
  for (const auto& [at, frame] : after)
    if (frame.stream == "syn001usdt@kline_5m") last_5m = parse_kline(frame.payload);
  REQUIRE(last_5m);
  const auto rest_5m = klines(*sut, "symbol=SYN001USDT&interval=5m&limit=1");
  REQUIRE(rest_5m.size() == 1);
  CHECK(last_5m->t == kStart + 5 * kMinute);
  CHECK(rest_5m[0].t == last_5m->t);
  CHECK(std::tie(rest_5m[0].o, rest_5m[0].h, rest_5m[0].l, rest_5m[0].c, rest_5m[0].v) ==
        std::tie(last_5m->o, last_5m->h, last_5m->l, last_5m->c, last_5m->v));

  // A capture leaves out the recorded kline frames of a symbol that is not trading.
  ScratchDir dir;
  const std::string frame =
      R"({\"e\":\"kline\",\"E\":1,\"s\":\"NKNUSDT\",\"k\":{\"t\":0,\"T\":59999,\"s\":\"NKNUSDT\",\"i\":\"1m\",)"
      R"(\"f\":1,\"L\":2,\"o\":\"1\",\"c\":\"1\",\"h\":\"1\",\"l\":\"1\",\"v\":\"1\",\"n\":1,\"x\":false,)"
      R"(\"q\":\"1\",\"V\":\"1\",\"Q\":\"1\",\"B\":\"0\"}})";
  ModelOptions capture;
  capture.source = CaptureSource{dir.write("capture.jsonl", fmt::format("{{\"recv_ns\":1000000,\"conn\":0,\"frame\":\"{0}\"}}\n"
                                                                         "{{\"recv_ns\":2000000,\"conn\":0,\"frame\":\"{0}\"}}\n",
                                                                         frame))};
  auto replay = make(capture);
  CHECK(replay->step().size() == 1);
  REQUIRE(replay->set_listing_status("NKNUSDT", "HALT"));
  CHECK(replay->step().empty());
  CHECK_FALSE(replay->next_step_ms().has_value());
}
