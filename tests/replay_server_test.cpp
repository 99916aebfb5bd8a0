// SPDX-License-Identifier: Apache-2.0
// screener-replay's network server, in process, against a small fake market: Binance's wire
// behaviour (streams, control messages, limits, pings, REST weight), the clock, the fault
// switches and TLS. Every wait is bounded by a deadline.

#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "tests/support/ws_test_client.hpp"
#include "tools/replay/server/fault_switches.hpp"
#include "tools/replay/server/replay_server.hpp"
#include "tools/replay/server/rest_limiter.hpp"
#include "tools/replay/server/ws_protocol.hpp"

using namespace screener::replay;
using screener::test::Endpoint;
using screener::test::http_request;
using screener::test::WsClient;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::int64_t kStartMs = 1'704'067'200'000;   // 2024-01-01T00:00Z, a minute boundary

struct FakeMarket {
  std::size_t steps = 1000;
  std::int64_t step_ms = 20'000;   // three updates per 1m bar, the third one closing it
  std::vector<std::string> symbols{"BTCUSDT", "ETHUSDT"};
  int weight_limit = 6000;
};

std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

/// Per step: one 1m kline per symbol (x=true when the step ends the minute; none for a symbol set
/// not TRADING), then one !miniTicker@arr. REST: exchangeInfo (weight 20; symbols with their
/// status), klines (2), ping (1).
class FakeModel final : public ExchangeModel {
 public:
  explicit FakeModel(FakeMarket market) : market_(std::move(market)) {
    for (const auto& symbol : market_.symbols)
      listings_.push_back(Listing{symbol, symbol.substr(0, symbol.size() - 4), "USDT"});
  }

  const std::vector<Listing>& listings() const override { return listings_; }
  const std::vector<screener::Interval>& intervals() const override { return intervals_; }
  std::int64_t now_ms() const override { return now_; }
  std::optional<std::int64_t> next_step_ms() const override {
    if (step_ >= market_.steps) return std::nullopt;
    return now_ + market_.step_ms;
  }
  std::vector<StreamFrame> step() override {
    now_ += market_.step_ms;
    ++step_;
    const bool closes = now_ % 60'000 == 0;
    const std::int64_t open = ((now_ - 1) / 60'000) * 60'000;
    std::vector<StreamFrame> frames;
    std::string tickers = "[";
    for (std::size_t i = 0; i < market_.symbols.size(); ++i) {
      const std::string& symbol = market_.symbols[i];
      const double price = 100.0 * static_cast<double>(i + 1) + static_cast<double>(step_ % 7);
      if (listings_[i].status == "TRADING")
        frames.push_back(StreamFrame{
          lowercase(symbol) + "@kline_1m",
          fmt::format(R"({{"e":"kline","E":{},"s":"{}","k":{{"t":{},"T":{},"s":"{}","i":"1m","f":1,"L":2,)"
                      R"("o":"{:.8f}","c":"{:.8f}","h":"{:.8f}","l":"{:.8f}","v":"1.00000000","n":2,"x":{},)"
                      R"("q":"100.00000000","V":"0.50000000","Q":"50.00000000","B":"0"}}}})",
                      now_, symbol, open, open + 59'999, symbol, price, price + 0.5, price + 1, price - 1, closes)});
      if (i > 0) tickers += ',';
      tickers += fmt::format(R"({{"e":"24hrMiniTicker","E":{},"s":"{}","c":"{:.8f}","o":"1","h":"2","l":"0","v":"1","q":"1"}})",
                             now_, symbol, price);
    }
    frames.push_back(StreamFrame{"!miniTicker@arr", tickers + "]"});
    return frames;
  }
  RestAnswer rest(std::string_view path, std::string_view) const override {
    if (path == "/api/v3/exchangeInfo") {
      std::vector<std::string> symbols;
      for (const auto& l : listings_) symbols.push_back(fmt::format(R"({{"symbol":"{}","status":"{}"}})", l.symbol, l.status));
      return RestAnswer{200, fmt::format(R"({{"rateLimits":[{{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":{}}}],"symbols":[{}]}})", market_.weight_limit, fmt::join(symbols, ",")), 20};
    }
    if (path == "/api/v3/klines") return RestAnswer{200, "[]", 2};
    if (path == "/api/v3/ping") return RestAnswer{200, "{}", 1};
    return RestAnswer{404, R"({"code":-1000,"msg":"Unknown path."})", 1};
  }
  int request_weight_limit() const override { return market_.weight_limit; }
  screener::Interval base_interval() const override { return screener::Interval::m1; }
  bool set_listing_status(std::string_view symbol, std::string_view status) override {
    for (auto& l : listings_)
      if (l.symbol == symbol) {
        l.status = std::string(status);
        return true;
      }
    return false;
  }

 private:
  FakeMarket market_;
  std::vector<Listing> listings_;
  std::vector<screener::Interval> intervals_{screener::Interval::m1};
  std::int64_t now_ = kStartMs;
  std::size_t step_ = 0;
};

/// Quick defaults: 20 s market steps at x1000, so a step every 20 ms of wall time.
ServerOptions test_options() {
  ServerOptions options;
  options.speed = Speed{Speed::Mode::Multiple, 1000.0};
  return options;
}

/// The server on a background thread, on 127.0.0.1 and a free port.
class Harness {
 public:
  explicit Harness(ServerOptions options = test_options(), FakeMarket market = {})
      : Harness(std::move(options), std::make_unique<FakeModel>(std::move(market))) {}
  Harness(ServerOptions options, std::unique_ptr<ExchangeModel> model) {
    server_ = std::make_unique<ReplayServer>(std::move(options), std::move(model));
    server_->start();
    thread_ = std::thread([this] { server_->run(); });
  }
  ~Harness() {
    server_->stop();
    thread_.join();
  }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  [[nodiscard]] Endpoint endpoint() const {
    Endpoint endpoint;
    endpoint.port = server_->port();
    return endpoint;
  }
  [[nodiscard]] std::string status() const { return http_request(endpoint(), "GET", "/replay/status").body; }
  screener::test::HttpReply fault(std::string_view query) const {
    return http_request(endpoint(), "POST", fmt::format("/replay/fault?{}", query));
  }

 private:
  std::unique_ptr<ReplayServer> server_;
  std::thread thread_;
};

/// The integer after `"key":` in `json`, or nothing.
std::optional<std::int64_t> json_int(std::string_view json, std::string_view key) {
  const std::string needle = fmt::format("\"{}\":", key);
  const std::size_t at = json.find(needle);
  if (at == std::string_view::npos) return std::nullopt;
  std::int64_t value = 0;
  const char* first = json.data() + at + needle.size();
  if (std::from_chars(first, json.data() + json.size(), value).ec != std::errc()) return std::nullopt;
  return value;
}

/// The string value of `"key":"..."` in `json`, or nothing.
std::optional<std::string> json_text(std::string_view json, std::string_view key) {
  const std::string needle = fmt::format("\"{}\":\"", key);
  const std::size_t at = json.find(needle);
  if (at == std::string_view::npos) return std::nullopt;
  const std::size_t end = json.find('"', at + needle.size());
  return std::string(json.substr(at + needle.size(), end - at - needle.size()));
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.starts_with(prefix); }
bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

/// Reads `count` messages, failing the test on a timeout or close.
std::vector<std::string> read_messages(WsClient& client, std::size_t count, std::chrono::milliseconds timeout = 5s) {
  std::vector<std::string> messages;
  const auto deadline = Clock::now() + timeout;
  std::string message;
  while (messages.size() < count) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    REQUIRE(left > 0ms);
    const auto result = client.read(message, left);
    INFO("message " << messages.size() << " of " << count << "; close reason: " << client.close_reason());
    REQUIRE(result == WsClient::Read::Message);
    messages.push_back(message);
  }
  return messages;
}

/// REST weight is per wall-clock minute: tests that add it up start early in a minute.
void avoid_minute_end() {
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  if (now_ms % 60'000 > 50'000) std::this_thread::sleep_for(std::chrono::milliseconds(60'050 - now_ms % 60'000));
}

bool is_reply(const std::string& message) { return contains(message, R"("id":)"); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Protocol text, without sockets

TEST_CASE("StreamTargetsParseLikeBinanceUrls", "[replay][protocol]") {
  auto combined = parse_stream_target("/stream?streams=btcusdt@kline_1m/ethusdt@kline_1m/btcusdt@kline_1m");
  REQUIRE(combined);
  CHECK(combined->combined);
  CHECK(combined->streams == std::vector<std::string>{"btcusdt@kline_1m", "ethusdt@kline_1m"});
  auto encoded = parse_stream_target("/stream?streams=btcusdt%40kline_1m%2F%21miniTicker%40arr");
  REQUIRE(encoded);
  CHECK(encoded->streams == std::vector<std::string>{"btcusdt@kline_1m", "!miniTicker@arr"});
  auto raw = parse_stream_target("/ws/btcusdt@kline_1m");
  REQUIRE(raw);
  CHECK_FALSE(raw->combined);
  CHECK(raw->streams == std::vector<std::string>{"btcusdt@kline_1m"});
  CHECK(parse_stream_target("/ws")->streams.empty());
  CHECK_FALSE(parse_stream_target("/api/v3/klines"));
}

TEST_CASE("ControlMessagesAreValidatedWithBinanceCodes", "[replay][protocol]") {
  const auto error_of = [](std::string_view text) {
    auto parsed = parse_control_message(text);
    REQUIRE(std::holds_alternative<ControlError>(parsed));
    return std::get<ControlError>(parsed);
  };
  CHECK(error_of("{not json").code == 3);
  CHECK(error_of(R"({"method":"SUBSCRIB","params":[],"id":1})").code == 2);
  CHECK(contains(error_of(R"({"method":"SUBSCRIB","params":[],"id":1})").msg, "unknown variant `SUBSCRIB`"));
  CHECK(contains(error_of(R"({"params":[],"id":1})").msg, "missing field `method`"));
  CHECK(contains(error_of(R"({"method":"LIST_SUBSCRIPTIONS","id":1.5})").msg, "request ID must be an unsigned integer"));
  CHECK(contains(error_of(R"({"method":"LIST_SUBSCRIPTIONS","id":"has space"})").msg, "request ID"));
  CHECK(error_of(R"({"method":"GET_PROPERTY","params":["colour"],"id":2})").code == 0);
  CHECK(error_of(R"({"method":"SET_PROPERTY","params":["combined","yes"],"id":2})").code == 1);
  CHECK(contains(error_of(R"({"method":"SET_PROPERTY","params":[5,true],"id":2})").msg, "property name must be a string"));
  CHECK(contains(error_of(R"({"method":"GET_PROPERTY","params":["combined",1],"id":2})").msg, "too many parameters"));
  CHECK(contains(error_of(R"({"method":"SUBSCRIBE","params":["bad stream"],"id":2})").msg, "invalid stream"));

  auto ok = parse_control_message(R"({"method":"SUBSCRIBE","params":["btcusdt@kline_1m","btcusdt@kline_1m"],"id":"a1"})");
  REQUIRE(std::holds_alternative<ControlRequest>(ok));
  CHECK(std::get<ControlRequest>(ok).streams == std::vector<std::string>{"btcusdt@kline_1m"});
  CHECK(std::get<ControlRequest>(ok).id_json == "\"a1\"");
  CHECK(control_error_reply(ControlError{0, "Unknown property", "7"}) ==
        R"({"error":{"code":0,"msg":"Unknown property"},"id":7})");
  CHECK(control_result_list({"a@b"}, "null") == R"({"result":["a@b"],"id":null})");
}

TEST_CASE("RestLimiterRefusesOverTheLimitThenBans", "[replay][protocol]") {
  RestLimiter sut(RestLimits{50, 2, 120'000});
  const std::int64_t t = kStartMs + 1'000;
  CHECK(sut.admit("ip", 20, t).used_weight == 20);
  CHECK(sut.admit("ip", 20, t).used_weight == 40);
  CHECK(sut.admit("other", 20, t).used_weight == 20);   // buckets are per IP
  auto first = sut.admit("ip", 20, t);
  CHECK(first.kind == RestVerdict::Kind::TooMany);
  CHECK(first.retry_after_s == 59);
  CHECK(sut.admit("ip", 20, t).kind == RestVerdict::Kind::TooMany);
  auto banned = sut.admit("ip", 20, t);   // a request that fits is still served: 1 would be
  CHECK(banned.kind == RestVerdict::Kind::Banned);
  CHECK(banned.retry_after_s == 120);
  CHECK(sut.admit("ip", 1, t + 61'000).kind == RestVerdict::Kind::Banned);   // a ban outlives the minute
  CHECK(sut.admit("ip", 1, t + 121'000).kind == RestVerdict::Kind::Serve);
}

TEST_CASE("MalformedFramesMutateARealKline", "[replay][faults]") {
  FakeModel model(FakeMarket{});
  const std::string kline = model.step().front().payload;
  CHECK(is_closed_kline("btcusdt@kline_1m", kline) == false);
  CHECK(contains(make_malformed(kline, MalformedKind::BadJson), "{{"));
  CHECK(make_malformed(kline, MalformedKind::Truncated).size() < kline.size());
  CHECK(contains(make_malformed(kline, MalformedKind::NegativePrice), R"("c":"-)"));
  const std::string inverted = make_malformed(kline, MalformedKind::HighBelowLow);
  CHECK(std::stod(*json_text(inverted, "h")) < std::stod(*json_text(inverted, "l")));
  const std::string shifted = make_malformed(kline, MalformedKind::MisalignedOpenTime);
  CHECK(*json_int(shifted, "t") % 60'000 == 1);
  CHECK(*json_int(shifted, "T") == *json_int(shifted, "t") + 59'999);
  CHECK(parse_speed("x60")->multiple == 60.0);
  CHECK(parse_speed("max")->mode == Speed::Mode::AsFastAsRead);
  CHECK_FALSE(parse_speed("x0"));
  CHECK_FALSE(parse_speed("fast"));
}

// ---------------------------------------------------------------------------------------------
// Streams and control messages

TEST_CASE("CombinedStreamUrlDeliversWrappedFramesInOrder", "[replay][ws]") {
  Harness harness;
  WsClient client(harness.endpoint(), "/stream?streams=btcusdt@kline_1m/!miniTicker@arr");
  const auto messages = read_messages(client, 12);
  std::int64_t last_event = 0;
  for (const auto& message : messages) {
    INFO(message);
    CHECK(message.back() == '}');
    if (starts_with(message, R"({"stream":"btcusdt@kline_1m","data":{"e":"kline")")) {
      const auto event = json_int(message, "E");
      REQUIRE(event);
      CHECK(*event > last_event);
      last_event = *event;
    } else {
      CHECK(starts_with(message, R"({"stream":"!miniTicker@arr","data":[{"e":"24hrMiniTicker")"));
    }
    CHECK_FALSE(contains(message, "ETHUSDT\",\"k\""));
  }
  CHECK(last_event > 0);
}

TEST_CASE("SubscribeMessageAddsStreamsAndNamesAreCaseSensitive", "[replay][ws]") {
  Harness harness;
  WsClient client(harness.endpoint(), "/stream");
  client.send(R"({"method":"SUBSCRIBE","params":["ethusdt@kline_1m"],"id":1})");
  std::vector<std::string> before;
  const auto reply = client.read_until(is_reply, 3s, &before);
  REQUIRE(reply);
  CHECK(*reply == R"({"result":null,"id":1})");
  CHECK(before.empty());   // nothing was subscribed before the reply
  const auto frames = read_messages(client, 4);
  for (const auto& frame : frames) CHECK(starts_with(frame, R"({"stream":"ethusdt@kline_1m","data":{"e":"kline")"));

  // Binance matches stream names exactly: an upper-case name is accepted and never sends.
  WsClient upper(harness.endpoint(), "/stream");
  upper.send(R"({"method":"SUBSCRIBE","params":["ETHUSDT@kline_1m"],"id":2})");
  REQUIRE(upper.read_until(is_reply, 3s));
  std::string message;
  CHECK(upper.read(message, 300ms) == WsClient::Read::Timeout);
}

TEST_CASE("ListSubscriptionsAnswersTheCurrentStreams", "[replay][ws]") {
  Harness harness;
  WsClient client(harness.endpoint(), "/stream?streams=btcusdt@kline_1m/ethusdt@kline_1m");
  client.send(R"({"method":"LIST_SUBSCRIPTIONS","id":3})");
  CHECK(client.read_until(is_reply, 3s) == R"({"result":["btcusdt@kline_1m","ethusdt@kline_1m"],"id":3})");
  client.send(R"({"method":"UNSUBSCRIBE","params":["ethusdt@kline_1m"],"id":4})");
  CHECK(client.read_until(is_reply, 3s) == R"({"result":null,"id":4})");
  client.send(R"({"method":"LIST_SUBSCRIPTIONS","id":"abc"})");
  CHECK(client.read_until(is_reply, 3s) == R"({"result":["btcusdt@kline_1m"],"id":"abc"})");
}

TEST_CASE("RawStreamSendsBarePayloadsUntilCombinedIsSet", "[replay][ws]") {
  Harness harness;
  WsClient client(harness.endpoint(), "/ws/btcusdt@kline_1m");
  for (const auto& frame : read_messages(client, 3)) {
    CHECK(starts_with(frame, R"({"e":"kline")"));
    CHECK(contains(frame, R"("s":"BTCUSDT")"));
  }
  client.send(R"({"method":"GET_PROPERTY","params":["combined"],"id":1})");
  CHECK(client.read_until(is_reply, 3s) == R"({"result":false,"id":1})");
  client.send(R"({"method":"SET_PROPERTY","params":["combined",true],"id":2})");
  CHECK(client.read_until(is_reply, 3s) == R"({"result":null,"id":2})");
  for (const auto& frame : read_messages(client, 3))
    CHECK(starts_with(frame, R"({"stream":"btcusdt@kline_1m","data":{"e":"kline")"));
  client.send(R"({"method":"SET_PROPERTY","params":["combined","yes"],"id":3})");
  CHECK(client.read_until(is_reply, 3s) ==
        R"({"error":{"code":1,"msg":"Invalid value type: expected Boolean"},"id":3})");
}

TEST_CASE("MoreThanFiveMessagesPerSecondClosesTheConnection", "[replay][ws][limits]") {
  Harness harness;
  {
    // Four messages in a second are fine.
    WsClient polite(harness.endpoint(), "/ws");
    for (int i = 0; i < 4; ++i) {
      polite.send(fmt::format(R"({{"method":"LIST_SUBSCRIPTIONS","id":{}}})", i));
      REQUIRE(polite.read_until(is_reply, 3s));
    }
    std::string message;
    CHECK(polite.read(message, 300ms) == WsClient::Read::Timeout);
    CHECK_FALSE(polite.closed());
  }
  WsClient client(harness.endpoint(), "/ws");
  try {
    for (int i = 0; i < 8; ++i) client.send(fmt::format(R"({{"method":"LIST_SUBSCRIPTIONS","id":{}}})", i));
  } catch (const std::runtime_error&) {
    // The server may close before the last ones are written.
  }
  REQUIRE(client.wait_closed(3s));
  CHECK(contains(client.close_reason(), "1008"));
}

TEST_CASE("MoreThan1024StreamsAreRejected", "[replay][ws][limits]") {
  Harness harness;
  const auto streams = [](int first, int count) {
    std::vector<std::string> names;
    for (int i = first; i < first + count; ++i) names.push_back(fmt::format("\"s{:04}usdt@kline_1m\"", i));
    return names;
  };
  WsClient client(harness.endpoint(), "/stream");
  client.send(fmt::format(R"({{"method":"SUBSCRIBE","params":[{}],"id":1}})", fmt::join(streams(0, 1025), ",")));
  const auto refused = client.read_until(is_reply, 3s);
  REQUIRE(refused);
  CHECK(starts_with(*refused, R"({"error":{"code":2,)"));
  client.send(fmt::format(R"({{"method":"SUBSCRIBE","params":[{}],"id":2}})", fmt::join(streams(0, 1024), ",")));
  CHECK(client.read_until(is_reply, 3s) == R"({"result":null,"id":2})");
  client.send(fmt::format(R"({{"method":"SUBSCRIBE","params":[{}],"id":3}})", fmt::join(streams(1024, 1), ",")));
  CHECK(starts_with(client.read_until(is_reply, 3s).value_or(""), R"({"error":{"code":2,)"));

  std::string url = "/stream?streams=";
  for (int i = 0; i < 1025; ++i) url += fmt::format("{}s{:04}usdt@kline_1m", i ? "/" : "", i);
  CHECK_THROWS_WITH(WsClient(harness.endpoint(), url), Catch::Contains("400"));
}

TEST_CASE("SlowClientIsDroppedWithoutHoldingBackTheOthers", "[replay][ws][limits]") {
  FakeMarket market;
  market.symbols.clear();
  for (int i = 0; i < 200; ++i) market.symbols.push_back(fmt::format("S{:03}USDT", i));
  market.steps = 1'000'000;
  ServerOptions options = test_options();
  options.speed = Speed{Speed::Mode::Multiple, 20'000.0};   // a step (201 frames for `slow`) per ms
  options.max_queued_frames = 1000;
  Harness harness(options, market);

  std::string everything = "/stream?streams=!miniTicker@arr";
  for (const auto& symbol : market.symbols) everything += "/" + lowercase(symbol) + "@kline_1m";
  WsClient slow(harness.endpoint(), everything);   // never reads: the socket buffers fill, then its queue
  WsClient fast(harness.endpoint(), "/ws/s000usdt@kline_1m");
  const auto deadline = Clock::now() + 10s;
  while (json_int(harness.status(), "connections") != 1 && Clock::now() < deadline) read_messages(fast, 20);
  CHECK(json_int(harness.status(), "connections") == 1);
  read_messages(fast, 50);   // the clock did not wait for the slow one
  CHECK(slow.wait_closed(5s));
}

TEST_CASE("PortFileNamesTheBoundPort", "[replay][ws]") {
  const std::string path = fmt::format("/tmp/replay-port-{}.txt", ::getpid());
  ServerOptions options = test_options();
  options.port_file = path;
  Harness harness(options);
  std::ifstream file(path);
  int port = 0;
  file >> port;
  CHECK(port == harness.endpoint().port);
  CHECK(port > 0);
  std::filesystem::remove(path);
}

// ---------------------------------------------------------------------------------------------
// Pings

TEST_CASE("ServerPingsAtTheConfiguredInterval", "[replay][ws][ping]") {
  ServerOptions options = test_options();
  options.ping_interval = 200ms;
  options.pong_timeout = 1000ms;
  Harness harness(options);
  WsClient client(harness.endpoint(), "/ws");   // no subscription: only pings arrive
  std::string message;
  // Read until four pings came (bounded): a loaded machine delays timers, never speeds them up.
  const auto deadline = Clock::now() + 5s;
  while (client.pings().size() < 4 && Clock::now() < deadline)
    CHECK(client.read(message, 250ms) == WsClient::Read::Timeout);
  const auto pings = client.pings();
  REQUIRE(pings.size() >= 4);
  // On average one ping per interval: a timer that fires late may bring two pings closer, but
  // the cadence stays the configured one, not faster.
  CHECK((pings.back() - pings.front()) / static_cast<int>(pings.size() - 1) >= 150ms);
  CHECK(client.read(message, 1000ms) == WsClient::Read::Timeout);   // answered, so still open
  CHECK_FALSE(client.closed());
}

TEST_CASE("ClientThatDoesNotAnswerPingsIsDroppedAfterThePongTimeout", "[replay][ws][ping]") {
  ServerOptions options = test_options();
  options.ping_interval = 100ms;
  options.pong_timeout = 400ms;
  Harness harness(options);
  WsClient client(harness.endpoint(), "/ws");
  // Not reading: pings go unanswered, and the server must drop the connection (bounded poll).
  const auto deadline = Clock::now() + 3s;
  while (Clock::now() < deadline && json_int(harness.status(), "connections") != 0)
    std::this_thread::sleep_for(50ms);
  CHECK(json_int(harness.status(), "connections") == 0);
  CHECK(client.wait_closed(2s));
}

// ---------------------------------------------------------------------------------------------
// REST

TEST_CASE("RestResponsesCarryTheUsedWeight", "[replay][rest]") {
  Harness harness;
  avoid_minute_end();
  const auto info = http_request(harness.endpoint(), "GET", "/api/v3/exchangeInfo");
  CHECK(info.status == 200);
  CHECK(info.header("Content-Type") == "application/json");
  CHECK(info.header("X-MBX-USED-WEIGHT-1M") == "20");
  const auto klines = http_request(harness.endpoint(), "GET", "/api/v3/klines?symbol=BTCUSDT&interval=1m");
  CHECK(klines.status == 200);
  CHECK(klines.header("X-MBX-USED-WEIGHT-1M") == "22");
  const auto missing = http_request(harness.endpoint(), "GET", "/api/v3/nothing");
  CHECK(missing.status == 404);
  CHECK(missing.header("X-MBX-USED-WEIGHT-1M") == "23");
  const auto status = harness.status();
  CHECK(json_int(status, "rest_requests") == 3);
  CHECK(json_int(status, "weight_used") == 23);
}

TEST_CASE("ExceedingTheWeightGives429ThenRepeatedViolationGives418", "[replay][rest]") {
  ServerOptions options = test_options();
  options.ban_after_429s = 2;
  options.ban_duration = 120s;
  Harness harness(options, FakeMarket{.weight_limit = 50});
  avoid_minute_end();
  const auto get = [&harness] { return http_request(harness.endpoint(), "GET", "/api/v3/exchangeInfo"); };
  CHECK(get().status == 200);
  CHECK(get().status == 200);
  const auto limited = get();
  CHECK(limited.status == 429);
  const int retry = std::stoi(limited.header("Retry-After"));
  CHECK(retry >= 1);
  CHECK(retry <= 60);
  CHECK(limited.header("X-MBX-USED-WEIGHT-1M") == "40");
  CHECK(contains(limited.body, R"("code":-1003)"));
  CHECK(contains(limited.body, "current limit is 50 request weight per 1 MINUTE"));
  CHECK(get().status == 429);
  const auto banned = get();
  CHECK(banned.status == 418);
  CHECK(banned.header("Retry-After") == "120");
  CHECK(contains(banned.body, "IP banned until"));
  CHECK(http_request(harness.endpoint(), "GET", "/api/v3/ping").status == 418);   // even a light request
}

// ---------------------------------------------------------------------------------------------
// Clock

TEST_CASE("ClockWaitsForTheFirstSubscriptionThenStepsAtScaledWallTime", "[replay][clock]") {
  Harness harness;   // x1000: a 20 s step every 20 ms
  std::this_thread::sleep_for(150ms);
  CHECK(json_int(harness.status(), "steps") == 0);
  WsClient client(harness.endpoint(), "/ws/btcusdt@kline_1m");
  std::string message;
  REQUIRE(client.read(message, 3s) == WsClient::Read::Message);
  const auto first = Clock::now();
  read_messages(client, 10);
  const auto elapsed = Clock::now() - first;
  CHECK(elapsed >= 150ms);
  CHECK(elapsed < 2s);
}

TEST_CASE("MaxSpeedDeliversEveryStepInOrderAndFinishes", "[replay][clock]") {
  ServerOptions options = test_options();
  options.speed = Speed{Speed::Mode::AsFastAsRead, 1.0};
  Harness harness(options, FakeMarket{.steps = 300});
  WsClient client(harness.endpoint(), "/ws/btcusdt@kline_1m");
  const auto frames = read_messages(client, 300, 10s);
  for (std::size_t i = 0; i < frames.size(); ++i)
    CHECK(json_int(frames[i], "E") == kStartMs + 20'000 * static_cast<std::int64_t>(i + 1));
  std::string message;
  CHECK(client.read(message, 200ms) == WsClient::Read::Timeout);   // nothing after the end
  const auto status = harness.status();
  CHECK(contains(status, R"("finished":true)"));
  CHECK(json_int(status, "steps") == 300);
  CHECK(http_request(harness.endpoint(), "GET", "/api/v3/ping").status == 200);   // REST still served
}

// ---------------------------------------------------------------------------------------------
// Faults

TEST_CASE("DropFaultClosesEveryConnection", "[replay][faults]") {
  SECTION("at run time, now") {
    Harness harness;
    WsClient a(harness.endpoint(), "/ws/btcusdt@kline_1m");
    WsClient b(harness.endpoint(), "/ws");
    read_messages(a, 2);
    const auto answer = harness.fault("drop=now");
    CHECK(answer.status == 200);
    CHECK(answer.header("Content-Type") == "application/json");
    CHECK(a.wait_closed(3s));
    CHECK(b.wait_closed(3s));
  }
  SECTION("after N frames per connection") {
    ServerOptions options = test_options();
    options.faults.drop_after_frames = 5;
    Harness harness(options);
    WsClient client(harness.endpoint(), "/ws/btcusdt@kline_1m");
    read_messages(client, 5);
    std::string message;
    CHECK(client.read(message, 3s) == WsClient::Read::Closed);
    CHECK(json_int(harness.status(), "connections") == 0);
  }
}

TEST_CASE("StallFaultSilencesFramesAndPongsForItsDuration", "[replay][faults]") {
  ServerOptions options = test_options();
  options.faults.stall_after_frames = 3;
  options.faults.stall_ms = 600;
  Harness harness(options);
  WsClient client(harness.endpoint(), "/ws/btcusdt@kline_1m");
  read_messages(client, 3);
  const auto third = Clock::now();
  client.send_ping("are you there");
  read_messages(client, 1);
  const auto fourth = Clock::now();
  CHECK(fourth - third >= 450ms);
  const auto pongs = client.pongs();
  REQUIRE(pongs.size() == 1);
  CHECK(pongs.front() - third >= 450ms);
  // Afterwards the queue drains and the connection carries on.
  read_messages(client, 5);
  CHECK_FALSE(client.closed());
}

TEST_CASE("MalformedEveryNthFrameRotatesThroughTheKinds", "[replay][faults]") {
  ServerOptions options = test_options();
  options.faults.malformed_every = 2;
  Harness harness(options);
  WsClient client(harness.endpoint(), "/ws/btcusdt@kline_1m");
  const auto frames = read_messages(client, 20);
  std::set<std::string> kinds;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const std::string& frame = frames[i];
    INFO("frame " << i + 1 << ": " << frame);
    const bool truncated = frame.back() != '}';
    const bool bad_json = contains(frame, "{{");
    const bool negative = contains(frame, R"("c":"-)");
    const auto t = json_int(frame, "t");
    const bool misaligned = t && *t % 60'000 != 0;
    const auto high = json_text(frame, "h");
    const auto low = json_text(frame, "l");
    const bool inverted = !truncated && high && low && std::stod(*high) < std::stod(*low);
    const int faults = truncated + bad_json + negative + misaligned + inverted;
    if ((i + 1) % 2 != 0) {
      CHECK(faults == 0);
      continue;
    }
    CHECK(faults == 1);
    if (truncated) kinds.insert("truncated");
    if (bad_json) kinds.insert("bad_json");
    if (negative) kinds.insert("negative_price");
    if (misaligned) kinds.insert("misaligned_open_time");
    if (inverted) kinds.insert("high_below_low");
  }
  CHECK(kinds.size() == 5);
  CHECK(json_int(harness.status(), "malformed_sent") == 10);
}

TEST_CASE("ServerShutdownReachesEveryConnectionWithoutSubscription", "[replay][faults]") {
  SECTION("at run time, now") {
    Harness harness;
    WsClient combined(harness.endpoint(), "/stream?streams=btcusdt@kline_1m");
    WsClient bare(harness.endpoint(), "/ws");
    read_messages(combined, 1);
    REQUIRE(harness.fault("server_shutdown=now").status == 200);
    const auto wrapped = combined.read_until([](const std::string& m) { return contains(m, "serverShutdown"); }, 3s);
    REQUIRE(wrapped);
    CHECK(starts_with(*wrapped, R"({"stream":"!serverShutdown","data":{"e":"serverShutdown","E":)"));
    const auto raw = bare.read_until([](const std::string& m) { return contains(m, "serverShutdown"); }, 3s);
    REQUIRE(raw);
    CHECK(starts_with(*raw, R"({"e":"serverShutdown","E":)"));
  }
  SECTION("after N frames") {
    ServerOptions options = test_options();
    options.faults.server_shutdown_after_frames = 4;
    Harness harness(options);
    WsClient client(harness.endpoint(), "/ws/btcusdt@kline_1m");
    const auto frames = read_messages(client, 5);
    for (std::size_t i = 0; i < 4; ++i) CHECK(starts_with(frames[i], R"({"e":"kline")"));
    CHECK(starts_with(frames[4], R"({"e":"serverShutdown")"));
  }
}

TEST_CASE("SkipClosedLeavesAGapInTheClosedBars", "[replay][faults]") {
  ServerOptions options = test_options();
  options.faults.skip_closed = 1;
  Harness harness(options);
  WsClient client(harness.endpoint(), "/ws/btcusdt@kline_1m");
  // Bars close every third step; the first close (bar kStartMs) must be missing.
  std::vector<std::int64_t> closed;
  std::vector<std::int64_t> forming;
  for (const auto& frame : read_messages(client, 12)) {
    (contains(frame, R"("x":true)") ? closed : forming).push_back(*json_int(frame, "t"));
  }
  CHECK(std::count(forming.begin(), forming.end(), kStartMs) == 2);
  REQUIRE(!closed.empty());
  CHECK(closed.front() == kStartMs + 60'000);
  CHECK(json_int(harness.status(), "frames_skipped") == 1);

  // At run time: the next closed bar goes missing too.
  REQUIRE(harness.fault("skip_closed=1").status == 200);
  const auto deadline = Clock::now() + 3s;
  while (json_int(harness.status(), "frames_skipped") != 2 && Clock::now() < deadline) std::this_thread::sleep_for(20ms);
  CHECK(json_int(harness.status(), "frames_skipped") == 2);
}

TEST_CASE("RestFaultsAnswer418And429WithRetryAfter", "[replay][faults][rest]") {
  Harness harness;
  const auto answer = harness.fault("rest_429=2&rest_418=1");
  REQUIRE(answer.status == 200);
  CHECK(contains(answer.body, R"("rest_429":2)"));
  const auto get = [&harness] { return http_request(harness.endpoint(), "GET", "/api/v3/ping"); };
  const auto teapot = get();
  CHECK(teapot.status == 418);
  CHECK(!teapot.header("Retry-After").empty());
  for (int i = 0; i < 2; ++i) {
    const auto limited = get();
    CHECK(limited.status == 429);
    CHECK(!limited.header("Retry-After").empty());
    CHECK(contains(limited.body, R"("code":-1003)"));
  }
  CHECK(get().status == 200);
  CHECK(harness.fault("bogus=1").status == 400);
}

TEST_CASE("StatusChangeStopsAndResumesASymbolsKlinesAtRunTimeAndOnSchedule", "[replay][faults][status]") {
  const auto is_btc = [](const std::string& m) { return contains(m, R"("stream":"btcusdt@kline_1m")"); };
  SECTION("at run time: POST /replay/fault?status=SYMBOL:STATUS") {
    Harness harness;
    WsClient client(harness.endpoint(), "/stream?streams=btcusdt@kline_1m/ethusdt@kline_1m");
    REQUIRE(client.read_until(is_btc, 3s));

    const auto unknown = harness.fault("status=NOPEUSDT:BREAK");
    CHECK(unknown.status == 400);
    CHECK(unknown.header("Content-Type") == "application/json");
    CHECK(unknown.body == R"j({"error":"status: unknown symbol 'NOPEUSDT' (not listed by this market)"})j");
    CHECK(harness.fault("status=BTCUSDT:BRAEK").status == 400);
    CHECK(harness.fault("status=BTCUSDT").status == 400);
    const auto info = [&harness] { return http_request(harness.endpoint(), "GET", "/api/v3/exchangeInfo").body; };
    CHECK(contains(info(), R"({"symbol":"BTCUSDT","status":"TRADING"})"));   // refused requests changed nothing

    const auto halt = harness.fault("status=BTCUSDT:BREAK");
    CHECK(halt.status == 200);
    CHECK(contains(halt.body, R"("status":"BTCUSDT:BREAK")"));
    CHECK(contains(info(), R"({"symbol":"BTCUSDT","status":"BREAK"})"));
    // Frames queued before the change may still arrive; after them, ETH only.
    const auto frames = read_messages(client, 30);
    CHECK(std::none_of(frames.begin() + 10, frames.end(), is_btc));

    REQUIRE(harness.fault("status=BTCUSDT%3ATRADING").status == 200);
    CHECK(contains(info(), R"({"symbol":"BTCUSDT","status":"TRADING"})"));
    CHECK(client.read_until(is_btc, 3s));
  }
  SECTION("on schedule, in wall time after the clock starts (--status-after-ms)") {
    ServerOptions options = test_options();
    options.status_changes = {{{"BTCUSDT", "HALT"}, 150ms}, {{"BTCUSDT", "TRADING"}, 650ms}};
    Harness harness(options);
    WsClient client(harness.endpoint(), "/ws/btcusdt@kline_1m");   // starts the clock
    // A frame every 20 ms, then a silence of about 500 ms, then frames again.
    auto last = Clock::now();
    auto longest = Clock::duration::zero();
    std::string message;
    const auto deadline = Clock::now() + 3s;
    while (Clock::now() < deadline && longest < 400ms) {
      if (client.read(message, 2s) != WsClient::Read::Message) break;
      longest = std::max(longest, Clock::now() - last);
      last = Clock::now();
    }
    CHECK(longest >= 400ms);
    CHECK(client.read_until([](const std::string& m) { return contains(m, R"("s":"BTCUSDT")"); }, 2s));

    ServerOptions unknown = test_options();
    unknown.status_changes = {{{"NOPEUSDT", "BREAK"}, 1000ms}};
    ReplayServer server(unknown, std::make_unique<FakeModel>(FakeMarket{}));
    CHECK_THROWS_WITH(server.start(), Catch::Contains("'NOPEUSDT'"));
  }
}

// ---------------------------------------------------------------------------------------------
// TLS

namespace {

/// A throw-away CA and a server certificate for 127.0.0.1 and localhost, made with the openssl CLI.
class TestCertificates {
 public:
  TestCertificates() {
    char pattern[] = "/tmp/replay-tls-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    dir_ = pattern;
    const std::string script = fmt::format(
        "cd '{}' && "
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem "
        "-days 2 -subj /CN=replay-test-ca -addext basicConstraints=critical,CA:TRUE "
        "-addext keyUsage=critical,keyCertSign,cRLSign && "
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr "
        "-subj /CN=localhost && "
        "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nbasicConstraints=CA:FALSE\\n' > ext.cnf && "
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 "
        "-extfile ext.cnf",
        dir_.string());
    const std::string quiet = "(" + script + ") >/dev/null 2>&1";
    REQUIRE(std::system(quiet.c_str()) == 0);
  }
  ~TestCertificates() { std::filesystem::remove_all(dir_); }
  TestCertificates(const TestCertificates&) = delete;
  TestCertificates& operator=(const TestCertificates&) = delete;

  [[nodiscard]] std::string path(std::string_view name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
};

}  // namespace

TEST_CASE("TlsServerIsVerifiedAgainstItsCaAndRefusedWithoutIt", "[replay][tls]") {
  TestCertificates certificates;
  ServerOptions options = test_options();
  options.tls_cert_file = certificates.path("server.pem");
  options.tls_key_file = certificates.path("server.key");
  Harness harness(options);

  Endpoint trusted = harness.endpoint();
  trusted.tls = true;
  trusted.ca_file = certificates.path("ca.pem");
  WsClient client(trusted, "/stream?streams=btcusdt@kline_1m");
  for (const auto& frame : read_messages(client, 2)) CHECK(starts_with(frame, R"({"stream":"btcusdt@kline_1m")"));
  const auto status = http_request(trusted, "GET", "/replay/status");
  CHECK(status.status == 200);
  CHECK(contains(status.body, R"("tls":true)"));
  // Connect to the address but check the certificate's DNS name: a fresh machine may have no
  // "localhost" in /etc/hosts.
  Endpoint by_name = trusted;
  by_name.verify_name = "localhost";
  CHECK(http_request(by_name, "GET", "/api/v3/ping").status == 200);

  Endpoint untrusted = harness.endpoint();
  untrusted.tls = true;   // no CA: the self-made chain cannot verify
  CHECK_THROWS_WITH(WsClient(untrusted, "/ws/btcusdt@kline_1m"), Catch::Contains("certificate verify failed"));
  Endpoint wrong_name = trusted;
  wrong_name.verify_name = "example.com";
  CHECK_THROWS_WITH(http_request(wrong_name, "GET", "/api/v3/ping"), Catch::Contains("TLS handshake failed"));
}

// ---------------------------------------------------------------------------------------------
// The real market core behind the server

#if SCREENER_HAVE_REPLAY_MODEL
TEST_CASE("RealSyntheticModelStreamsKlinesAndServesRest", "[replay][model]") {
  ModelOptions model_options;
  model_options.source = SyntheticSource{.seed = 7, .symbols = 2, .history_bars = 30, .live_bars = 4};
  model_options.intervals = {screener::Interval::m1};
  model_options.updates_per_bar = 3;
  auto model = make_exchange_model(model_options);
  REQUIRE(model.has_value());
  ServerOptions options = test_options();
  options.speed = Speed{Speed::Mode::AsFastAsRead, 1.0};
  Harness harness(options, std::move(*model));

  WsClient client(harness.endpoint(), "/stream?streams=syn000usdt@kline_1m");
  std::size_t frames = 0;
  std::size_t closed = 0;
  std::string message;
  while (client.read(message, 500ms) == WsClient::Read::Message) {
    INFO(message);
    CHECK(starts_with(message, R"({"stream":"syn000usdt@kline_1m","data":{"e":"kline")"));
    CHECK(contains(message, R"("s":"SYN000USDT")"));
    ++frames;
    closed += contains(message, R"("x":true)") ? 1 : 0;
  }
  CHECK(frames >= 4);
  CHECK(closed >= 3);
  CHECK(contains(harness.status(), R"("finished":true)"));

  avoid_minute_end();
  const auto info = http_request(harness.endpoint(), "GET", "/api/v3/exchangeInfo");
  CHECK(info.status == 200);
  CHECK(contains(info.body, "SYN000USDT"));
  const auto klines = http_request(harness.endpoint(), "GET", "/api/v3/klines?symbol=SYN001USDT&interval=1m&limit=5");
  CHECK(klines.status == 200);
  CHECK(std::stoi(klines.header("X-MBX-USED-WEIGHT-1M")) > std::stoi(info.header("X-MBX-USED-WEIGHT-1M")));
}
#endif
