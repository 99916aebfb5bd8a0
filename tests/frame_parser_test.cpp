// SPDX-License-Identifier: Apache-2.0
// FrameParser: real 2021 capture, documented frames, every rejection reason, allocation-free reuse.
#include <catch2/catch.hpp>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <new>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "common/interval.hpp"
#include "daemon/feed/frame_parser.hpp"

#ifndef SCREENER_SHARED_DATA
#error "SCREENER_SHARED_DATA must name ../shared/data/binance"
#endif

using namespace screener;
using namespace screener::feed;

// ---------------------------------------------------------------------------- allocation counter
// Replaces the global operator new for this test binary; counts only while `g_counting` is set.

namespace {
bool g_counting = false;
std::size_t g_allocations = 0;
}  // namespace

// Every non-aligned form is replaced, so that all of them pair malloc with free (under ASan too,
// whose runtime would otherwise supply the nothrow forms). noinline: once inlined, GCC pairs the
// malloc/free inside with new/delete at the call site and warns (-Wmismatched-new-delete).
namespace {
[[gnu::noinline]] void* counted_malloc(std::size_t size) noexcept {
  if (g_counting) ++g_allocations;
  return std::malloc(size == 0 ? 1 : size);
}
}  // namespace

[[gnu::noinline]] void* operator new(std::size_t size) {
  if (void* p = counted_malloc(size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t size) {
  if (void* p = counted_malloc(size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return counted_malloc(size); }
[[gnu::noinline]] void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return counted_malloc(size);
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

// ---------------------------------------------------------------------------- helpers

/// Copies what it receives (views die with the callback).
struct Recorder final : FrameHandler {
  struct Kline {
    std::string symbol;
    KlineUpdate update;
  };
  struct Ticker {
    std::string symbol;
    MiniTickerUpdate update;
  };
  struct Reply {
    ControlReply reply;
    std::string detail;
  };
  std::vector<Kline> klines;
  std::vector<std::vector<Ticker>> ticker_batches;
  std::vector<std::int64_t> shutdowns;
  std::vector<Reply> replies;

  void on_kline(const KlineUpdate& update) noexcept override { klines.push_back({std::string(update.symbol), update}); }
  void on_mini_tickers(std::span<const MiniTickerUpdate> updates) noexcept override {
    auto& batch = ticker_batches.emplace_back();
    for (const auto& u : updates) batch.push_back({std::string(u.symbol), u});
  }
  void on_server_shutdown(std::int64_t event_time_ms) noexcept override { shutdowns.push_back(event_time_ms); }
  void on_control_reply(const ControlReply& reply) noexcept override {
    replies.push_back({reply, std::string(reply.detail)});
  }
  [[nodiscard]] std::size_t deliveries() const {
    return klines.size() + ticker_batches.size() + shutdowns.size() + replies.size();
  }
};

/// Counts only: allocates nothing, for the allocation test and the reuse test.
struct Counter final : FrameHandler {
  std::size_t klines = 0;
  std::size_t tickers = 0;
  double close_sum = 0;
  void on_kline(const KlineUpdate& update) noexcept override {
    ++klines;
    close_sum += update.bar.close;
  }
  void on_mini_tickers(std::span<const MiniTickerUpdate> updates) noexcept override { tickers += updates.size(); }
  void on_server_shutdown(std::int64_t) noexcept override {}
  void on_control_reply(const ControlReply&) noexcept override {}
};

double from_chars_double(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  REQUIRE(ec == std::errc{});
  REQUIRE(end == text.data() + text.size());
  return value;
}

/// `frame` with the single occurrence of `from` replaced by `to`.
std::string with(std::string frame, std::string_view from, std::string_view to) {
  const auto at = frame.find(from);
  REQUIRE(at != std::string::npos);
  REQUIRE(frame.find(from, at + 1) == std::string::npos);
  frame.replace(at, from.size(), to);
  return frame;
}

// The real NKNUSDT frame of the 2021 capture (combined stream, with "B").
const std::string kNkn =
    R"({"stream":"nknusdt@kline_1m","data":{"e":"kline","E":1633998523963,"s":"NKNUSDT","k":{"t":1633998480000,)"
    R"("T":1633998539999,"s":"NKNUSDT","i":"1m","f":19862761,"L":19862790,"o":"0.35270000","c":"0.35280000",)"
    R"("h":"0.35280000","l":"0.35220000","v":"25877.00000000","n":30,"x":false,"q":"9116.04600000",)"
    R"("V":"58.00000000","Q":"20.46240000","B":"0"}}})";

// The docs' 2023 empty candle (raw stream, no "B", f = L = -1, n = 0, x = true).
const std::string kEmptyCandle =
    R"({"e":"kline","E":1682244928001,"s":"ETHUSDT","k":{"t":1682244927000,"T":1682244927999,"s":"ETHUSDT",)"
    R"("i":"1s","f":-1,"L":-1,"o":"1870.76000000","c":"1870.76000000","h":"1870.76000000","l":"1870.76000000",)"
    R"("v":"0.00000000","n":0,"x":true,"q":"0.00000000","V":"0.00000000","Q":"0.00000000"}})";

const std::string kMiniArray =
    R"({"stream":"!miniTicker@arr","data":[)"
    R"({"e":"24hrMiniTicker","E":1672515782136,"s":"BNBBTC","c":"0.0025","o":"0.0010","h":"0.0025","l":"0.0010",)"
    R"("v":"10000","q":"18"},)"
    R"({"e":"24hrMiniTicker","E":1672515782500,"s":"BTCUSDT","c":"58938.00000000","o":"57000.00000000",)"
    R"("h":"59000.00000000","l":"56000.00000000","v":"12345.67800000","q":"7119945056.15496440"}]})";

struct Outcome {
  ParseResult result;
  Recorder recorder;
};

Outcome parse_one(std::string_view frame) {
  FrameParser sut;
  Outcome out{};
  out.result = sut.parse(frame, out.recorder);
  return out;
}

void require_rejected(std::string_view frame, RejectReason reason) {
  FrameParser sut;
  Recorder recorder;
  const ParseResult result = sut.parse(frame, recorder);
  INFO("frame: " << frame);
  INFO("got " << to_string(result.outcome) << " / " << to_string(result.reason));
  CHECK(result.outcome == FrameOutcome::Rejected);
  CHECK(result.reason == reason);
  CHECK(recorder.deliveries() == 0);
  CHECK(sut.stats().count(reason) == 1);
  CHECK(sut.stats().count(FrameOutcome::Rejected) == 1);
}

std::vector<std::string> capture_frames() {
  std::ifstream in(SCREENER_SHARED_DATA "/cryptofeed_binance_2021-10-12/BINANCE.ws.1.0");
  REQUIRE(in);
  std::vector<std::string> frames;
  std::string line;
  std::getline(in, line);  // the connect URL
  REQUIRE(line.starts_with("wss://stream.binance.com:9443/stream?streams="));
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto colon = line.find(": ");
    REQUIRE(colon != std::string::npos);
    frames.push_back(line.substr(colon + 2));
  }
  return frames;
}

}  // namespace

// ---------------------------------------------------------------------------- real capture

TEST_CASE("CapturedCombinedStreamDeliversExactlyTheTwoKlineFrames", "[feed][capture]") {
  const auto frames = capture_frames();
  REQUIRE(frames.size() == 265);
  FrameParser sut;
  Recorder recorder;
  for (const auto& frame : frames) {
    const ParseResult result = sut.parse(frame, recorder);
    INFO(frame);
    CHECK(result.outcome != FrameOutcome::Rejected);
  }
  const ParseStats& stats = sut.stats();
  CHECK(stats.frames == 265);
  CHECK(stats.count(FrameOutcome::Delivered) == 2);
  CHECK(stats.count(FrameOutcome::Ignored) == 263);
  CHECK(stats.count(FrameOutcome::Rejected) == 0);
  CHECK(stats.count(FrameKind::Kline) == 2);
  CHECK(stats.count(FrameKind::OtherEvent) == 177 + 2);  // depthUpdate + aggTrade
  CHECK(stats.count(FrameKind::NoEventType) == 84);      // bookTicker has no "e"
  REQUIRE(recorder.klines.size() == 2);
  CHECK(recorder.klines[0].symbol == "NKNUSDT");
  CHECK(recorder.klines[1].symbol == "LRCBTC");
  CHECK(recorder.deliveries() == 2);
}

TEST_CASE("CapturedNknusdtKlineFieldsAreExact", "[feed][capture]") {
  const auto frames = capture_frames();
  FrameParser sut;
  Recorder recorder;
  for (const auto& frame : frames) (void)sut.parse(frame, recorder);
  REQUIRE(recorder.klines.size() == 2);
  const KlineUpdate& k = recorder.klines[0].update;
  CHECK(k.interval == Interval::m1);
  CHECK(k.event_time_ms == 1633998523963);
  CHECK_FALSE(k.closed);
  CHECK(k.first_trade_id == 19862761);
  CHECK(k.last_trade_id == 19862790);
  CHECK(k.bar.open_time_ms == 1633998480000);
  CHECK(k.bar.open == 0.35270000);
  CHECK(k.bar.close == 0.35280000);
  CHECK(k.bar.high == 0.35280000);
  CHECK(k.bar.low == 0.35220000);
  CHECK(k.bar.volume == 25877.0);
  CHECK(k.bar.trades == 30);
  CHECK(k.bar.quote_volume == 9116.046);
  CHECK(k.bar.taker_buy_base_volume == 58.0);
  CHECK(k.bar.taker_buy_quote_volume == 20.4624);
}

TEST_CASE("CapturedLrcbtcPricesParseExactlyAsFromChars", "[feed][capture]") {
  const auto frames = capture_frames();
  FrameParser sut;
  Recorder recorder;
  for (const auto& frame : frames) (void)sut.parse(frame, recorder);
  REQUIRE(recorder.klines.size() == 2);
  const KlineUpdate& k = recorder.klines[1].update;
  CHECK(recorder.klines[1].symbol == "LRCBTC");
  CHECK(k.event_time_ms == 1633998534486);
  CHECK(k.bar.open_time_ms == 1633998480000);
  CHECK_FALSE(k.closed);
  CHECK(k.first_trade_id == 12368013);
  CHECK(k.last_trade_id == 12368013);
  CHECK(k.bar.trades == 1);
  const double price = from_chars_double("0.00000638");
  CHECK(price == 0.00000638);  // the compiler's literal is exactly rounded too
  CHECK(k.bar.open == price);
  CHECK(k.bar.high == price);
  CHECK(k.bar.low == price);
  CHECK(k.bar.close == price);
  CHECK(k.bar.volume == from_chars_double("177.00000000"));
  CHECK(k.bar.quote_volume == from_chars_double("0.00112926"));
  CHECK(k.bar.taker_buy_base_volume == from_chars_double("177.00000000"));
  CHECK(k.bar.taker_buy_quote_volume == from_chars_double("0.00112926"));
}

// ---------------------------------------------------------------------------- klines

TEST_CASE("EmptyCandleFrameWithoutOptionalBIsAccepted", "[feed][kline]") {
  const Outcome out = parse_one(kEmptyCandle);
  REQUIRE(out.result.outcome == FrameOutcome::Delivered);
  REQUIRE(out.recorder.klines.size() == 1);
  const KlineUpdate& k = out.recorder.klines[0].update;
  CHECK(out.recorder.klines[0].symbol == "ETHUSDT");
  CHECK(k.interval == Interval::s1);
  CHECK(k.closed);
  CHECK(k.first_trade_id == -1);
  CHECK(k.last_trade_id == -1);
  CHECK(k.bar.trades == 0);
  CHECK(k.bar.volume == 0.0);
  CHECK(k.bar.quote_volume == 0.0);
  CHECK(k.bar.taker_buy_base_volume == 0.0);
  CHECK(k.bar.taker_buy_quote_volume == 0.0);
  CHECK(k.bar.open == 1870.76);
  CHECK(k.bar.high == k.bar.low);
}

TEST_CASE("KlineFrameWithoutOptionalBIsAccepted", "[feed][kline]") {
  const Outcome out = parse_one(with(kNkn, R"(,"B":"0")", ""));
  CHECK(out.result.outcome == FrameOutcome::Delivered);
  CHECK(out.recorder.klines.size() == 1);
}

TEST_CASE("KlineKeyOrderDoesNotMatter", "[feed][kline]") {
  // "stream" after "data", "e" last in the payload, k's keys reversed.
  const std::string frame =
      R"({"data":{"k":{"B":"0","Q":"20.46240000","V":"58.00000000","q":"9116.04600000","x":true,"n":30,)"
      R"("v":"25877.00000000","l":"0.35220000","h":"0.35280000","c":"0.35280000","o":"0.35270000","L":19862790,)"
      R"("f":19862761,"i":"1m","s":"NKNUSDT","T":1633998539999,"t":1633998480000},"s":"NKNUSDT",)"
      R"("E":1633998523963,"e":"kline"},"stream":"nknusdt@kline_1m"})";
  const Outcome out = parse_one(frame);
  REQUIRE(out.result.outcome == FrameOutcome::Delivered);
  REQUIRE(out.recorder.klines.size() == 1);
  CHECK(out.recorder.klines[0].update.closed);
  CHECK(out.recorder.klines[0].update.bar.open_time_ms == 1633998480000);
  CHECK(out.recorder.klines[0].update.bar.low == 0.3522);
}

TEST_CASE("UnknownKeysAtEveryLevelAreIgnored", "[feed][kline]") {
  std::string frame = with(kNkn, R"("B":"0")", R"("B":"0","Z":{"deep":[1,[2,{"x":"y"}],null]},"ii":"5m")");
  frame = with(frame, R"("e":"kline",)", R"("e":"kline","extra":[true,false],)");
  frame = with(frame, R"({"stream")", R"({"ts":123,"stream")");
  const Outcome out = parse_one(frame);
  CHECK(out.result.outcome == FrameOutcome::Delivered);
  CHECK(out.recorder.klines.size() == 1);
}

TEST_CASE("KlineKeysAreCaseSensitive", "[feed][kline]") {
  // "t" given twice and no "T": the close time is missing, not taken from "t".
  require_rejected(with(kNkn, R"("T":1633998539999)", R"("t":1633998539999)"), RejectReason::MissingField);
  // "Q" spelled "q" (duplicate key, last wins) leaves the taker quote volume missing.
  require_rejected(with(kNkn, R"("Q":"20.46240000")", R"("q":"20.46240000")"), RejectReason::MissingField);
}

TEST_CASE("IntervalNamesAreCaseSensitive", "[feed][kline]") {
  // "1M" is a month: a minute open time is not a month boundary.
  std::string frame = with(kNkn, R"("i":"1m")", R"("i":"1M")");
  frame = with(frame, "nknusdt@kline_1m", "nknusdt@kline_1M");
  require_rejected(frame, RejectReason::MisalignedOpenTime);
}

TEST_CASE("MonthAndWeekKlinesUseCalendarCloseTimes", "[feed][kline]") {
  // 2021-10-01 .. 2021-10-31T23:59:59.999 and Monday 2021-10-11 .. Sunday 23:59:59.999.
  std::string month = with(kNkn, R"("t":1633998480000)", R"("t":1633046400000)");
  month = with(month, R"("T":1633998539999)", R"("T":1635724799999)");
  month = with(with(month, R"("i":"1m")", R"("i":"1M")"), "@kline_1m", "@kline_1M");
  Outcome out = parse_one(month);
  CHECK(out.result.outcome == FrameOutcome::Delivered);
  REQUIRE(out.recorder.klines.size() == 1);
  CHECK(out.recorder.klines[0].update.interval == Interval::M1);

  std::string week = with(kNkn, R"("t":1633998480000)", R"("t":1633910400000)");
  week = with(week, R"("T":1633998539999)", R"("T":1634515199999)");
  week = with(with(week, R"("i":"1m")", R"("i":"1w")"), "@kline_1m", "@kline_1w");
  out = parse_one(week);
  CHECK(out.result.outcome == FrameOutcome::Delivered);
}

TEST_CASE("NonAsciiSymbolIsAcceptedAsUtf8Bytes", "[feed][kline]") {
  std::string frame = with(kNkn, R"("s":"NKNUSDT","k")", R"("s":"币安人生USDT","k")");
  frame = with(frame, R"("s":"NKNUSDT","i")", R"("s":"币安人生USDT","i")");
  frame = with(frame, "nknusdt@kline_1m", "币安人生usdt@kline_1m");
  const Outcome out = parse_one(frame);
  REQUIRE(out.result.outcome == FrameOutcome::Delivered);
  REQUIRE(out.recorder.klines.size() == 1);
  CHECK(out.recorder.klines[0].symbol == "币安人生USDT");
  // Escaped in the JSON instead of raw UTF-8: the same bytes come out.
  std::string escaped = with(frame, R"("s":"币安人生USDT","k")", R"("s":"\u5e01\u5b89\u4eba\u751fUSDT","k")");
  const Outcome out2 = parse_one(escaped);
  REQUIRE(out2.recorder.klines.size() == 1);
  CHECK(out2.recorder.klines[0].symbol == "币安人生USDT");
}

TEST_CASE("StreamNameIsComparedIgnoringAsciiCase", "[feed][kline]") {
  const Outcome out = parse_one(with(kNkn, "nknusdt@kline_1m", "NKNUSDT@kline_1m"));
  CHECK(out.result.outcome == FrameOutcome::Delivered);
}

TEST_CASE("RawStreamKlineWithoutWrapperIsDelivered", "[feed][kline]") {
  const std::string raw = kNkn.substr(kNkn.find(R"({"e")"), kNkn.size() - kNkn.find(R"({"e")") - 1);
  const Outcome out = parse_one(raw);
  CHECK(out.result.outcome == FrameOutcome::Delivered);
  CHECK(out.recorder.klines.size() == 1);
}

TEST_CASE("WhitespaceAndNewlinesBetweenTokensAreAccepted", "[feed][kline]") {
  const std::string frame = " \n{ \"stream\" : \"nknusdt@kline_1m\" ,\n \"data\" : " +
                            kNkn.substr(kNkn.find(R"({"e")"), kNkn.size() - kNkn.find(R"({"e")") - 1) + " }\r\n";
  CHECK(parse_one(frame).result.outcome == FrameOutcome::Delivered);
}

TEST_CASE("MicrosecondTimestampsAreRejectedAsCloseTimeMismatch", "[feed][kline]") {
  std::string frame = with(kNkn, R"("t":1633998480000)", R"("t":1633998480000000)");
  frame = with(frame, R"("T":1633998539999)", R"("T":1633998539999999)");
  require_rejected(frame, RejectReason::CloseTimeMismatch);
}

TEST_CASE("TimeZoneOffsetKlineStreamIsRejectedAsStreamMismatch", "[feed][kline]") {
  require_rejected(with(kNkn, "nknusdt@kline_1m", "nknusdt@kline_1m@+08:00"), RejectReason::StreamMismatch);
}

// ---------------------------------------------------------------------------- rejections

TEST_CASE("BadJsonIsRejectedAndNothingDelivered", "[feed][reject]") {
  require_rejected("not json", RejectReason::BadJson);
  require_rejected("", RejectReason::BadJson);
  require_rejected(R"({"stream":"nknusdt@kline_1m","data":{"e":"kline",}})", RejectReason::BadJson);
  require_rejected(R"({"stream":"nknusdt@kline_1m" "data":{}})", RejectReason::BadJson);
  require_rejected(R"({"stream":"nknusdt@kline_1m,"data":{}})", RejectReason::BadJson);  // unclosed string
  require_rejected(with(kNkn, R"("o":"0.35270000")", R"("o":"0.3527\q")"), RejectReason::BadJson);  // bad escape
  require_rejected(with(kNkn, R"("n":30)", R"("n":3x0)"), RejectReason::BadJson);
  require_rejected(with(kNkn, R"("x":false)", R"("x":fals)"), RejectReason::BadJson);
}

TEST_CASE("TruncatedFrameIsRejectedAsBadJson", "[feed][reject]") {
  for (const std::size_t cut : {1UL, 2UL, 3UL, 10UL, kNkn.size() / 2, kNkn.size() - 1}) {
    INFO("cut " << cut);
    require_rejected(std::string_view(kNkn).substr(0, kNkn.size() - cut), RejectReason::BadJson);
  }
}

TEST_CASE("TrailingBytesAfterTheFrameAreRejectedAsBadJson", "[feed][reject]") {
  require_rejected(kNkn + "}", RejectReason::BadJson);
  require_rejected(kNkn + R"({"a":1})", RejectReason::BadJson);
  require_rejected(kNkn + " x", RejectReason::BadJson);
}

TEST_CASE("NegativePriceIsRejected", "[feed][reject]") {
  require_rejected(with(kNkn, R"("l":"0.35220000")", R"("l":"-0.35220000")"), RejectReason::NegativeValue);
  require_rejected(with(kNkn, R"("n":30)", R"("n":-1)"), RejectReason::NegativeValue);
  require_rejected(with(kNkn, R"("f":19862761)", R"("f":-2)"), RejectReason::NegativeValue);
}

TEST_CASE("NanAndInfPriceStringsAreRejectedAsNonFinite", "[feed][reject]") {
  for (const char* text : {"NaN", "nan", "inf", "-inf", "Infinity", "1e999"}) {
    INFO(text);
    require_rejected(with(kNkn, R"("c":"0.35280000")", std::string(R"("c":")") + text + "\""),
                     RejectReason::NonFinite);
  }
}

TEST_CASE("MalformedDecimalStringsAreRejectedAsBadNumber", "[feed][reject]") {
  for (const char* text : {"", "abc", "0.35 ", " 0.35", "+0.35", "0.35.1", "0x1p3", "0,35"}) {
    INFO('"' << text << '"');
    require_rejected(with(kNkn, R"("o":"0.35270000")", std::string(R"("o":")") + text + "\""),
                     RejectReason::BadNumber);
  }
  require_rejected(with(kNkn, R"("n":30)", R"("n":99999999999999999999)"), RejectReason::BadNumber);
}

TEST_CASE("NumberWhereADecimalStringIsRequiredIsRejectedAsWrongType", "[feed][reject]") {
  require_rejected(with(kNkn, R"("o":"0.35270000")", R"("o":0.3527)"), RejectReason::WrongType);
  require_rejected(with(kNkn, R"("n":30)", R"("n":"30")"), RejectReason::WrongType);
  require_rejected(with(kNkn, R"("x":false)", R"("x":"false")"), RejectReason::WrongType);
  require_rejected(with(kNkn, R"("t":1633998480000)", R"("t":1633998480000.5)"), RejectReason::WrongType);
  require_rejected(with(kNkn, R"("B":"0")", R"("B":0)"), RejectReason::WrongType);
  require_rejected(with(kNkn, R"("stream":"nknusdt@kline_1m")", R"("stream":7)"), RejectReason::WrongType);
}

TEST_CASE("MissingFieldIsRejected", "[feed][reject]") {
  require_rejected(with(kNkn, R"("L":19862790,)", ""), RejectReason::MissingField);
  require_rejected(with(kNkn, R"("E":1633998523963,)", ""), RejectReason::MissingField);
  require_rejected(with(kNkn, R"(,"Q":"20.46240000")", ""), RejectReason::MissingField);
  require_rejected(with(kNkn, R"("x":false,)", ""), RejectReason::MissingField);
}

TEST_CASE("HighBelowLowIsRejected", "[feed][reject]") {
  require_rejected(with(kNkn, R"("h":"0.35280000")", R"("h":"0.35200000")"), RejectReason::HighBelowLow);
}

TEST_CASE("OpenOrCloseOutsideTheRangeIsRejected", "[feed][reject]") {
  require_rejected(with(kNkn, R"("o":"0.35270000")", R"("o":"0.35300000")"), RejectReason::OpenOutsideRange);
  require_rejected(with(kNkn, R"("c":"0.35280000")", R"("c":"0.35210000")"), RejectReason::CloseOutsideRange);
}

TEST_CASE("TakerVolumeAboveTotalVolumeIsRejected", "[feed][reject]") {
  require_rejected(with(kNkn, R"("V":"58.00000000")", R"("V":"25877.00000001")"), RejectReason::TakerExceedsTotal);
  require_rejected(with(kNkn, R"("Q":"20.46240000")", R"("Q":"9116.04600001")"), RejectReason::TakerExceedsTotal);
}

TEST_CASE("MisalignedOpenTimeIsRejected", "[feed][reject]") {
  std::string frame = with(kNkn, R"("t":1633998480000)", R"("t":1633998481000)");
  frame = with(frame, R"("T":1633998539999)", R"("T":1633998540999)");
  require_rejected(frame, RejectReason::MisalignedOpenTime);
}

TEST_CASE("WrongCloseTimeIsRejected", "[feed][reject]") {
  require_rejected(with(kNkn, R"("T":1633998539999)", R"("T":1633998540000)"), RejectReason::CloseTimeMismatch);
}

TEST_CASE("UnknownIntervalIsRejected", "[feed][reject]") {
  require_rejected(with(with(kNkn, R"("i":"1m")", R"("i":"2m")"), "@kline_1m", "@kline_2m"),
                   RejectReason::UnknownInterval);
}

TEST_CASE("KlineSymbolDifferentFromEventSymbolIsRejected", "[feed][reject]") {
  require_rejected(with(kNkn, R"("s":"NKNUSDT","i")", R"("s":"NKNBTC","i")"), RejectReason::SymbolMismatch);
}

TEST_CASE("StreamNameContradictingThePayloadIsRejected", "[feed][reject]") {
  require_rejected(with(kNkn, "nknusdt@kline_1m", "lrcbtc@kline_1m"), RejectReason::StreamMismatch);
  require_rejected(with(kNkn, "nknusdt@kline_1m", "nknusdt@kline_5m"), RejectReason::StreamMismatch);
  require_rejected(with(kNkn, "nknusdt@kline_1m", "nknusdt@miniTicker"), RejectReason::StreamMismatch);
}

TEST_CASE("UnstorableSymbolIsRejected", "[feed][reject]") {
  const std::string long_symbol(shm::kSymbolNameCapacity + 1, 'A');
  std::string frame = with(kNkn, R"("s":"NKNUSDT","k")", R"("s":")" + long_symbol + R"(","k")");
  frame = with(frame, R"("s":"NKNUSDT","i")", R"("s":")" + long_symbol + R"(","i")");
  require_rejected(frame, RejectReason::BadSymbol);
  std::string empty = with(with(kNkn, R"("s":"NKNUSDT","k")", R"("s":"","k")"), R"("s":"NKNUSDT","i")", R"("s":"","i")");
  require_rejected(empty, RejectReason::BadSymbol);
  std::string nul = with(kNkn, R"("s":"NKNUSDT","k")", R"("s":"NKN\u0000USDT","k")");
  nul = with(nul, R"("s":"NKNUSDT","i")", R"("s":"NKN\u0000USDT","i")");
  require_rejected(nul, RejectReason::BadSymbol);
}

TEST_CASE("FrameLargerThanTheConfiguredMaximumIsRejected", "[feed][reject]") {
  FrameParserOptions options;
  options.max_frame_bytes = 200;
  FrameParser sut(options);
  Recorder recorder;
  const ParseResult result = sut.parse(kNkn, recorder);
  CHECK(result.outcome == FrameOutcome::Rejected);
  CHECK(result.reason == RejectReason::TooLarge);
  CHECK(recorder.deliveries() == 0);
}

TEST_CASE("ScalarFrameOrPayloadIsRejectedAsNotAnObject", "[feed][reject]") {
  require_rejected("42", RejectReason::NotAnObject);
  require_rejected(R"("kline")", RejectReason::NotAnObject);
  require_rejected(R"({"stream":"nknusdt@kline_1m","data":5})", RejectReason::NotAnObject);
  require_rejected(R"({"stream":"!miniTicker@arr","data":[1,2]})", RejectReason::NotAnObject);
}

TEST_CASE("EveryRejectReasonIsProducedByAMinimalMalformedFrame", "[feed][reject]") {
  // One frame per reason, all through one parser: each reason counted once, nothing delivered.
  const std::vector<std::pair<std::string, RejectReason>> cases{
      {R"({"stream":)", RejectReason::BadJson},
      {std::string(1200, ' ') + "{}", RejectReason::TooLarge},
      {"[1]", RejectReason::None},  // an array of numbers: ignored, not rejected (checked below)
      {"true", RejectReason::NotAnObject},
      {with(kNkn, R"("n":30,)", ""), RejectReason::MissingField},
      {with(kNkn, R"("h":"0.35280000")", R"("h":0.3528)"), RejectReason::WrongType},
      {with(kNkn, R"("v":"25877.00000000")", R"("v":"25877.0.0")"), RejectReason::BadNumber},
      {with(kNkn, R"("v":"25877.00000000")", R"("v":"NaN")"), RejectReason::NonFinite},
      {with(kNkn, R"("q":"9116.04600000")", R"("q":"-1")"), RejectReason::NegativeValue},
      {with(with(kNkn, R"("s":"NKNUSDT","k")", R"("s":"","k")"), R"("s":"NKNUSDT","i")", R"("s":"","i")"),
       RejectReason::BadSymbol},
      {with(kNkn, R"("l":"0.35220000")", R"("l":"0.35290000")"), RejectReason::HighBelowLow},
      {with(kNkn, R"("o":"0.35270000")", R"("o":"0.35000000")"), RejectReason::OpenOutsideRange},
      {with(kNkn, R"("c":"0.35280000")", R"("c":"0.36000000")"), RejectReason::CloseOutsideRange},
      {with(kNkn, R"("V":"58.00000000")", R"("V":"99999")"), RejectReason::TakerExceedsTotal},
      {with(kNkn, R"("i":"1m")", R"("i":"7m")"), RejectReason::UnknownInterval},
      {with(with(kNkn, R"("t":1633998480000)", R"("t":1633998480001)"), R"("T":1633998539999)",
            R"("T":1633998540000)"),
       RejectReason::MisalignedOpenTime},
      {with(kNkn, R"("T":1633998539999)", R"("T":1633998599999)"), RejectReason::CloseTimeMismatch},
      {with(kNkn, R"("s":"NKNUSDT","i")", R"("s":"NKNUSDC","i")"), RejectReason::SymbolMismatch},
      {with(kNkn, "nknusdt@kline_1m", "nknusdc@kline_1m"), RejectReason::StreamMismatch},
  };
  FrameParserOptions options;
  options.max_frame_bytes = 1000;  // the kline frames here are ~430 bytes
  FrameParser sut(options);
  Recorder recorder;
  std::set<RejectReason> produced;
  for (const auto& [frame, reason] : cases) {
    const ParseResult result = sut.parse(frame, recorder);
    INFO(frame << " -> " << to_string(result.reason));
    CHECK(result.reason == reason);
    if (reason == RejectReason::None) {
      CHECK(result.outcome == FrameOutcome::Ignored);
    } else {
      CHECK(result.outcome == FrameOutcome::Rejected);
      produced.insert(result.reason);
    }
  }
  CHECK(recorder.deliveries() == 0);
  CHECK(produced.size() == kRejectReasonCount - 1);  // every reason but None
  for (std::size_t r = 1; r < kRejectReasonCount; ++r) {
    INFO(to_string(static_cast<RejectReason>(r)));
    CHECK(sut.stats().by_reason[r] == 1);
  }
}

// ---------------------------------------------------------------------------- other frame kinds

TEST_CASE("ServerShutdownIsDeliveredFromCombinedAndRawForms", "[feed][shutdown]") {
  // Verbatim layout of the docs, comments removed: whitespace and newlines included.
  const std::string combined = R"({
    "stream": "!serverShutdown",
    "data": {
      "e": "serverShutdown",
      "E": 1770123456789
    }
  })";
  const std::string raw = R"({"e":"serverShutdown","E":1770123456789})";
  for (const auto& frame : {combined, raw}) {
    const Outcome out = parse_one(frame);
    CHECK(out.result.outcome == FrameOutcome::Delivered);
    CHECK(out.result.kind == FrameKind::ServerShutdown);
    REQUIRE(out.recorder.shutdowns.size() == 1);
    CHECK(out.recorder.shutdowns[0] == 1770123456789);
  }
  require_rejected(R"({"e":"serverShutdown"})", RejectReason::MissingField);
  require_rejected(R"({"stream":"btcusdt@kline_1m","data":{"e":"serverShutdown","E":1}})",
                   RejectReason::StreamMismatch);
}

TEST_CASE("MiniTickerArrayIsDeliveredAsOneSpan", "[feed][ticker]") {
  const Outcome out = parse_one(kMiniArray);
  REQUIRE(out.result.outcome == FrameOutcome::Delivered);
  CHECK(out.result.kind == FrameKind::MiniTickers);
  REQUIRE(out.recorder.ticker_batches.size() == 1);
  const auto& batch = out.recorder.ticker_batches[0];
  REQUIRE(batch.size() == 2);
  CHECK(batch[0].symbol == "BNBBTC");
  const shm::Ticker& bnb = batch[0].update.ticker;
  CHECK(bnb.event_time_ms == 1672515782136);
  CHECK(bnb.last_price == 0.0025);
  CHECK(bnb.open_24h == 0.0010);
  CHECK(bnb.high_24h == 0.0025);
  CHECK(bnb.low_24h == 0.0010);
  CHECK(bnb.base_volume_24h == 10000.0);
  CHECK(bnb.quote_volume_24h == 18.0);
  CHECK(bnb.price_change == 0.0025 - 0.0010);
  CHECK(bnb.price_change_pct == (0.0025 - 0.0010) / 0.0010 * 100.0);
  CHECK(batch[1].symbol == "BTCUSDT");
  CHECK(batch[1].update.ticker.event_time_ms == 1672515782500);  // each element keeps its own E
  CHECK(batch[1].update.ticker.quote_volume_24h == 7119945056.15496440);
}

TEST_CASE("MiniTickerArrayWithOneBadElementDeliversNothing", "[feed][ticker]") {
  require_rejected(with(kMiniArray, R"("c":"58938.00000000")", R"("c":"NaN")"), RejectReason::NonFinite);
  require_rejected(with(kMiniArray, R"("h":"59000.00000000")", R"("h":"1.0")"), RejectReason::HighBelowLow);
  require_rejected(with(kMiniArray, R"(,"q":"18")", ""), RejectReason::MissingField);
  require_rejected(with(kMiniArray, R"("e":"24hrMiniTicker","E":1672515782500)", R"("e":"1hTicker","E":1672515782500)"),
                   RejectReason::StreamMismatch);
}

TEST_CASE("MiniTickerOpenOfZeroGivesZeroPercentChange", "[feed][ticker]") {
  const Outcome out = parse_one(
      R"([{"e":"24hrMiniTicker","E":5,"s":"QUIETBTC","c":"0.00000500","o":"0.00000000","h":"0.00000000",)"
      R"("l":"0.00000000","v":"0.00000000","q":"0.00000000"}])");
  REQUIRE(out.result.outcome == FrameOutcome::Delivered);  // raw-stream array form
  REQUIRE(out.recorder.ticker_batches.size() == 1);
  const shm::Ticker& t = out.recorder.ticker_batches[0][0].update.ticker;
  CHECK(t.price_change == 0.000005);
  CHECK(t.price_change_pct == 0.0);
}

TEST_CASE("IndividualMiniTickerIsDeliveredAsASpanOfOne", "[feed][ticker]") {
  const Outcome out = parse_one(
      R"({"stream":"bnbbtc@miniTicker","data":{"e":"24hrMiniTicker","E":1672515782136,"s":"BNBBTC",)"
      R"("c":"0.0025","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18"}})");
  REQUIRE(out.result.outcome == FrameOutcome::Delivered);
  REQUIRE(out.recorder.ticker_batches.size() == 1);
  CHECK(out.recorder.ticker_batches[0].size() == 1);
}

TEST_CASE("EmptyMiniTickerArrayIsIgnored", "[feed][ticker]") {
  const Outcome out = parse_one(R"({"stream":"!miniTicker@arr","data":[]})");
  CHECK(out.result.outcome == FrameOutcome::Ignored);
  CHECK(out.result.kind == FrameKind::MiniTickers);
  CHECK(out.recorder.deliveries() == 0);
}

TEST_CASE("ControlReplyWithNullResultIsOk", "[feed][control]") {
  const Outcome out = parse_one(R"({"result":null,"id":1})");
  REQUIRE(out.result.outcome == FrameOutcome::Delivered);
  REQUIRE(out.recorder.replies.size() == 1);
  CHECK(out.recorder.replies[0].reply.ok);
  CHECK(out.recorder.replies[0].reply.id == 1);
  CHECK(out.recorder.replies[0].detail == "null");
}

TEST_CASE("ListSubscriptionsReplyCarriesTheRawResultText", "[feed][control]") {
  const Outcome out = parse_one(R"({"result":["btcusdt@aggTrade","btcusdt@kline_1m"],"id":3})");
  REQUIRE(out.recorder.replies.size() == 1);
  CHECK(out.recorder.replies[0].reply.ok);
  CHECK(out.recorder.replies[0].reply.id == 3);
  CHECK(out.recorder.replies[0].detail == R"(["btcusdt@aggTrade","btcusdt@kline_1m"])");
  const Outcome property = parse_one(R"({"result": true, "id": 2})");
  REQUIRE(property.recorder.replies.size() == 1);
  CHECK(property.recorder.replies[0].detail == "true");
}

TEST_CASE("ControlErrorRepliesAreNotOk", "[feed][control]") {
  const Outcome flat = parse_one(R"({"code":2,"msg":"Invalid request: unknown method","id":7})");
  REQUIRE(flat.recorder.replies.size() == 1);
  CHECK_FALSE(flat.recorder.replies[0].reply.ok);
  CHECK(flat.recorder.replies[0].reply.id == 7);
  CHECK(flat.recorder.replies[0].reply.error_code == 2);
  CHECK(flat.recorder.replies[0].detail == "Invalid request: unknown method");

  const Outcome nested = parse_one(R"({"error":{"code":3,"msg":"Invalid JSON"},"id":null})");
  REQUIRE(nested.recorder.replies.size() == 1);
  CHECK_FALSE(nested.recorder.replies[0].reply.ok);
  CHECK(nested.recorder.replies[0].reply.id == ControlReply::kNoId);
  CHECK(nested.recorder.replies[0].reply.error_code == 3);
  CHECK(nested.recorder.replies[0].detail == "Invalid JSON");
}

TEST_CASE("MalformedControlRepliesAreRejected", "[feed][control]") {
  require_rejected(R"({"id":5})", RejectReason::MissingField);
  require_rejected(R"({"result":null,"id":"abc"})", RejectReason::WrongType);
  require_rejected(R"({"code":"2","msg":"x","id":1})", RejectReason::WrongType);
  require_rejected(R"({"error":"boom","id":1})", RejectReason::WrongType);
}

TEST_CASE("FramesNotOfInterestAreIgnoredAndCountedByKind", "[feed][ignored]") {
  FrameParser sut;
  Recorder recorder;
  const std::vector<std::pair<std::string, FrameKind>> cases{
      {R"({"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"})",
       FrameKind::NoEventType},
      {R"({"stream":"btcusdt@depth5","data":{"lastUpdateId":160,"bids":[["0.0024","10"]],"asks":[["0.0026","100"]]}})",
       FrameKind::NoEventType},
      {R"({"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":12345,"p":"0.001","q":"100","T":1,"m":true,"M":true}})",
       FrameKind::OtherEvent},
      {R"({"stream":"bnbbtc@ticker","data":{"e":"24hrTicker","E":1,"s":"BNBBTC","p":"0.0015","P":"250.00","x":"0.0009","c":"0.0025","o":"0.0010","h":"0.0025","l":"0.0010","v":"10000","q":"18","O":0,"C":86400000,"F":0,"L":18150,"n":18151}})",
       FrameKind::OtherEvent},
      {R"({"stream":"btcusdt@referencePrice","data":{"e":"referencePrice","E":1,"s":"BTCUSDT","r":null}})",
       FrameKind::OtherEvent},
      {R"({"stream":"!ticker_1h@arr","data":[{"e":"1hTicker","E":1,"s":"BNBBTC","c":"0.0025","o":"0.0010","h":"0.0025","l":"0.0010","v":"1","q":"1"}]})",
       FrameKind::OtherArray},
      {R"([])", FrameKind::OtherArray},
  };
  for (const auto& [frame, kind] : cases) {
    const ParseResult result = sut.parse(frame, recorder);
    INFO(frame);
    CHECK(result.outcome == FrameOutcome::Ignored);
    CHECK(result.kind == kind);
  }
  CHECK(recorder.deliveries() == 0);
  CHECK(sut.stats().count(FrameOutcome::Ignored) == cases.size());
  CHECK(sut.stats().count(FrameKind::NoEventType) == 2);
  CHECK(sut.stats().count(FrameKind::OtherEvent) == 3);
  CHECK(sut.stats().count(FrameKind::OtherArray) == 2);
}

// ---------------------------------------------------------------------------- buffers, reuse

TEST_CASE("ParsePaddedParsesInPlaceOnlyWhenThePaddingIsThere", "[feed][buffer]") {
  FrameParser sut;
  Counter counter;
  std::string buffer = kNkn;
  buffer.resize(kNkn.size() + kFramePadding, 'x');  // junk after the frame: content does not matter
  CHECK(sut.parse_padded(buffer.data(), kNkn.size(), buffer.size(), counter).outcome == FrameOutcome::Delivered);
  CHECK(sut.stats().copied == 0);
  CHECK(sut.parse_padded(buffer.data(), kNkn.size(), buffer.size() - 1, counter).outcome ==
        FrameOutcome::Delivered);
  CHECK(sut.stats().copied == 1);
  CHECK(sut.parse(kNkn, counter).outcome == FrameOutcome::Delivered);
  CHECK(sut.stats().copied == 2);
  CHECK(counter.klines == 3);
}

TEST_CASE("ParsingAllocatesNothingOnceWarm", "[feed][buffer]") {
  FrameParser sut;
  Counter counter;
  const auto frames = capture_frames();
  std::vector<std::string> mixed = frames;
  mixed.push_back(kMiniArray);
  mixed.push_back(kEmptyCandle);
  mixed.push_back(R"({"result":["a","b"],"id":3})");
  mixed.push_back(with(kNkn, R"("h":"0.35280000")", R"("h":"0.1")"));  // a rejected one too
  for (const auto& frame : mixed) (void)sut.parse(frame, counter);  // warm-up
  g_allocations = 0;
  g_counting = true;
  for (int round = 0; round < 20; ++round)
    for (const auto& frame : mixed) (void)sut.parse(frame, counter);
  g_counting = false;
  CHECK(g_allocations == 0);
  CHECK(counter.klines == 21 * 3);
  CHECK(counter.tickers == 21 * 2);
}

TEST_CASE("OneParserIsReusableAcrossManyFramesWithoutStaleState", "[feed][buffer]") {
  // A rejected frame between good ones leaves nothing behind; a raw frame after a combined one
  // does not inherit its stream name.
  FrameParser sut;
  Recorder recorder;
  CHECK(sut.parse(kNkn, recorder).outcome == FrameOutcome::Delivered);
  CHECK(sut.parse(with(kNkn, R"("E":1633998523963,)", ""), recorder).outcome == FrameOutcome::Rejected);
  CHECK(sut.parse(kEmptyCandle, recorder).outcome == FrameOutcome::Delivered);
  CHECK(sut.parse(kMiniArray, recorder).outcome == FrameOutcome::Delivered);
  CHECK(sut.parse(R"({"e":"serverShutdown","E":9})", recorder).outcome == FrameOutcome::Delivered);
  CHECK(sut.parse(kNkn, recorder).outcome == FrameOutcome::Delivered);
  CHECK(recorder.klines.size() == 3);
  CHECK(recorder.klines[1].symbol == "ETHUSDT");
  CHECK(recorder.ticker_batches.size() == 1);
  CHECK(recorder.shutdowns == std::vector<std::int64_t>{9});
  CHECK(sut.stats().frames == 6);
  sut.reset_stats();
  CHECK(sut.stats().frames == 0);
}

TEST_CASE("MiniTickerArrayLargerThanTheReservedScratchIsDelivered", "[feed][buffer]") {
  FrameParserOptions options;
  options.initial_mini_tickers = 2;
  options.initial_capacity = 1024;
  FrameParser sut(options);
  Counter counter;
  std::string frame = R"({"stream":"!miniTicker@arr","data":[)";
  for (int i = 0; i < 3000; ++i) {
    if (i != 0) frame += ',';
    frame += R"({"e":"24hrMiniTicker","E":1672515782136,"s":"S)" + std::to_string(i) +
             R"(USDT","c":"1.5","o":"1.0","h":"2.0","l":"0.5","v":"10","q":"15"})";
  }
  frame += "]}";
  CHECK(sut.parse(frame, counter).outcome == FrameOutcome::Delivered);
  CHECK(counter.tickers == 3000);
  CHECK(sut.stats().mini_tickers == 3000);
}

TEST_CASE("GrowingMiniTickerArraysReallocateOnlyLogarithmically", "[feed][buffer]") {
  // !miniTicker@arr changes size every second; buffers grow by powers of two, not to each new maximum.
  const auto array_of = [](int elements) {
    std::string frame = R"({"stream":"!miniTicker@arr","data":[)";
    for (int i = 0; i < elements; ++i) {
      if (i != 0) frame += ',';
      frame += R"({"e":"24hrMiniTicker","E":1672515782136,"s":"S)" + std::to_string(i) +
               R"(USDT","c":"1.50000000","o":"1.00000000","h":"2.00000000","l":"0.50000000","v":"10.00000000","q":"15.00000000"})";
    }
    return frame + "]}";
  };
  std::vector<std::string> frames;
  for (int elements = 1000; elements <= 1500; elements += 5) frames.push_back(array_of(elements));
  FrameParserOptions options;
  options.initial_capacity = 1024;
  options.initial_mini_tickers = 16;
  FrameParser sut(options);
  Counter counter;
  (void)sut.parse(frames.front(), counter);
  g_allocations = 0;
  g_counting = true;
  for (const auto& frame : frames) (void)sut.parse(frame, counter);
  g_counting = false;
  CHECK(g_allocations <= 4);  // one doubling of each buffer at most over +50 %
  CHECK(sut.stats().count(FrameOutcome::Delivered) == frames.size() + 1);
}

// ---------------------------------------------------------------------------- fuzz

namespace {
/// Checks every delivered kline against the rules the parser promises; counts violations.
struct InvariantChecker final : FrameHandler {
  std::size_t klines = 0;
  std::size_t violations = 0;
  void on_kline(const KlineUpdate& u) noexcept override {
    ++klines;
    const shm::Bar& b = u.bar;
    const bool finite = std::isfinite(b.open) && std::isfinite(b.high) && std::isfinite(b.low) &&
                        std::isfinite(b.close) && std::isfinite(b.volume) && std::isfinite(b.quote_volume) &&
                        std::isfinite(b.taker_buy_base_volume) && std::isfinite(b.taker_buy_quote_volume);
    const bool non_negative = b.low >= 0 && b.volume >= 0 && b.quote_volume >= 0 && b.trades >= 0 &&
                              b.taker_buy_base_volume >= 0 && b.taker_buy_quote_volume >= 0;
    const bool ordered = b.low <= b.open && b.open <= b.high && b.low <= b.close && b.close <= b.high;
    const bool aligned = is_bar_open_time(u.interval, b.open_time_ms);
    const bool symbol_ok = !u.symbol.empty() && u.symbol.size() <= shm::kSymbolNameCapacity;
    if (!(finite && non_negative && ordered && aligned && symbol_ok)) ++violations;
  }
  void on_mini_tickers(std::span<const MiniTickerUpdate> updates) noexcept override {
    for (const auto& u : updates)
      if (!(std::isfinite(u.ticker.last_price) && u.ticker.high_24h >= u.ticker.low_24h)) ++violations;
  }
  void on_server_shutdown(std::int64_t) noexcept override {}
  void on_control_reply(const ControlReply&) noexcept override {}
};
}  // namespace

TEST_CASE("RandomlyMutatedFramesNeverDeliverAnInvalidBar", "[feed][fuzz]") {
  static constexpr std::string_view kAlphabet = R"({}[]":,0123456789.-+eEtrfalsnuNI\ x)";
  std::uint64_t state = 0x2021'1012'0000'0001ULL;
  const auto next = [&state] {  // splitmix64: reproducible
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  const std::vector<std::string> seeds{kNkn, kEmptyCandle, kMiniArray};
  FrameParser sut;
  InvariantChecker checker;
  for (int round = 0; round < 30'000; ++round) {
    std::string frame = seeds[next() % seeds.size()];
    const int edits = 1 + static_cast<int>(next() % 3);
    for (int e = 0; e < edits && !frame.empty(); ++e) {
      const std::size_t at = next() % frame.size();
      switch (next() % 4) {
        case 0: frame[at] = kAlphabet[next() % kAlphabet.size()]; break;
        case 1: frame.erase(at, 1 + next() % 4); break;
        case 2: frame.insert(at, 1, kAlphabet[next() % kAlphabet.size()]); break;
        default: frame.resize(at); break;
      }
    }
    (void)sut.parse(frame, checker);
  }
  const ParseStats& stats = sut.stats();
  INFO("delivered " << stats.count(FrameOutcome::Delivered) << ", rejected " << stats.count(FrameOutcome::Rejected)
                    << ", ignored " << stats.count(FrameOutcome::Ignored));
  CHECK(checker.violations == 0);
  CHECK(stats.frames == 30'000);
  CHECK(stats.count(FrameOutcome::Rejected) > 10'000);  // most mutations break something
  CHECK(checker.klines > 100);                           // and some harmless ones still deliver
}
