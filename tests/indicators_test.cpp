// SPDX-License-Identifier: Apache-2.0
// The indicator library (common/indicators/): hand-checked values on short series, TA-Lib 0.6.x's
// degenerate cases, and incremental == batch bit for bit over real Binance 1m bars.
#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/indicators/indicators.hpp"
#include "common/kline_csv.hpp"

namespace ta = screener::ta;
using screener::shm::Bar;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kDay0 = 1'619'827'200'000;  // 2021-05-01 00:00 UTC

std::vector<double> run(const std::function<int(std::span<double>)>& f, std::size_t size, int expected_lookback) {
  std::vector<double> out(size, -12345.0);
  CHECK(f(out) == expected_lookback);
  return out;
}

// NaN strictly before `lookback`, a number from it on.
void check_lookback(const std::vector<double>& out, int lookback) {
  for (std::size_t i = 0; i < out.size(); ++i) {
    INFO("index " << i << " lookback " << lookback);
    CHECK(std::isnan(out[i]) == (i < static_cast<std::size_t>(lookback)));
  }
}

struct Hlcv {
  std::vector<double> h, l, c, v;
  std::vector<std::int64_t> t;
};

Hlcv flat_bars(std::size_t n, double price, double volume = 1.0) {
  Hlcv b;
  for (std::size_t i = 0; i < n; ++i) {
    b.h.push_back(price);
    b.l.push_back(price);
    b.c.push_back(price);
    b.v.push_back(volume);
    b.t.push_back(kDay0 + static_cast<std::int64_t>(i) * kMinute);
  }
  return b;
}

// --- tiny independent references, written from the definitions in the notes -------------------

// RSI(n): plain means of the first n gains/losses, then Wilder; 0 when g + l < 1e-14.
std::vector<double> ref_rsi(const std::vector<double>& c, int n) {
  std::vector<double> out(c.size(), kNaN);
  double g = 0, l = 0;
  for (int i = 1; i <= n; ++i) {
    const double d = c[i] - c[i - 1];
    (d > 0 ? g : l) += std::fabs(d);
  }
  g /= n;
  l /= n;
  auto emit = [&](std::size_t i) { out[i] = (g + l < 1e-14) ? 0.0 : 100.0 * g / (g + l); };
  emit(static_cast<std::size_t>(n));
  for (std::size_t i = static_cast<std::size_t>(n) + 1; i < c.size(); ++i) {
    const double d = c[i] - c[i - 1];
    g = (g * (n - 1) + std::max(d, 0.0)) / n;
    l = (l * (n - 1) + std::max(-d, 0.0)) / n;
    emit(i);
  }
  return out;
}

// EMA(n) whose SMA seed covers x[seed_end - n + 1 .. seed_end]; NaN before seed_end.
std::vector<double> ref_ema(const std::vector<double>& x, int n, std::size_t seed_end) {
  std::vector<double> out(x.size(), kNaN);
  double s = 0;
  for (std::size_t i = seed_end + 1 - static_cast<std::size_t>(n); i <= seed_end; ++i) s += x[i];
  double e = s / n;
  out[seed_end] = e;
  const double k = 2.0 / (n + 1);
  for (std::size_t i = seed_end + 1; i < x.size(); ++i) out[i] = e = e + k * (x[i] - e);
  return out;
}

double window_max(const std::vector<double>& x, std::size_t end, int n) {
  return *std::max_element(x.begin() + static_cast<std::ptrdiff_t>(end + 1 - static_cast<std::size_t>(n)),
                           x.begin() + static_cast<std::ptrdiff_t>(end + 1));
}
double window_min(const std::vector<double>& x, std::size_t end, int n) {
  return *std::min_element(x.begin() + static_cast<std::ptrdiff_t>(end + 1 - static_cast<std::size_t>(n)),
                           x.begin() + static_cast<std::ptrdiff_t>(end + 1));
}
double ref_fast_k(const Hlcv& b, std::size_t i, int n) {
  const double hh = window_max(b.h, i, n), ll = window_min(b.l, i, n);
  return hh == ll ? 0.0 : 100.0 * (b.c[i] - ll) / (hh - ll);
}

}  // namespace

// ============================== moving averages ================================================

TEST_CASE("SmaIsTheMeanOfTheLastNValues") {
  const std::vector<double> x{1, 2, 3, 4, 5};
  const auto out = run([&](auto o) { return ta::sma(x, 3, o); }, x.size(), 2);
  check_lookback(out, 2);
  CHECK(out[2] == 2.0);
  CHECK(out[3] == 3.0);
  CHECK(out[4] == 4.0);
  CHECK(ta::sma_lookback(20) == 19);
}

TEST_CASE("EmaIsSeededWithTheSmaOfTheFirstNBars") {
  const std::vector<double> x{1, 2, 3, 4, 5, 10};
  const auto out = run([&](auto o) { return ta::ema(x, 3, o); }, x.size(), 2);
  check_lookback(out, 2);
  // k = 0.5; seed = (1+2+3)/3 = 2; then 2 + 0.5·(4−2) = 3; 3 + 0.5·(5−3) = 4; 4 + 0.5·(10−4) = 7.
  CHECK(out[2] == 2.0);
  CHECK(out[3] == 3.0);
  CHECK(out[4] == 4.0);
  CHECK(out[5] == 7.0);
}

TEST_CASE("WmaWeightsTheNewestBarHeaviest") {
  const std::vector<double> x{1, 2, 3, 4, 8};
  const auto out = run([&](auto o) { return ta::wma(x, 3, o); }, x.size(), 2);
  check_lookback(out, 2);
  CHECK(out[2] == Approx((1 * 1 + 2 * 2 + 3 * 3) / 6.0));
  CHECK(out[3] == Approx((2 * 1 + 3 * 2 + 4 * 3) / 6.0));
  CHECK(out[4] == Approx((3 * 1 + 4 * 2 + 8 * 3) / 6.0));
}

// ============================== momentum ========================================================

TEST_CASE("RsiSeedsWithPlainMeansThenSmoothsLikeWilder") {
  const std::vector<double> c{1, 2, 1, 2, 3};
  const auto out = run([&](auto o) { return ta::rsi(c, 2, o); }, c.size(), 2);
  check_lookback(out, 2);
  // Changes +1 −1 +1 +1. Seed g = l = 0.5 → 50; then g = (0.5+1)/2 = 0.75, l = 0.25 → 75;
  // g = (0.75+1)/2 = 0.875, l = 0.125 → 87.5.
  CHECK(out[2] == 50.0);
  CHECK(out[3] == 75.0);
  CHECK(out[4] == 87.5);
}

TEST_CASE("RsiMatchesAnIndependentCalculation") {
  std::vector<double> c;
  for (int i = 0; i < 60; ++i) c.push_back(100 + 5 * std::sin(i * 0.7) + 0.1 * i);
  const auto out = run([&](auto o) { return ta::rsi(c, 14, o); }, c.size(), 14);
  const auto ref = ref_rsi(c, 14);
  check_lookback(out, 14);
  for (std::size_t i = 14; i < c.size(); ++i) CHECK(out[i] == Approx(ref[i]).epsilon(1e-12));
}

TEST_CASE("RsiIsZeroOnAFlatSeries") {
  const std::vector<double> c(30, 42.5);
  const auto out = run([&](auto o) { return ta::rsi(c, 14, o); }, c.size(), 14);
  check_lookback(out, 14);
  for (std::size_t i = 14; i < c.size(); ++i) CHECK(out[i] == 0.0);
}

TEST_CASE("RsiIsHundredWithoutLosses") {
  std::vector<double> c(20);
  std::iota(c.begin(), c.end(), 1.0);
  const auto out = run([&](auto o) { return ta::rsi(c, 14, o); }, c.size(), 14);
  for (std::size_t i = 14; i < c.size(); ++i) CHECK(out[i] == 100.0);
}

TEST_CASE("RocIsThePercentageChangeAndZeroOverAZeroBase") {
  const std::vector<double> c{100, 110, 121, 0, 5};
  const auto r1 = run([&](auto o) { return ta::roc(c, 1, o); }, c.size(), 1);
  check_lookback(r1, 1);
  CHECK(r1[1] == Approx(10.0));
  CHECK(r1[2] == Approx(10.0));
  CHECK(r1[3] == -100.0);
  CHECK(r1[4] == 0.0);  // base 0
  const auto r2 = run([&](auto o) { return ta::change_pct(c, 2, o); }, c.size(), 2);
  check_lookback(r2, 2);
  CHECK(r2[2] == Approx(21.0));
}

// ============================== MACD ============================================================

TEST_CASE("MacdSeedsTheFastEmaOnTheWindowEndingAtTheSlowSeed") {
  // Bars 0..13 far below the rest: an EMA12 seeded on c[0..11] differs from one seeded on
  // c[14..25] (TA-Lib's) for a long time.
  std::vector<double> c;
  for (int i = 0; i < 60; ++i) c.push_back(i < 14 ? 50.0 + i : 100.0 + 0.5 * i + 3 * std::sin(i));
  std::vector<double> line(c.size()), signal(c.size()), hist(c.size());
  CHECK(ta::macd(c, 12, 26, 9, line, signal, hist) == 33);
  CHECK(ta::macd_lookback(12, 26, 9) == 33);
  CHECK(ta::macd_lookback(26, 12, 9) == 33);
  check_lookback(line, 33);
  check_lookback(signal, 33);
  check_lookback(hist, 33);

  const auto slow = ref_ema(c, 26, 25);
  const auto fast = ref_ema(c, 12, 25);            // TA-Lib: SMA(c[14..25])
  const auto fast_metastockish = ref_ema(c, 12, 11);  // the other convention: SMA(c[0..11])
  std::vector<double> ref_line(c.size(), kNaN), other_line(c.size(), kNaN);
  for (std::size_t i = 25; i < c.size(); ++i) {
    ref_line[i] = fast[i] - slow[i];
    other_line[i] = fast_metastockish[i] - slow[i];
  }
  const auto ref_signal = ref_ema(ref_line, 9, 33);  // seeded with SMA(line[25..33])
  for (std::size_t i = 33; i < c.size(); ++i) {
    CHECK(line[i] == Approx(ref_line[i]).epsilon(1e-12));
    CHECK(signal[i] == Approx(ref_signal[i]).epsilon(1e-12));
    CHECK(hist[i] == Approx(ref_line[i] - ref_signal[i]).margin(1e-9));
    CHECK(std::fabs(line[i] - other_line[i]) > 1e-3);  // the window matters here
  }

  // Slow < fast: the periods are swapped.
  std::vector<double> line2(c.size()), signal2(c.size()), hist2(c.size());
  CHECK(ta::macd(c, 26, 12, 9, line2, signal2, hist2) == 33);
  CHECK(line2[40] == line[40]);
}

// ============================== Bollinger Bands =================================================

TEST_CASE("BbandsUsesThePopulationDeviation") {
  const std::vector<double> c{1, 2, 3, 4, 5};
  std::vector<double> up(5), mid(5), lo(5), width(5), pb(5);
  CHECK(ta::bbands(c, 5, 2.0, up, mid, lo, width, pb) == 4);
  check_lookback(mid, 4);
  check_lookback(pb, 4);
  // mean 3, Σx²/n = 11, variance 2.
  const double sd = std::sqrt(2.0);
  CHECK(mid[4] == 3.0);
  CHECK(up[4] == Approx(3 + 2 * sd));
  CHECK(lo[4] == Approx(3 - 2 * sd));
  CHECK(width[4] == Approx(4 * sd / 3));
  CHECK(pb[4] == Approx((5 - (3 - 2 * sd)) / (4 * sd)));
}

TEST_CASE("BbandsHasZeroWidthOnAFlatSeriesOfSmallIntegers") {
  const std::vector<double> c(25, 3.0);
  std::vector<double> up(25), mid(25), lo(25), width(25), pb(25);
  ta::bbands(c, 20, 2.0, up, mid, lo, width, pb);
  for (std::size_t i = 19; i < c.size(); ++i) {
    CHECK(up[i] == 3.0);
    CHECK(lo[i] == 3.0);
    CHECK(width[i] == 0.0);  // upper == lower
    CHECK(pb[i] == 0.0);     // documented convention
  }
}

TEST_CASE("BbandsKeepsTheRunningSumResidualOnAFlatExpensiveSeries") {
  // Σx² of 50000.123 cancels inexactly: the sd may be a tiny non-zero number; never negative, never
  // a NaN, and far below a meaningful band.
  std::vector<double> c{1.0, 7.0, 3.0};
  c.resize(40, 50000.123);
  std::vector<double> up(40), mid(40), lo(40), width(40), pb(40);
  ta::bbands(c, 20, 2.0, up, mid, lo, width, pb);
  for (std::size_t i = 22; i < c.size(); ++i) {
    CHECK(up[i] >= mid[i]);
    CHECK(up[i] - mid[i] < 0.1);
    CHECK_FALSE(std::isnan(pb[i]));
  }
}

TEST_CASE("BbandsKeepsANonZeroDeviationForTinyPricesAboveTheThreshold") {
  // Prices 1e-5 / 2e-5: variance 2.5e-11, above 1e-14 (but below TA-Lib 0.4.0's 1e-8): sd = 5e-6.
  std::vector<double> tiny;
  for (int i = 0; i < 20; ++i) tiny.push_back(i % 2 ? 2e-5 : 1e-5);
  std::vector<double> up(20), mid(20), lo(20), width(20), pb(20);
  ta::bbands(tiny, 20, 1.0, up, mid, lo, width, pb);
  CHECK(up[19] - mid[19] == Approx(5e-6).epsilon(1e-6));
  CHECK(pb[19] == Approx(1.0).epsilon(1e-6));
  // Prices 1e-8 / 2e-8: variance 2.5e-17 < 1e-14, so sd = 0 and the bands collapse.
  for (auto& x : tiny) x *= 1e-3;
  ta::bbands(tiny, 20, 1.0, up, mid, lo, width, pb);
  CHECK(up[19] == mid[19]);
  CHECK(lo[19] == mid[19]);
  CHECK(pb[19] == 0.0);
}

// ============================== range ===========================================================

namespace {
// TR: -, 2, 1, 4, 3.
Hlcv range_bars() {
  Hlcv b;
  b.h = {10, 11, 10.5, 14, 11};
  b.l = {8, 9, 9.5, 12, 10};
  b.c = {9, 10, 10, 13, 10.5};
  return b;
}
}  // namespace

TEST_CASE("TrangeAtrAndNatrFollowWildersSeedAndSmoothing") {
  const Hlcv b = range_bars();
  const auto tr = run([&](auto o) { return ta::trange(b.h, b.l, b.c, o); }, 5, 1);
  check_lookback(tr, 1);
  CHECK(tr[1] == 2.0);
  CHECK(tr[2] == 1.0);
  CHECK(tr[3] == 4.0);
  CHECK(tr[4] == 3.0);
  const auto atr = run([&](auto o) { return ta::atr(b.h, b.l, b.c, 2, o); }, 5, 2);
  check_lookback(atr, 2);
  CHECK(atr[2] == 1.5);    // mean(TR[1..2])
  CHECK(atr[3] == 2.75);   // (1.5·1 + 4)/2
  CHECK(atr[4] == 2.875);  // (2.75 + 3)/2
  const auto natr = run([&](auto o) { return ta::natr(b.h, b.l, b.c, 2, o); }, 5, 2);
  check_lookback(natr, 2);
  CHECK(natr[4] == Approx(100 * 2.875 / 10.5));
  // ATR(1) is the true range itself.
  const auto atr1 = run([&](auto o) { return ta::atr(b.h, b.l, b.c, 1, o); }, 5, 1);
  CHECK(atr1[3] == 4.0);
}

TEST_CASE("NatrIsZeroWhenTheCloseIsZero") {
  Hlcv b = range_bars();
  b.c[4] = 0.0;
  const auto natr = run([&](auto o) { return ta::natr(b.h, b.l, b.c, 2, o); }, 5, 2);
  CHECK(natr[4] == 0.0);
}

// ============================== stochastics ====================================================

namespace {
Hlcv stoch_bars() {
  Hlcv b;
  b.h = {10, 12, 11, 13, 14, 12, 11, 15};
  b.l = {8, 9, 9, 10, 12, 10, 9, 11};
  b.c = {9, 11, 10, 12, 13, 11, 10, 14};
  return b;
}
}  // namespace

TEST_CASE("StochSmoothsFastKTwice") {
  const Hlcv b = stoch_bars();
  std::vector<double> k(8), d(8);
  CHECK(ta::stoch(b.h, b.l, b.c, 3, 2, 2, k, d) == 4);
  CHECK(ta::stoch_lookback(14, 3, 3) == 17);
  check_lookback(k, 4);
  check_lookback(d, 4);
  std::vector<double> fk(8, kNaN), sk(8, kNaN);
  for (std::size_t i = 2; i < 8; ++i) fk[i] = ref_fast_k(b, i, 3);
  for (std::size_t i = 3; i < 8; ++i) sk[i] = (fk[i] + fk[i - 1]) / 2;
  for (std::size_t i = 4; i < 8; ++i) {
    CHECK(k[i] == Approx(sk[i]));
    CHECK(d[i] == Approx((sk[i] + sk[i - 1]) / 2));
  }
}

TEST_CASE("StochfOutputsFastKAndItsSma") {
  const Hlcv b = stoch_bars();
  std::vector<double> k(8), d(8);
  CHECK(ta::stochf(b.h, b.l, b.c, 3, 2, k, d) == 3);
  check_lookback(k, 3);
  for (std::size_t i = 3; i < 8; ++i) {
    CHECK(k[i] == Approx(ref_fast_k(b, i, 3)));
    CHECK(d[i] == Approx((ref_fast_k(b, i, 3) + ref_fast_k(b, i - 1, 3)) / 2));
  }
}

TEST_CASE("StochIsZeroOnAFlatSeries") {
  const Hlcv b = flat_bars(30, 7.25);
  std::vector<double> k(30), d(30), fk(30), fd(30);
  ta::stoch(b.h, b.l, b.c, 14, 3, 3, k, d);
  ta::stochf(b.h, b.l, b.c, 14, 3, fk, fd);
  for (std::size_t i = 17; i < 30; ++i) {
    CHECK(std::fabs(k[i]) < 1e-9);
    CHECK(std::fabs(d[i]) < 1e-9);
    CHECK(fk[i] == 0.0);
  }
}

TEST_CASE("StochRsiIsStochfOverRsiValues") {
  std::vector<double> c;
  for (int i = 0; i < 50; ++i) c.push_back(20 + 3 * std::sin(i * 0.9) + std::cos(i * 0.31));
  std::vector<double> k(c.size()), d(c.size());
  CHECK(ta::stochrsi(c, 14, 5, 3, k, d) == 20);
  CHECK(ta::stochrsi_lookback(14, 5, 3) == 20);
  check_lookback(k, 20);
  check_lookback(d, 20);
  const auto r = ref_rsi(c, 14);
  Hlcv rb;
  rb.h = rb.l = rb.c = r;
  for (std::size_t i = 20; i < c.size(); ++i) {
    CHECK(k[i] == Approx(ref_fast_k(rb, i, 5)).margin(1e-9));
    const double fd = (ref_fast_k(rb, i, 5) + ref_fast_k(rb, i - 1, 5) + ref_fast_k(rb, i - 2, 5)) / 3;
    CHECK(d[i] == Approx(fd).margin(1e-9));
  }
}

// ============================== directional movement ===========================================

namespace {
// n = 2. +DM: 1, 0.5, 0, 1; −DM: 0, 0, 1, 0; TR: 1.5, 1.5, 2, 2.5 (bars 1..4).
Hlcv adx_bars() {
  Hlcv b;
  b.h = {10, 11, 11.5, 11, 12};
  b.l = {9, 9.5, 10, 9, 9.5};
  b.c = {9.5, 10.5, 11, 9.5, 11.5};
  return b;
}
}  // namespace

TEST_CASE("DirectionalIndicatorsUseWildersSumSmoothingFromASeedOfNMinusOneBars") {
  const Hlcv b = adx_bars();
  const auto pdi = run([&](auto o) { return ta::plus_di(b.h, b.l, b.c, 2, o); }, 5, 2);
  const auto mdi = run([&](auto o) { return ta::minus_di(b.h, b.l, b.c, 2, o); }, 5, 2);
  const auto dx = run([&](auto o) { return ta::dx(b.h, b.l, b.c, 2, o); }, 5, 2);
  const auto adx = run([&](auto o) { return ta::adx(b.h, b.l, b.c, 2, o); }, 5, 3);
  check_lookback(pdi, 2);
  check_lookback(mdi, 2);
  check_lookback(dx, 2);
  check_lookback(adx, 3);
  // Seed (bar 1 only): +S = 1, −S = 0, TR = 1.5.
  // Bar 2: +S = 1 − 1/2 + 0.5 = 1, TR = 1.5 − 0.75 + 1.5 = 2.25 (a plain sum over bars 1..2 would
  // give +S = 1.5, TR = 3, +DI = 50).
  CHECK(pdi[2] == Approx(100.0 / 2.25));
  CHECK(pdi[2] != Approx(50.0));
  CHECK(mdi[2] == 0.0);
  CHECK(dx[2] == Approx(100.0));
  // Bar 3: +S = 0.5, −S = 1, TR = 3.125 → +DI 16, −DI 32, DX = 100·16/48.
  CHECK(pdi[3] == Approx(16.0));
  CHECK(mdi[3] == Approx(32.0));
  CHECK(dx[3] == Approx(100.0 / 3));
  // First ADX (bar 2n−1 = 3) = (DX₂ + DX₃)/2.
  CHECK(adx[3] == Approx((100.0 + 100.0 / 3) / 2));
  // Bar 4: +S = 0.5 − 0.25 + 1 = 1.25, −S = 0.5, TR = 3.125 − 1.5625 + 2.5 = 4.0625.
  const double p4 = 100 * 1.25 / 4.0625, m4 = 100 * 0.5 / 4.0625, dx4 = 100 * (p4 - m4) / (p4 + m4);
  CHECK(pdi[4] == Approx(p4));
  CHECK(mdi[4] == Approx(m4));
  CHECK(dx[4] == Approx(dx4));
  CHECK(adx[4] == Approx((adx[3] * 1 + dx4) / 2));
  CHECK(ta::adx_lookback(14) == 27);
}

TEST_CASE("AdxIsZeroOnAFlatSeriesBecauseEveryDxIsSkipped") {
  const Hlcv b = flat_bars(40, 3.5);
  const auto adx = run([&](auto o) { return ta::adx(b.h, b.l, b.c, 14, o); }, 40, 27);
  const auto dx = run([&](auto o) { return ta::dx(b.h, b.l, b.c, 14, o); }, 40, 14);
  const auto pdi = run([&](auto o) { return ta::plus_di(b.h, b.l, b.c, 14, o); }, 40, 14);
  check_lookback(adx, 27);
  for (std::size_t i = 27; i < 40; ++i) CHECK(adx[i] == 0.0);
  for (std::size_t i = 14; i < 40; ++i) {
    CHECK(dx[i] == 0.0);
    CHECK(pdi[i] == 0.0);
  }
}

TEST_CASE("AdxSkipsBarsWithoutDxInTheSeedAndLaterKeepsItsValue") {
  // n = 2. Bars 1 and 2 have a range but no directional movement: bar 2 has no DX (+DI + −DI = 0)
  // and is left out of the seed sum, which is still divided by n. Bar 3 moves up (DX 100), then
  // the series is flat: DX stays 100 while TR_S and +DM_S halve each bar, until TR_S < 1e-14;
  // from then on no bar has a DX, so the ADX stops moving (short of 100) and DX repeats itself.
  Hlcv b;
  b.h = {10, 10, 10, 11};
  b.l = {9, 9, 9, 10};
  b.c = {9.5, 9.5, 9.5, 10.5};
  b.h.resize(90, 10.5);
  b.l.resize(90, 10.5);
  b.c.resize(90, 10.5);
  const auto adx = run([&](auto o) { return ta::adx(b.h, b.l, b.c, 2, o); }, 90, 3);
  const auto dx = run([&](auto o) { return ta::dx(b.h, b.l, b.c, 2, o); }, 90, 2);
  CHECK(dx[2] == 0.0);  // TA_DX's first output when there is no DX
  CHECK(dx[3] == 100.0);
  CHECK(adx[3] == 50.0);  // (skipped + 100) / 2
  CHECK(adx[4] == 75.0);
  CHECK(adx[5] == 87.5);
  std::size_t frozen_from = 0;
  for (std::size_t i = 6; i < 90 && frozen_from == 0; ++i) {
    if (adx[i] == adx[i - 1]) frozen_from = i;
  }
  REQUIRE(frozen_from > 40);
  CHECK(adx[frozen_from] < 100.0);
  for (std::size_t i = frozen_from; i < 90; ++i) {
    CHECK(adx[i] == adx[frozen_from]);
    CHECK(dx[i] == 100.0);  // repeated
  }
}

// ============================== CCI, MFI, WILLR ================================================

TEST_CASE("CciUsesTheMeanAbsoluteDeviation") {
  Hlcv b;
  b.c = {1, 2, 3, 2};
  b.h = b.l = b.c;
  const auto out = run([&](auto o) { return ta::cci(b.h, b.l, b.c, 3, o); }, 4, 2);
  check_lookback(out, 2);
  // TP 1,2,3: avg 2, MD 2/3 → (3−2)/(0.015·2/3) = 100.
  CHECK(out[2] == Approx(100.0));
  // TP 2,3,2: avg 7/3, MD 4/9 → (2 − 7/3)/(0.015·4/9) = −50.
  CHECK(out[3] == Approx(-50.0));
}

TEST_CASE("CciIsZeroOnAFlatSeriesWhoseMeanIsExact") {
  const Hlcv b = flat_bars(30, 3.5);
  const auto out = run([&](auto o) { return ta::cci(b.h, b.l, b.c, 20, o); }, 30, 19);
  for (std::size_t i = 19; i < 30; ++i) CHECK(out[i] == 0.0);
}

TEST_CASE("CciOfAFlatSeriesKeepsTaLibsOneUlpArtefact") {
  // TA-Lib compares TP − avg and MD with 0 exactly. Over a flat window of 0.123 the summed average
  // can miss TP by one ulp; then MD/n equals that same ulp and CCI = ±1/0.015 = ±66.67, not 0.
  // This is TA-Lib 0.6.x's result and is kept (documented in docs/indicators.md).
  const Hlcv b = flat_bars(30, 0.123);
  const auto out = run([&](auto o) { return ta::cci(b.h, b.l, b.c, 20, o); }, 30, 19);
  for (std::size_t i = 19; i < 30; ++i) {
    CHECK((out[i] == 0.0 || std::fabs(out[i]) == Approx(200.0 / 3)));
  }
}

TEST_CASE("MfiSplitsMoneyFlowByTheTypicalPriceChange") {
  Hlcv b;
  b.c = {10, 11, 10, 10, 12};
  b.h = b.l = b.c;
  b.v = {1, 2, 3, 5, 1};
  const auto out = run([&](auto o) { return ta::mfi(b.h, b.l, b.c, b.v, 2, o); }, 5, 2);
  check_lookback(out, 2);
  CHECK(out[2] == Approx(100.0 * 22 / 52));  // +22 (bar 1), −30 (bar 2)
  CHECK(out[3] == 0.0);                       // −30, none
  CHECK(out[4] == 100.0);                     // none, +12
}

TEST_CASE("MfiIsZeroWithZeroVolumeOrLowNotional") {
  Hlcv b = flat_bars(30, 1.0, 0.0);
  for (std::size_t i = 0; i < 30; ++i) b.c[i] = b.h[i] = b.l[i] = 1.0 + 0.01 * static_cast<double>(i % 3);
  auto out = run([&](auto o) { return ta::mfi(b.h, b.l, b.c, b.v, 14, o); }, 30, 14);
  for (std::size_t i = 14; i < 30; ++i) CHECK(out[i] == 0.0);
  // Prices around 1e-6 with volume 1000: total flow ≈ 1e-2 < 1.0 → 0 (TA-Lib 0.6.x's rule).
  for (std::size_t i = 0; i < 30; ++i) {
    b.c[i] = b.h[i] = b.l[i] = 1e-6 * (1.0 + 0.1 * static_cast<double>(i % 3));
    b.v[i] = 1000.0;
  }
  out = run([&](auto o) { return ta::mfi(b.h, b.l, b.c, b.v, 14, o); }, 30, 14);
  for (std::size_t i = 14; i < 30; ++i) CHECK(out[i] == 0.0);
  // Flat prices with volume: no flow at all → 0, not 50.
  const Hlcv f = flat_bars(30, 100.0, 50.0);
  out = run([&](auto o) { return ta::mfi(f.h, f.l, f.c, f.v, 14, o); }, 30, 14);
  for (std::size_t i = 14; i < 30; ++i) CHECK(out[i] == 0.0);
}

TEST_CASE("WillrIsMinusHundredAtTheLowAndZeroAtTheHigh") {
  const Hlcv b = stoch_bars();
  const auto out = run([&](auto o) { return ta::willr(b.h, b.l, b.c, 3, o); }, 8, 2);
  check_lookback(out, 2);
  for (std::size_t i = 2; i < 8; ++i) {
    const double hh = window_max(b.h, i, 3), ll = window_min(b.l, i, 3);
    CHECK(out[i] == Approx(-100.0 * (hh - b.c[i]) / (hh - ll)));
  }
  std::vector<double> h{2, 2, 2}, l{1, 1, 1}, c{1, 2, 1.5};
  const auto w = run([&](auto o) { return ta::willr(h, l, c, 2, o); }, 3, 1);
  CHECK(w[1] == 0.0);
  CHECK(w[2] == -50.0);
}

TEST_CASE("WillrIsZeroOnAFlatSeries") {
  const Hlcv b = flat_bars(20, 9.0);
  const auto out = run([&](auto o) { return ta::willr(b.h, b.l, b.c, 14, o); }, 20, 13);
  for (std::size_t i = 13; i < 20; ++i) CHECK(out[i] == 0.0);
}

// ============================== OBV, VWAP, extremes ============================================

TEST_CASE("ObvStartsAtTheFirstBarsVolume") {
  const std::vector<double> c{1, 2, 2, 1, 1.5}, v{5, 3, 4, 2, 0};
  const auto out = run([&](auto o) { return ta::obv(c, v, o); }, 5, 0);
  CHECK(out == std::vector<double>{5, 8, 8, 6, 6});  // the last bar rose on zero volume
}

TEST_CASE("VwapResetsOnTheFirstBarOfEachUtcDay") {
  Hlcv b;
  // 23:58 and 23:59 on day 0, then (00:00 and 00:01 missing) 00:02 on day 1.
  b.t = {kDay0 - 2 * kMinute, kDay0 - kMinute, kDay0 + 2 * kMinute, kDay0 + 3 * kMinute};
  b.h = {12, 15, 30, 33};
  b.l = {9, 9, 27, 27};
  b.c = {9, 12, 30, 30};  // TP 10, 12, 29, 30
  b.v = {1, 3, 2, 2};
  std::vector<double> out(4);
  CHECK(ta::vwap(b.t, b.h, b.l, b.c, b.v, out) == 0);
  CHECK(out[0] == 10.0);
  CHECK(out[1] == Approx((10.0 * 1 + 12.0 * 3) / 4));
  CHECK(out[2] == 29.0);  // reset
  CHECK(out[3] == Approx((29.0 * 2 + 30.0 * 2) / 4));
}

TEST_CASE("VwapIsTheTypicalPriceWhileTheDaysVolumeIsZero") {
  Hlcv b;
  b.t = {kDay0, kDay0 + kMinute, kDay0 + 2 * kMinute};
  b.h = {3, 6, 9};
  b.l = {3, 6, 3};
  b.c = {3, 6, 6};
  b.v = {0, 0, 2};
  std::vector<double> out(3);
  ta::vwap(b.t, b.h, b.l, b.c, b.v, out);
  CHECK(out[0] == 3.0);
  CHECK(out[1] == 6.0);
  CHECK(out[2] == 6.0);  // Σ = 6·2 / 2
  CHECK(ta::utc_day(-1) == -1);
  CHECK(ta::utc_day(kDay0) == kDay0 / ta::kMsPerDay);
}

TEST_CASE("HighestAndLowestCoverTheLastNValues") {
  const std::vector<double> x{3, 1, 4, 1, 5, 9, 2, 6};
  const auto hi = run([&](auto o) { return ta::highest(x, 3, o); }, 8, 2);
  const auto lo = run([&](auto o) { return ta::lowest(x, 3, o); }, 8, 2);
  check_lookback(hi, 2);
  check_lookback(lo, 2);
  for (std::size_t i = 2; i < 8; ++i) {
    CHECK(hi[i] == window_max(x, i, 3));
    CHECK(lo[i] == window_min(x, i, 3));
  }
}

TEST_CASE("ShortInputsAreAllNaN") {
  const std::vector<double> x{1, 2, 3};
  const auto out = run([&](auto o) { return ta::rsi(x, 14, o); }, 3, 14);
  for (double v : out) CHECK(std::isnan(v));
  std::vector<double> l(3), s(3), h(3);
  CHECK(ta::macd(x, 12, 26, 9, l, s, h) == 33);
  CHECK(std::isnan(h[2]));
}

// ============================== parameters =====================================================

TEST_CASE("ParameterValidationRejectsBadPeriods") {
  const std::vector<double> one{1}, fourteen{14}, half{2.5};
  CHECK_FALSE(ta::validate_params("rsi", fourteen));
  CHECK(ta::validate_params("rsi", one).value() == "rsi: period must be an integer in [2, 100000], got 1");
  CHECK(ta::validate_params("sma", half).has_value());
  CHECK_FALSE(ta::validate_params("atr", one));
  CHECK(ta::validate_params("natr", one).has_value());
  CHECK_FALSE(ta::validate_params("roc", one));
  CHECK(ta::validate_params("rsii", fourteen).value() == "unknown indicator 'rsii'");
  const std::vector<double> macd{12, 26, 9}, macd0{12, 26, 0};
  CHECK_FALSE(ta::validate_params("macd", macd));
  CHECK(ta::validate_params("macd", macd0).value() == "macd: signal must be an integer in [1, 100000], got 0");
  CHECK(ta::validate_params("macd", fourteen).value() == "macd: expected 3 parameters, got 1");
  const std::vector<double> bb{20, 2}, bb_nan{20, kNaN};
  CHECK_FALSE(ta::validate_params("bbands", bb));
  CHECK(ta::validate_params("bbands", bb_nan).has_value());
  CHECK_FALSE(ta::validate_params("obv", {}));
  const std::vector<double> st{14, 3, 3}, st0{0, 3, 3};
  CHECK_FALSE(ta::validate_params("stoch", st));
  CHECK(ta::validate_params("stoch", st0).has_value());
  CHECK(ta::indicator_names().size() == 25);
}

// ============================== incremental == batch on real data ==============================

namespace {

struct Columns {
  std::string name;
  std::vector<Bar> bars;
  std::vector<std::int64_t> t;
  std::vector<double> h, l, c, v;
};

Columns columns_of(std::string name, std::vector<Bar> bars) {
  Columns s;
  s.name = std::move(name);
  for (const Bar& b : bars) {
    s.t.push_back(b.open_time_ms);
    s.h.push_back(b.high);
    s.l.push_back(b.low);
    s.c.push_back(b.close);
    s.v.push_back(b.volume);
  }
  s.bars = std::move(bars);
  return s;
}

// BTCUSDT and WINUSDT (≈1e-3 USDT, volumes ≈1e8), each also with bars missing: every 7th bar, and
// a three-hour hole across 2021-05-03 00:00 UTC.
const std::vector<Columns>& real_series() {
  static const std::vector<Columns> series = [] {
    const std::string path = std::string(SCREENER_SHARED_DATA) +
                             "/freqtrade_selskas_2021/binance_spot_1m_94pairs_2021-05-01_to_2021-05-07.csv.gz";
    auto loaded = screener::load_kline_csv(path);
    if (!loaded) FAIL(loaded.error());
    std::vector<Columns> out;
    for (const char* symbol : {"BTCUSDT", "WINUSDT"}) {
      const auto it = std::find_if(loaded->begin(), loaded->end(), [&](const auto& s) { return s.symbol() == symbol; });
      if (it == loaded->end()) FAIL("no " << symbol);
      const std::vector<Bar>& bars = it->bars();
      out.push_back(columns_of(symbol, bars));
      std::vector<Bar> gappy;
      const std::int64_t hole_begin = kDay0 + 2 * ta::kMsPerDay - 90 * kMinute;
      const std::int64_t hole_end = kDay0 + 2 * ta::kMsPerDay + 90 * kMinute;
      for (std::size_t i = 0; i < bars.size(); ++i) {
        if (i % 7 == 3) continue;
        if (bars[i].open_time_ms >= hole_begin && bars[i].open_time_ms < hole_end) continue;
        gappy.push_back(bars[i]);
      }
      out.push_back(columns_of(std::string(symbol) + " with gaps", std::move(gappy)));
    }
    return out;
  }();
  return series;
}

bool identical(double a, double b) {
  return (std::isnan(a) && std::isnan(b)) || std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

// Feeds the state bar by bar; after bar i its value must be bit-identical to batch[i] (NaN before
// the lookback), and ready() must say whether batch[i] is a number.
template <class State, class Feed, class Get>
void expect_same(const Columns& s, const std::string& what, State state, const std::vector<double>& batch, Feed feed,
                 Get get) {
  std::size_t mismatches = 0, first = 0, numbers = 0;
  double got_first = 0, want_first = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    feed(state, i);
    const double got = get(state);
    numbers += std::isnan(batch[i]) ? 0 : 1;
    if (!identical(got, batch[i]) || state.ready() == std::isnan(batch[i])) {
      if (mismatches++ == 0) {
        first = i;
        got_first = got;
        want_first = batch[i];
      }
    }
  }
  INFO(s.name << " " << what << ": " << mismatches << " mismatches, first at " << first << " got "
              << got_first << " want " << want_first);
  CHECK(mismatches == 0);
  CHECK(numbers + 250 > batch.size());  // the comparison was not over NaN only
}

std::vector<double> batch_of(std::size_t size, const std::function<void(std::span<double>)>& f) {
  std::vector<double> out(size);
  f(out);
  return out;
}

}  // namespace

TEST_CASE("IncrementalMatchesBatchBitForBitOnRealBars") {
  for (const Columns& s : real_series()) {
    const std::size_t n = s.c.size();
    REQUIRE(n > 5000);
    auto by_close = [&](auto& st, std::size_t i) { st.update(s.c[i]); };
    auto by_bar = [&](auto& st, std::size_t i) { st.update(s.bars[i]); };
    auto value = [](const auto& st) { return st.value(); };

    for (int p : {2, 9, 20, 200}) {
      expect_same(s, "sma", ta::Sma(p), batch_of(n, [&](auto o) { ta::sma(s.c, p, o); }), by_close, value);
      expect_same(s, "ema", ta::Ema(p), batch_of(n, [&](auto o) { ta::ema(s.c, p, o); }), by_close, value);
      expect_same(s, "wma", ta::Wma(p), batch_of(n, [&](auto o) { ta::wma(s.c, p, o); }), by_close, value);
      expect_same(s, "highest", ta::Highest(p), batch_of(n, [&](auto o) { ta::highest(s.h, p, o); }),
                  [&](auto& st, std::size_t i) { st.update(s.h[i]); }, value);
      expect_same(s, "lowest", ta::Lowest(p), batch_of(n, [&](auto o) { ta::lowest(s.l, p, o); }),
                  [&](auto& st, std::size_t i) { st.update(s.l[i]); }, value);
    }
    expect_same(s, "sma(volume)", ta::Sma(20), batch_of(n, [&](auto o) { ta::sma(s.v, 20, o); }),
                [&](auto& st, std::size_t i) { st.update(s.v[i]); }, value);
    for (int p : {2, 14}) {
      expect_same(s, "rsi", ta::Rsi(p), batch_of(n, [&](auto o) { ta::rsi(s.c, p, o); }), by_close, value);
    }
    for (int p : {1, 10}) {
      expect_same(s, "roc", ta::Roc(p), batch_of(n, [&](auto o) { ta::roc(s.c, p, o); }), by_close, value);
      expect_same(s, "change_pct", ta::ChangePct(p), batch_of(n, [&](auto o) { ta::change_pct(s.c, p, o); }),
                  by_close, value);
    }

    for (auto [f, sl, sg] : {std::tuple{12, 26, 9}, std::tuple{26, 12, 9}, std::tuple{5, 35, 1}}) {
      std::vector<double> line(n), sig(n), hist(n);
      ta::macd(s.c, f, sl, sg, line, sig, hist);
      const ta::Macd st(f, sl, sg);
      expect_same(s, "macd.line", st, line, by_close, [](const auto& m) { return m.value().line; });
      expect_same(s, "macd.signal", st, sig, by_close, [](const auto& m) { return m.value().signal; });
      expect_same(s, "macd.hist", st, hist, by_close, [](const auto& m) { return m.value().hist; });
    }

    for (auto [p, k] : {std::pair{20, 2.0}, std::pair{5, 1.5}}) {
      std::vector<double> up(n), mid(n), lo(n), width(n), pb(n);
      ta::bbands(s.c, p, k, up, mid, lo, width, pb);
      const ta::Bbands st(p, k);
      expect_same(s, "bbands.upper", st, up, by_close, [](const auto& b) { return b.value().upper; });
      expect_same(s, "bbands.middle", st, mid, by_close, [](const auto& b) { return b.value().middle; });
      expect_same(s, "bbands.lower", st, lo, by_close, [](const auto& b) { return b.value().lower; });
      expect_same(s, "bbands.width", st, width, by_close, [](const auto& b) { return b.value().width; });
      expect_same(s, "bbands.percent_b", st, pb, by_close, [](const auto& b) { return b.value().percent_b; });
    }

    expect_same(s, "trange", ta::Trange(), batch_of(n, [&](auto o) { ta::trange(s.h, s.l, s.c, o); }), by_bar, value);
    for (int p : {1, 14}) {
      expect_same(s, "atr", ta::Atr(p), batch_of(n, [&](auto o) { ta::atr(s.h, s.l, s.c, p, o); }), by_bar, value);
    }
    expect_same(s, "natr", ta::Natr(14), batch_of(n, [&](auto o) { ta::natr(s.h, s.l, s.c, 14, o); }), by_bar, value);

    for (auto [fk, sk, sd] : {std::tuple{14, 3, 3}, std::tuple{5, 1, 1}, std::tuple{1, 2, 3}}) {
      std::vector<double> k(n), d(n);
      ta::stoch(s.h, s.l, s.c, fk, sk, sd, k, d);
      const ta::Stoch st(fk, sk, sd);
      expect_same(s, "stoch.k", st, k, by_bar, [](const auto& x) { return x.value().k; });
      expect_same(s, "stoch.d", st, d, by_bar, [](const auto& x) { return x.value().d; });
    }
    for (auto [fk, fd] : {std::pair{14, 3}, std::pair{5, 1}}) {
      std::vector<double> k(n), d(n);
      ta::stochf(s.h, s.l, s.c, fk, fd, k, d);
      const ta::Stochf st(fk, fd);
      expect_same(s, "stochf.k", st, k, by_bar, [](const auto& x) { return x.value().k; });
      expect_same(s, "stochf.d", st, d, by_bar, [](const auto& x) { return x.value().d; });
    }
    {
      std::vector<double> k(n), d(n);
      ta::stochrsi(s.c, 14, 5, 3, k, d);
      const ta::StochRsi st(14, 5, 3);
      expect_same(s, "stochrsi.k", st, k, by_close, [](const auto& x) { return x.value().k; });
      expect_same(s, "stochrsi.d", st, d, by_close, [](const auto& x) { return x.value().d; });
    }

    for (int p : {2, 5, 14}) {
      expect_same(s, "adx", ta::Adx(p), batch_of(n, [&](auto o) { ta::adx(s.h, s.l, s.c, p, o); }), by_bar, value);
      expect_same(s, "dx", ta::Dx(p), batch_of(n, [&](auto o) { ta::dx(s.h, s.l, s.c, p, o); }), by_bar, value);
      expect_same(s, "plus_di", ta::PlusDi(p), batch_of(n, [&](auto o) { ta::plus_di(s.h, s.l, s.c, p, o); }), by_bar,
                  value);
      expect_same(s, "minus_di", ta::MinusDi(p), batch_of(n, [&](auto o) { ta::minus_di(s.h, s.l, s.c, p, o); }),
                  by_bar, value);
    }
    for (int p : {2, 20}) {
      expect_same(s, "cci", ta::Cci(p), batch_of(n, [&](auto o) { ta::cci(s.h, s.l, s.c, p, o); }), by_bar, value);
      expect_same(s, "mfi", ta::Mfi(p), batch_of(n, [&](auto o) { ta::mfi(s.h, s.l, s.c, s.v, p, o); }), by_bar,
                  value);
      expect_same(s, "willr", ta::Willr(p), batch_of(n, [&](auto o) { ta::willr(s.h, s.l, s.c, p, o); }), by_bar,
                  value);
    }
    expect_same(s, "obv", ta::Obv(), batch_of(n, [&](auto o) { ta::obv(s.c, s.v, o); }), by_bar, value);
    expect_same(s, "vwap", ta::Vwap(), batch_of(n, [&](auto o) { ta::vwap(s.t, s.h, s.l, s.c, s.v, o); }), by_bar,
                value);
  }
}

TEST_CASE("WarmUpFromHistoryEqualsBatchAtTheLastBar") {
  const Columns& s = real_series()[0];
  const std::size_t m = 3000;
  const std::span<const double> closes = std::span<const double>(s.c).first(m);
  const std::span<const Bar> bars = std::span<const Bar>(s.bars).first(m);
  const auto rsi = batch_of(s.c.size(), [&](auto o) { ta::rsi(s.c, 14, o); });
  CHECK(identical(ta::warm_up(ta::Rsi(14), closes).value(), rsi[m - 1]));
  std::vector<double> line(s.c.size()), sig(s.c.size()), hist(s.c.size());
  ta::macd(s.c, 12, 26, 9, line, sig, hist);
  CHECK(identical(ta::warm_up(ta::Macd(12, 26, 9), closes).value().hist, hist[m - 1]));
  const auto adx = batch_of(s.c.size(), [&](auto o) { ta::adx(s.h, s.l, s.c, 14, o); });
  const ta::Adx warmed = ta::warm_up(ta::Adx(14), bars);
  CHECK(warmed.ready());
  CHECK(identical(warmed.value(), adx[m - 1]));
  // A state warmed on a later window seeds there: it differs from the full-history one at first.
  const auto late = ta::warm_up(ta::Rsi(14), closes.subspan(2900));
  CHECK_FALSE(identical(late.value(), rsi[m - 1]));
}

TEST_CASE("VwapResetsOnRealDataAtEachUtcMidnight") {
  for (const Columns& s : real_series()) {
    std::vector<double> out(s.c.size());
    ta::vwap(s.t, s.h, s.l, s.c, s.v, out);
    std::size_t resets = 0;
    for (std::size_t i = 1; i < s.c.size(); ++i) {
      if (ta::utc_day(s.t[i]) != ta::utc_day(s.t[i - 1])) {
        ++resets;
        const double tp = (s.h[i] + s.l[i] + s.c[i]) / 3.0;
        CHECK(out[i] == Approx(tp).epsilon(1e-12));
      }
    }
    INFO(s.name);
    CHECK(resets == 6);  // 2021-05-01 .. 05-07
  }
}
