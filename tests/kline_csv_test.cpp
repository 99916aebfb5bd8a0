// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "tests/support/temp_dir.hpp"
#include <zlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "common/kline_csv.hpp"

using screener::Interval;
using screener::KlineField;
using screener::KlineSeries;
using screener::load_kline_csv;
using screener::load_kline_csv_files;

namespace {

const std::string kData = SCREENER_SHARED_DATA;
const std::string kArchive27 = kData + "/nautilus_databinancevision_sample/ADABTC-1m-2021-11-27.csv";
const std::string kArchive28 = kData + "/nautilus_databinancevision_sample/ADABTC-1m-2021-11-28.csv";
const std::string kWeek = kData + "/freqtrade_selskas_2021/binance_spot_1m_94pairs_2021-05-01_to_2021-05-07.csv.gz";

using ScratchDir = screener::test::TempDir;

/// Writes `content` gzip-compressed to `name` in `dir`; returns its path.
std::string write_gz(const ScratchDir& dir, const std::string& name, const std::string& content) {
  const std::string file = dir.file(name);
  gzFile gz = gzopen(file.c_str(), "wb");
  gzwrite(gz, content.data(), static_cast<unsigned>(content.size()));
  gzclose(gz);
  return file;
}

const KlineSeries* find_series(const std::vector<KlineSeries>& all, const std::string& symbol) {
  for (const auto& s : all)
    if (s.symbol() == symbol) return &s;
  return nullptr;
}

}  // namespace

TEST_CASE("ArchiveCsvLoadsTwelveColumnsWithTheSymbolFromTheFileName", "[kline_csv]") {
  const auto sut = load_kline_csv(kArchive27);
  REQUIRE(sut.has_value());
  REQUIRE(sut->size() == 1);
  const KlineSeries& s = sut->front();
  CHECK(s.symbol() == "ADABTC");
  CHECK(s.interval() == Interval::m1);
  REQUIRE(s.size() == 10);
  const auto& bar = s.bars().front();
  CHECK(bar.open_time_ms == 1637971200000);
  CHECK(bar.open == 0.00002853);
  CHECK(bar.high == 0.00002854);
  CHECK(bar.trades == 79);
  CHECK(bar.volume == 36304.2);
  CHECK(bar.quote_volume == 1.03547608);
  CHECK(bar.taker_buy_base_volume == 19523.0);
  CHECK(bar.taker_buy_quote_volume == 0.55694227);
  CHECK(s.text(0, KlineField::Open) == "0.00002853");
  CHECK(s.text(0, KlineField::Close) == "0.00002854");
  CHECK(s.text(0, KlineField::Volume) == "36304.20000000");
  CHECK(s.text(0, KlineField::QuoteVolume) == "1.03547608");
  CHECK(s.text(0, KlineField::TakerBuyBaseVolume) == "19523.00000000");
  CHECK(s.text(0, KlineField::TakerBuyQuoteVolume) == "0.55694227");
  CHECK(s.bars().back().open_time_ms == 1637971200000 + 9 * 60'000);
}

TEST_CASE("ConsecutiveArchiveFilesJoinIntoOneSeriesInAnyOrder", "[kline_csv]") {
  const std::vector<std::string> files{kArchive28, kArchive27};
  const auto sut = load_kline_csv_files(files);
  REQUIRE(sut.has_value());
  REQUIRE(sut->size() == 1);
  const auto& bars = sut->front().bars();
  REQUIRE(bars.size() == 21);
  for (std::size_t i = 1; i < bars.size(); ++i) CHECK(bars[i].open_time_ms > bars[i - 1].open_time_ms);
  CHECK(bars[10].open_time_ms == 1638057600000);
  CHECK(sut->front().text(10, KlineField::Open) == "0.00002820");
}

TEST_CASE("ArchiveSymbolCanBeGivenExplicitly", "[kline_csv]") {
  const auto sut = load_kline_csv(kArchive27, {.symbol = "ADA/BTC", .interval = std::nullopt});
  REQUIRE(sut.has_value());
  CHECK(sut->front().symbol() == "ADA/BTC");
}

TEST_CASE("SevenColumnGzipFileLoadsEverySymbolWithExactTokens", "[kline_csv]") {
  const auto started = std::chrono::steady_clock::now();
  const auto sut = load_kline_csv(kWeek);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  REQUIRE(sut.has_value());
  WARN("loaded the 57 MB week in " << seconds << " s");
  CHECK(seconds < 20.0);  // a loose bound: the machine is shared; RelWithDebInfo takes about 1 s
  REQUIRE(sut->size() == 94);
  std::size_t rows = 0;
  for (const auto& s : *sut) {
    CHECK(s.interval() == Interval::m1);
    CHECK(s.size() == 10'080);
    CHECK(s.bars().front().open_time_ms == 1619827200000);
    CHECK(s.bars().back().open_time_ms == 1620431940000);
    rows += s.size();
  }
  CHECK(rows == 947'520);
  const KlineSeries* dgb = find_series(*sut, "DGBUSDT");
  REQUIRE(dgb != nullptr);
  CHECK(dgb->text(0, KlineField::Volume) == "21554875.6999999993");
  CHECK(dgb->bars()[0].volume == 21554875.6999999993);
  // Columns the layout lacks are 0, with no source text.
  CHECK(dgb->bars()[0].quote_volume == 0.0);
  CHECK(dgb->bars()[0].trades == 0);
  CHECK(dgb->bars()[0].taker_buy_base_volume == 0.0);
  CHECK(dgb->text(0, KlineField::QuoteVolume).empty());
  const KlineSeries* btc = find_series(*sut, "BTCUSDT");
  REQUIRE(btc != nullptr);
  for (std::size_t i = 0; i < btc->size(); ++i) {
    const auto& b = btc->bars()[i];
    REQUIRE(b.low <= std::min(b.open, b.close));
    REQUIRE(b.high >= std::max(b.open, b.close));
  }
}

TEST_CASE("SevenColumnPlainFileWithSeveralSymbols", "[kline_csv]") {
  ScratchDir dir;
  const std::string file = dir.write("two.csv",
                                     "symbol,open_time_ms,open,high,low,close,volume\n"
                                     "AUSDT,1619827200000,1.5,1.6,1.4,1.55,10\n"
                                     "BUSDT,1619827200000,58720.45,58800.0,58700.0,58750.0,2982371.1000000001\n"
                                     "AUSDT,1619827500000,1.55,1.55,1.55,1.55,0.0\n"
                                     "BUSDT,1619827500000,58750.0,58760.0,58740.0,58741.0,1.5\n");
  const auto sut = load_kline_csv(file);
  REQUIRE(sut.has_value());
  REQUIRE(sut->size() == 2);
  CHECK(sut->at(0).symbol() == "AUSDT");
  CHECK(sut->at(1).symbol() == "BUSDT");
  CHECK(sut->at(0).interval() == Interval::m5);  // detected from the 300 000 ms spacing
  CHECK(sut->at(1).text(0, KlineField::Volume) == "2982371.1000000001");
  CHECK(sut->at(1).text(0, KlineField::Open) == "58720.45");

  const std::string gz = write_gz(dir, "two.csv.gz",
                                      "symbol,open_time_ms,open,high,low,close,volume\n"
                                      "AUSDT,1619827200000,1.5,1.6,1.4,1.55,10\n"
                                      "AUSDT,1619827260000,1.55,1.55,1.55,1.55,0.0\n");
  const auto zipped = load_kline_csv(gz);
  REQUIRE(zipped.has_value());
  CHECK(zipped->front().interval() == Interval::m1);
}

TEST_CASE("ExponentNotationIsReadButNotKeptAsText", "[kline_csv]") {
  ScratchDir dir;
  const std::string file = dir.write("e.csv", "symbol,open_time_ms,open,high,low,close,volume\n"
                                              "XBTC,1619827200000,6.38e-05,6.4e-05,6.38e-05,6.4e-05,1e+21\n");
  const auto sut = load_kline_csv(file, {.symbol = std::nullopt, .interval = Interval::m1});
  REQUIRE(sut.has_value());
  CHECK(sut->front().bars()[0].open == 6.38e-05);
  CHECK(sut->front().bars()[0].volume == 1e21);
  CHECK(sut->front().text(0, KlineField::Open).empty());
  CHECK(sut->front().text(0, KlineField::Volume).empty());
  const auto negative = load_kline_csv(dir.write("n.csv", "symbol,open_time_ms,open,high,low,close,volume\n"
                                                          "XBTC,1619827200000,1,1,1,1,-1\n"));
  REQUIRE_FALSE(negative.has_value());
  CHECK_THAT(negative.error(), Catch::Contains("bad volume (-1)"));
}

TEST_CASE("MicrosecondTimesAreNormalisedToMilliseconds", "[kline_csv]") {
  ScratchDir dir;
  const std::string file = dir.write(
      "BTCUSDT-1h-2025-01-01.csv",
      "1735689600000000,93576.00000000,94509.42000000,93489.03000000,94401.14000000,1151.27504000,"
      "1735693199999999,108197154.34591240,186937,590.02426000,55463236.30296450,0\n"
      "1735693200000000,94401.13000000,94408.00000000,94000.01000000,94200.00000000,800.00000000,"
      "1735696799999999,75500000.00000000,100000,400.00000000,37700000.00000000,0\n");
  const auto sut = load_kline_csv(file);
  REQUIRE(sut.has_value());
  const KlineSeries& s = sut->front();
  CHECK(s.symbol() == "BTCUSDT");
  CHECK(s.interval() == Interval::h1);
  CHECK(s.bars()[0].open_time_ms == 1735689600000);
  CHECK(s.bars()[1].open_time_ms == 1735693200000);
  CHECK(s.text(0, KlineField::QuoteVolume) == "108197154.34591240");
}

TEST_CASE("FuturesArchiveHeaderRowIsSkipped", "[kline_csv]") {
  ScratchDir dir;
  const std::string file = dir.write(
      "ADAUSDT-1m-2025-01.csv",
      "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,taker_buy_quote_volume,"
      "ignore\n"
      "1735689600000,0.84270,0.84400,0.84200,0.84380,1000,1735689659999,843.8,12,500,421.9,0\n");
  const auto sut = load_kline_csv(file, {.symbol = std::nullopt, .interval = Interval::m1});
  REQUIRE(sut.has_value());
  CHECK(sut->front().symbol() == "ADAUSDT");
  CHECK(sut->front().size() == 1);
}

TEST_CASE("SingleArchiveRowTakesItsIntervalFromTheCloseTime", "[kline_csv]") {
  ScratchDir dir;
  const std::string file =
      dir.write("XUSDT-15m.csv", "1637971200000,1.0,1.0,1.0,1.0,0,1637972099999,0,0,0,0,0\n");
  const auto sut = load_kline_csv(file);
  REQUIRE(sut.has_value());
  CHECK(sut->front().interval() == Interval::m15);
}

TEST_CASE("OutOfOrderAndDuplicateOpenTimesAreRejected", "[kline_csv]") {
  ScratchDir dir;
  const std::string header = "symbol,open_time_ms,open,high,low,close,volume\n";
  const std::string duplicate = dir.write("dup.csv", header + "AUSDT,1619827200000,1,1,1,1,1\n"
                                                               "AUSDT,1619827200000,1,1,1,1,1\n");
  const auto dup = load_kline_csv(duplicate);
  REQUIRE_FALSE(dup.has_value());
  CHECK_THAT(dup.error(), Catch::Contains("dup.csv:3: duplicate open time for AUSDT") &&
                              Catch::Contains("(1619827200000)"));
  const std::string backwards = dir.write("back.csv", header + "AUSDT,1619827260000,1,1,1,1,1\n"
                                                               "BUSDT,1619827200000,1,1,1,1,1\n"
                                                               "AUSDT,1619827200000,1,1,1,1,1\n");
  const auto back = load_kline_csv(backwards);
  REQUIRE_FALSE(back.has_value());
  CHECK_THAT(back.error(), Catch::Contains("back.csv:4: open time out of order for AUSDT"));
}

TEST_CASE("MalformedValuesAreReportedWithFileLineAndValue", "[kline_csv]") {
  ScratchDir dir;
  const std::string header = "symbol,open_time_ms,open,high,low,close,volume\n";
  const auto bad_price = load_kline_csv(dir.write("p.csv", header + "AUSDT,1619827200000,1,abc,1,1,1\n"));
  REQUIRE_FALSE(bad_price.has_value());
  CHECK_THAT(bad_price.error(), Catch::EndsWith("p.csv:2: bad high price (abc)"));
  const auto bad_columns = load_kline_csv(dir.write("c.csv", header + "AUSDT,1619827200000,1,1,1\n"));
  REQUIRE_FALSE(bad_columns.has_value());
  CHECK_THAT(bad_columns.error(), Catch::Contains("c.csv:2: expected 7 columns, found 5"));
  const auto bad_ohlc = load_kline_csv(dir.write("o.csv", header + "AUSDT,1619827200000,2,1.5,1,1,1\n"));
  REQUIRE_FALSE(bad_ohlc.has_value());
  CHECK_THAT(bad_ohlc.error(), Catch::Contains("o.csv:2: prices violate"));
  const auto bad_header = load_kline_csv(dir.write("h.csv", "symbol,time,open\n"));
  REQUIRE_FALSE(bad_header.has_value());
  CHECK_THAT(bad_header.error(), Catch::Contains("h.csv:1: unknown header"));
  const auto missing = load_kline_csv(dir.write("none", "").append("-missing"));
  REQUIRE_FALSE(missing.has_value());
  CHECK_THAT(missing.error(), Catch::Contains("cannot open"));
}

TEST_CASE("IntervalMustMatchTheOpenTimes", "[kline_csv]") {
  ScratchDir dir;
  const std::string header = "symbol,open_time_ms,open,high,low,close,volume\n";
  const std::string odd = dir.write("odd.csv", header + "AUSDT,1619827200000,1,1,1,1,1\n"
                                                        "AUSDT,1619827270000,1,1,1,1,1\n");
  const auto detected = load_kline_csv(odd);
  REQUIRE_FALSE(detected.has_value());
  CHECK_THAT(detected.error(), Catch::Contains("70000 ms apart"));
  const std::string five = dir.write("five.csv", header + "AUSDT,1619827200000,1,1,1,1,1\n"
                                                          "AUSDT,1619827260000,1,1,1,1,1\n");
  const auto misaligned = load_kline_csv(five, {.symbol = std::nullopt, .interval = Interval::m5});
  REQUIRE_FALSE(misaligned.has_value());
  CHECK_THAT(misaligned.error(), Catch::Contains("not on a 5m boundary"));
}
