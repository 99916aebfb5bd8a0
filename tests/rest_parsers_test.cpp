// SPDX-License-Identifier: Apache-2.0
// REST body parsers: klines, exchangeInfo (real 2021 capture and a current-shape snippet),
// ticker/24hr and error bodies; error messages say what and where.
#include <catch2/catch.hpp>

#include <zlib.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "common/interval.hpp"
#include "daemon/feed/rest_parsers.hpp"

#ifndef SCREENER_SHARED_DATA
#error "SCREENER_SHARED_DATA must name ../shared/data/binance"
#endif

using namespace screener;
using namespace screener::feed;

namespace {

std::string gunzip(const char* path) {
  gzFile file = gzopen(path, "rb");
  REQUIRE(file != nullptr);
  std::string out;
  char buffer[1 << 16];
  int n = 0;
  while ((n = gzread(file, buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<std::size_t>(n));
  const bool ok = n == 0;
  gzclose(file);
  REQUIRE(ok);
  return out;
}

/// Line 1 of BINANCE.0: "https://api.binance.com/api/v3/exchangeInfo -> <epoch>: {…}".
std::string captured_exchange_info() {
  const std::string all = gunzip(SCREENER_SHARED_DATA "/cryptofeed_binance_2021-10-12/BINANCE.0.gz");
  const std::string line = all.substr(0, all.find('\n'));
  REQUIRE(line.starts_with("https://api.binance.com/api/v3/exchangeInfo -> "));
  const auto body = line.find(": {");
  REQUIRE(body != std::string::npos);
  return line.substr(body + 2);
}

const SymbolListing* find_symbol(const ExchangeInfo& info, std::string_view symbol) {
  for (const auto& listing : info.symbols)
    if (listing.symbol == symbol) return &listing;
  return nullptr;
}

std::string replace_once(std::string text, std::string_view from, std::string_view to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  return text;
}

const std::string kTwoMinuteBars =
    R"([[1633998420000,"0.35200000","0.35300000","0.35100000","0.35270000","10000.00000000",1633998479999,)"
    R"("3525.00000000",25,"5000.00000000","1762.50000000","0"],)"
    R"([1633998480000,"0.35270000","0.35280000","0.35220000","0.35280000","25877.00000000",1633998539999,)"
    R"("9116.04600000",30,"58.00000000","20.46240000","0"]])";

// Current shape (2026): permissionSets, NOTIONAL and newer filters, CANCEL_ONLY, a status this
// build does not know, a non-ASCII symbol, a symbol without filters, and "sors".
const std::string kCurrentExchangeInfo = R"({"timezone":"UTC","serverTime":1783000000000,
"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000},
 {"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":100},
 {"rateLimitType":"RAW_REQUESTS","interval":"MINUTE","intervalNum":5,"limit":300000}],
"exchangeFilters":[],
"symbols":[
 {"symbol":"BTCUSDT","status":"TRADING","baseAsset":"BTC","baseAssetPrecision":8,"quoteAsset":"USDT",
  "quotePrecision":8,"quoteAssetPrecision":8,"orderTypes":["LIMIT","LIMIT_MAKER","MARKET"],"icebergAllowed":true,
  "ocoAllowed":true,"otoAllowed":true,"quoteOrderQtyMarketAllowed":true,"allowTrailingStop":true,
  "cancelReplaceAllowed":true,"amendAllowed":true,"isSpotTradingAllowed":true,"isMarginTradingAllowed":true,
  "filters":[{"filterType":"PRICE_FILTER","minPrice":"0.01000000","maxPrice":"1000000.00000000","tickSize":"0.01000000"},
   {"filterType":"LOT_SIZE","minQty":"0.00001000","maxQty":"9000.00000000","stepSize":"0.00001000"},
   {"filterType":"ICEBERG_PARTS","limit":100},
   {"filterType":"MARKET_LOT_SIZE","minQty":"0.00000000","maxQty":"123.45","stepSize":"0.00000000"},
   {"filterType":"TRAILING_DELTA","minTrailingAboveDelta":10,"maxTrailingAboveDelta":2000,"minTrailingBelowDelta":10,"maxTrailingBelowDelta":2000},
   {"filterType":"PERCENT_PRICE_BY_SIDE","bidMultiplierUp":"5","bidMultiplierDown":"0.2","askMultiplierUp":"5","askMultiplierDown":"0.2","avgPriceMins":5},
   {"filterType":"NOTIONAL","minNotional":"5.00000000","applyMinToMarket":true,"maxNotional":"9000000.00000000","applyMaxToMarket":false,"avgPriceMins":5},
   {"filterType":"MAX_NUM_ORDERS","maxNumOrders":200},
   {"filterType":"MAX_NUM_ORDER_AMENDS","maxNumOrderAmends":10},
   {"filterType":"SOME_FUTURE_FILTER","whatever":[1,2,3]}],
  "permissions":[],"permissionSets":[["SPOT","MARGIN","TRD_GRP_004"]],
  "defaultSelfTradePreventionMode":"EXPIRE_MAKER","allowedSelfTradePreventionModes":["NONE","EXPIRE_TAKER"]},
 {"symbol":"OLDBTC","status":"CANCEL_ONLY","baseAsset":"OLD","quoteAsset":"BTC","isSpotTradingAllowed":false,
  "filters":[{"filterType":"PRICE_FILTER","minPrice":"0.00000001","maxPrice":"1000.00000000","tickSize":"0.00000001"}],
  "permissions":[],"permissionSets":[["SPOT"]]},
 {"symbol":"NEWUSDT","status":"FOO_BAR","baseAsset":"NEW","quoteAsset":"USDT"},
 {"symbol":"币安人生USDT","status":"TRADING","baseAsset":"币安人生","quoteAsset":"USDT","isSpotTradingAllowed":true,
  "filters":[{"filterType":"LOT_SIZE","minQty":"1","maxQty":"100","stepSize":"1.00000000"}]}
],
"sors":[{"baseAsset":"BTC","symbols":["BTCUSDT","BTCUSDC"]}]})";

// Verbatim FULL object of the REST docs.
const std::string kFullTicker =
    R"({"symbol":"BNBBTC","priceChange":"-94.99999800","priceChangePercent":"-95.960","weightedAvgPrice":"0.29628482",)"
    R"("prevClosePrice":"0.10002000","lastPrice":"4.00000200","lastQty":"200.00000000","bidPrice":"4.00000000",)"
    R"("bidQty":"100.00000000","askPrice":"4.00000200","askQty":"100.00000000","openPrice":"99.00000000",)"
    R"("highPrice":"100.00000000","lowPrice":"0.10000000","volume":"8913.30000000","quoteVolume":"15.30000000",)"
    R"("openTime":1499783499040,"closeTime":1499869899040,"firstId":28385,"lastId":28460,"count":76})";

const std::string kMiniTicker =
    R"({"symbol":"ETHBTC","openPrice":"0.06000000","highPrice":"0.06500000","lowPrice":"0.05900000",)"
    R"("lastPrice":"0.06400000","volume":"1000.00000000","quoteVolume":"62.00000000","openTime":1499783499040,)"
    R"("closeTime":1499869899041,"firstId":1,"lastId":10,"count":10})";

}  // namespace

// ---------------------------------------------------------------------------------- klines

TEST_CASE("KlinesResponseWithTwoBarsIsParsed", "[rest][klines]") {
  const auto sut = parse_klines_response(kTwoMinuteBars, Interval::m1);
  REQUIRE(sut.has_value());
  REQUIRE(sut->size() == 2);
  const RestKline& first = (*sut)[0];
  CHECK(first.bar.open_time_ms == 1633998420000);
  CHECK(first.close_time_ms == 1633998479999);
  CHECK(first.bar.open == 0.352);
  CHECK(first.bar.high == 0.353);
  CHECK(first.bar.low == 0.351);
  CHECK(first.bar.close == 0.3527);
  CHECK(first.bar.volume == 10000.0);
  CHECK(first.bar.quote_volume == 3525.0);
  CHECK(first.bar.trades == 25);
  CHECK(first.bar.taker_buy_base_volume == 5000.0);
  CHECK(first.bar.taker_buy_quote_volume == 1762.5);
  const RestKline& second = (*sut)[1];
  CHECK(second.bar.open_time_ms == 1633998480000);
  CHECK(second.close_time_ms == 1633998539999);
  CHECK(second.bar.quote_volume == 9116.046);
  CHECK(second.bar.trades == 30);
}

TEST_CASE("DocsWeeklyKlineExampleIsParsed", "[rest][klines]") {
  // The docs' example row is a Monday-aligned week: 2017-07-03 .. 2017-07-09T23:59:59.999.
  const auto sut = parse_klines_response(
      R"([[1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100","148976.11427815",1499644799999,)"
      R"("2434.19055334",308,"1756.87402397","28.46694368","0"]])",
      Interval::w1);
  REQUIRE(sut.has_value());
  REQUIRE(sut->size() == 1);
  CHECK((*sut)[0].bar.trades == 308);
  CHECK((*sut)[0].bar.high == 0.8);
}

TEST_CASE("EmptyKlinesResponseIsAnEmptyVector", "[rest][klines]") {
  const auto sut = parse_klines_response("[]", Interval::h1);
  REQUIRE(sut.has_value());
  CHECK(sut->empty());
}

TEST_CASE("KlinesBadElementIsReportedWithItsIndex", "[rest][klines]") {
  const auto sut = parse_klines_response(replace_once(kTwoMinuteBars, R"("0.35280000","25877)", R"(0.3528,"25877)"),
                                         Interval::m1);
  REQUIRE_FALSE(sut.has_value());
  // replace_once hit the second element's close: a number where a decimal string belongs.
  CHECK(sut.error() == "klines[1][4] (close): expected a decimal string, got number");
}

TEST_CASE("KlinesValidationFailuresSayWhatAndWhere", "[rest][klines]") {
  const auto check_error = [](const std::string& body, Interval interval, std::string_view expected) {
    const auto sut = parse_klines_response(body, interval);
    REQUIRE_FALSE(sut.has_value());
    CHECK(sut.error() == expected);
  };
  check_error(replace_once(kTwoMinuteBars, R"("0.35300000")", R"("0.35000000")"), Interval::m1,
              "klines[0]: high 0.35 is below low 0.351");
  check_error(replace_once(kTwoMinuteBars, R"("0.35100000")", R"("NaN")"), Interval::m1,
              R"(klines[0][3] (low): "NaN" is not a finite number)");
  check_error(replace_once(kTwoMinuteBars, R"("10000.00000000")", R"("-1")"), Interval::m1,
              R"(klines[0][5] (volume): "-1" is negative)");
  check_error(replace_once(kTwoMinuteBars, ",25,", ",\"25\","), Interval::m1,
              "klines[0][8] (trades): expected an integer, got string");
  check_error(kTwoMinuteBars, Interval::m5,
              "klines[0]: open time 1633998420000 is not a 5m bar boundary (nearest below: 1633998300000)");
  check_error(replace_once(kTwoMinuteBars, "1633998479999", "1633998480000"), Interval::m1,
              "klines[0]: close time 1633998480000 should be 1633998479999 for a 1m bar opening at 1633998420000 "
              "(microsecond timestamps?)");
  check_error(replace_once(kTwoMinuteBars, R"(,"0"]])", "]]"), Interval::m1, "klines[1]: expected 12 values, got 11");
  check_error(R"([[1633998480000],5])", Interval::m1, "klines[0]: expected 12 values, got 1");
  check_error(R"([5])", Interval::m1, "klines[0]: expected an array of 12 values, got number");
  check_error(R"({"code":-1121,"msg":"Invalid symbol."})", Interval::m1,
              "klines: expected an array, got object (Binance error -1121: Invalid symbol.)");
  const auto bad_json = parse_klines_response("[[1,2", Interval::m1);
  REQUIRE_FALSE(bad_json.has_value());
  CHECK(bad_json.error().starts_with("klines: not valid JSON: "));
}

TEST_CASE("KlinesOutOfOrderAreRejected", "[rest][klines]") {
  const std::string first = kTwoMinuteBars.substr(1, kTwoMinuteBars.find("],["));
  const std::string second = kTwoMinuteBars.substr(kTwoMinuteBars.find("],[") + 2,
                                                   kTwoMinuteBars.size() - kTwoMinuteBars.find("],[") - 3);
  const auto swapped = parse_klines_response("[" + second + "," + first + "]", Interval::m1);
  REQUIRE_FALSE(swapped.has_value());
  CHECK(swapped.error() == "klines[1]: open time 1633998420000 is not after the previous element's 1633998480000");
  const auto duplicate = parse_klines_response("[" + first + "," + first + "]", Interval::m1);
  REQUIRE_FALSE(duplicate.has_value());
}

TEST_CASE("KlinesExtraTrailingColumnsAreIgnored", "[rest][klines]") {
  const auto sut = parse_klines_response(replace_once(kTwoMinuteBars, R"("0"]])", R"("0","future",7]])"), Interval::m1);
  REQUIRE(sut.has_value());
  CHECK(sut->size() == 2);
}

// ---------------------------------------------------------------------------------- exchangeInfo

TEST_CASE("CapturedExchangeInfoOf2021Has1695Symbols", "[rest][exchangeInfo]") {
  const auto sut = parse_exchange_info(captured_exchange_info());
  REQUIRE(sut.has_value());
  CHECK(sut->symbols.size() == 1695);
  CHECK(sut->server_time_ms == 1633998511098);
  CHECK(sut->request_weight_per_minute == 1200);
  const auto count = [&](auto predicate) { return std::count_if(sut->symbols.begin(), sut->symbols.end(), predicate); };
  CHECK(count([](const SymbolListing& s) { return s.status == shm::TradingStatus::Trading; }) == 1262);
  CHECK(count([](const SymbolListing& s) { return s.status == shm::TradingStatus::Break; }) == 433);
  CHECK(count([](const SymbolListing& s) { return s.quote_asset == "USDT"; }) == 342);
  CHECK(count([](const SymbolListing& s) {
          return s.quote_asset == "USDT" && s.status == shm::TradingStatus::Trading;
        }) == 315);
  const SymbolListing* nkn = find_symbol(*sut, "NKNUSDT");
  REQUIRE(nkn != nullptr);
  CHECK(nkn->base_asset == "NKN");
  CHECK(nkn->quote_asset == "USDT");
  CHECK(nkn->status == shm::TradingStatus::Trading);
  CHECK(nkn->status_text == "TRADING");
  CHECK(nkn->tick_size == 0.0001);
  CHECK(nkn->step_size == 1.0);
  CHECK(nkn->spot_allowed);
  const SymbolListing* lrc = find_symbol(*sut, "LRCBTC");
  REQUIRE(lrc != nullptr);
  CHECK(lrc->tick_size == 0.00000001);
}

TEST_CASE("CurrentExchangeInfoShapeWithCancelOnlyAndUnknownStatusIsParsed", "[rest][exchangeInfo]") {
  const auto sut = parse_exchange_info(kCurrentExchangeInfo);
  REQUIRE(sut.has_value());
  REQUIRE(sut->symbols.size() == 4);
  CHECK(sut->request_weight_per_minute == 6000);
  CHECK(sut->server_time_ms == 1783000000000);
  const SymbolListing& btc = sut->symbols[0];
  CHECK(btc.symbol == "BTCUSDT");
  CHECK(btc.status == shm::TradingStatus::Trading);
  CHECK(btc.tick_size == 0.01);
  CHECK(btc.step_size == 0.00001);  // LOT_SIZE, not MARKET_LOT_SIZE's 0
  CHECK(btc.spot_allowed);
  const SymbolListing& old = sut->symbols[1];
  CHECK(old.status == shm::TradingStatus::CancelOnly);
  CHECK(old.status_text == "CANCEL_ONLY");
  CHECK_FALSE(old.spot_allowed);
  CHECK(old.tick_size == 0.00000001);
  CHECK(old.step_size == 0.0);  // no LOT_SIZE
  const SymbolListing& fresh = sut->symbols[2];
  CHECK(fresh.status == shm::TradingStatus::Unknown);
  CHECK(fresh.status_text == "FOO_BAR");
  CHECK(fresh.spot_allowed);  // isSpotTradingAllowed absent
  CHECK(fresh.tick_size == 0.0);
  const SymbolListing& unicode = sut->symbols[3];
  CHECK(unicode.symbol == "币安人生USDT");
  CHECK(unicode.base_asset == "币安人生");
  CHECK(unicode.step_size == 1.0);
}

TEST_CASE("TradingStatusNamesMapToTheSegmentEnum", "[rest][exchangeInfo]") {
  CHECK(parse_trading_status("TRADING") == shm::TradingStatus::Trading);
  CHECK(parse_trading_status("END_OF_DAY") == shm::TradingStatus::EndOfDay);
  CHECK(parse_trading_status("HALT") == shm::TradingStatus::Halt);
  CHECK(parse_trading_status("BREAK") == shm::TradingStatus::Break);
  CHECK(parse_trading_status("CANCEL_ONLY") == shm::TradingStatus::CancelOnly);
  CHECK(parse_trading_status("PRE_TRADING") == shm::TradingStatus::PreTrading);
  CHECK(parse_trading_status("trading") == shm::TradingStatus::Unknown);
  CHECK(parse_trading_status("") == shm::TradingStatus::Unknown);
}

TEST_CASE("RequestWeightIsNormalisedToPerMinute", "[rest][exchangeInfo]") {
  const auto weight = [](std::string_view limits) {
    const auto info = parse_exchange_info(R"({"serverTime":1,"rateLimits":[)" + std::string(limits) +
                                          R"(],"symbols":[]})");
    REQUIRE(info.has_value());
    return info->request_weight_per_minute;
  };
  CHECK(weight(R"({"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000})") == 6000);
  CHECK(weight(R"({"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":5,"limit":6000})") == 1200);
  CHECK(weight(R"({"rateLimitType":"REQUEST_WEIGHT","interval":"SECOND","intervalNum":10,"limit":100})") == 600);
  CHECK(weight(R"({"rateLimitType":"REQUEST_WEIGHT","interval":"HOUR","intervalNum":1,"limit":90000})") == 1500);
  CHECK(weight(R"({"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000},)"
               R"({"rateLimitType":"REQUEST_WEIGHT","interval":"SECOND","intervalNum":10,"limit":50})") == 300);
  CHECK(weight(R"({"rateLimitType":"RAW_REQUESTS","interval":"MINUTE","intervalNum":5,"limit":300000})") == 0);
  CHECK(weight("") == 0);
}

TEST_CASE("ExchangeInfoErrorsSayWhatAndWhere", "[rest][exchangeInfo]") {
  const auto error_of = [](const std::string& body) {
    const auto info = parse_exchange_info(body);
    REQUIRE_FALSE(info.has_value());
    return info.error();
  };
  CHECK(error_of(replace_once(kCurrentExchangeInfo, R"("tickSize":"0.01000000")", R"("tickSize":0.01)")) ==
        "symbols[0] (BTCUSDT).filters[0] (PRICE_FILTER).tickSize: expected a decimal string, got number");
  CHECK(error_of(replace_once(kCurrentExchangeInfo, R"("status":"FOO_BAR",)", "")) ==
        R"(symbols[2] (NEWUSDT): missing "status")");
  CHECK(error_of(replace_once(kCurrentExchangeInfo, R"("isSpotTradingAllowed":false)", R"("isSpotTradingAllowed":"no")")) ==
        "symbols[1] (OLDBTC).isSpotTradingAllowed: expected a boolean, got string");
  CHECK(error_of(replace_once(kCurrentExchangeInfo, R"("stepSize":"1.00000000")", R"("stepSize":"1e")")) ==
        R"(symbols[3] (币安人生USDT).filters[0] (LOT_SIZE).stepSize: "1e" is not a decimal number)");
  CHECK(error_of(R"({"code":-1003,"msg":"Too much request weight used."})") ==
        "exchangeInfo: (Binance error -1003: Too much request weight used.)");
  CHECK(error_of(R"({"serverTime":1,"rateLimits":[]})") == R"(exchangeInfo: missing "symbols")");
}

// ---------------------------------------------------------------------------------- ticker/24hr

TEST_CASE("Ticker24hrArrayOfFullAndMiniObjectsIsParsed", "[rest][ticker]") {
  const auto sut = parse_ticker_24hr("[" + kFullTicker + "," + kMiniTicker + "]");
  REQUIRE(sut.has_value());
  REQUIRE(sut->size() == 2);
  const TickerSnapshot& bnb = (*sut)[0];
  CHECK(bnb.symbol == "BNBBTC");
  CHECK(bnb.ticker.last_price == 4.000002);
  CHECK(bnb.ticker.open_24h == 99.0);
  CHECK(bnb.ticker.high_24h == 100.0);
  CHECK(bnb.ticker.low_24h == 0.1);
  CHECK(bnb.ticker.base_volume_24h == 8913.3);
  CHECK(bnb.ticker.quote_volume_24h == 15.3);
  CHECK(bnb.ticker.event_time_ms == 1499869899040);
  CHECK(bnb.ticker.price_change == 4.000002 - 99.0);
  CHECK(bnb.ticker.price_change_pct == (4.000002 - 99.0) / 99.0 * 100.0);
  const TickerSnapshot& eth = (*sut)[1];
  CHECK(eth.symbol == "ETHBTC");
  CHECK(eth.ticker.last_price == 0.064);
  CHECK(eth.ticker.event_time_ms == 1499869899041);
}

TEST_CASE("Ticker24hrSingleObjectIsParsed", "[rest][ticker]") {
  const auto sut = parse_ticker_24hr(kFullTicker);
  REQUIRE(sut.has_value());
  REQUIRE(sut->size() == 1);
  CHECK((*sut)[0].symbol == "BNBBTC");
}

TEST_CASE("Ticker24hrErrorsSayWhatAndWhere", "[rest][ticker]") {
  const auto bad_high = parse_ticker_24hr("[" + kFullTicker + "," +
                                          replace_once(kMiniTicker, R"("highPrice":"0.06500000")",
                                                       R"("highPrice":"0.05000000")") +
                                          "]");
  REQUIRE_FALSE(bad_high.has_value());
  CHECK(bad_high.error() == "ticker[1] (ETHBTC): highPrice 0.05 is below lowPrice 0.059");
  const auto missing = parse_ticker_24hr(replace_once(kFullTicker, R"("quoteVolume":"15.30000000",)", ""));
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error() == R"(ticker (BNBBTC): missing "quoteVolume")");
  const auto error_body = parse_ticker_24hr(R"({"code":-1121,"msg":"Invalid symbol."})");
  REQUIRE_FALSE(error_body.has_value());
  CHECK(error_body.error() == "ticker: (Binance error -1121: Invalid symbol.)");
}

// ---------------------------------------------------------------------------------- error bodies

TEST_CASE("ErrorBodyIsRecognised", "[rest][error]") {
  const auto sut = parse_error_body(R"({"code":-1121,"msg":"Invalid symbol."})");
  REQUIRE(sut.has_value());
  CHECK(sut->code == -1121);
  CHECK(sut->msg == "Invalid symbol.");
  CHECK_FALSE(parse_error_body(kTwoMinuteBars).has_value());
  CHECK_FALSE(parse_error_body(R"({"code":"x","msg":"y"})").has_value());
  CHECK_FALSE(parse_error_body("<html>502 Bad Gateway</html>").has_value());
  CHECK_FALSE(parse_error_body("").has_value());
}
