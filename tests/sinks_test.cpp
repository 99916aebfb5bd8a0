// SPDX-License-Identifier: Apache-2.0
// Signal sinks: the webhook (retries, idempotency, rate limit, HTTPS with and without a trusted CA),
// isolation between sinks, the WebSocket endpoint's trader filter, and the fan-out's routes.
// Loopback only; every wait bounded.
#include <catch2/catch.hpp>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "common/signal_id.hpp"
#include "config/screener_config.hpp"
#include "daemon/signals/sink_fanout.hpp"
#include "daemon/signals/webhook_sink.hpp"
#include "daemon/signals/websocket_sink.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_certificates.hpp"
#include "tests/support/tiny_http.hpp"
#ifdef SCREENER_HAVE_WS_TEST_CLIENT
#include "tests/support/ws_test_client.hpp"
#endif

using namespace std::chrono_literals;
using screener::config::SinkConfig;
using screener::signals::SinkFanout;
using screener::test::CannedReply;
using screener::test::RecordedRequest;
using screener::test::TinyHttpServer;

namespace {

std::string signal_json(const std::string& trader, std::int64_t bar) {
  const std::uint64_t id = screener::signal_id(trader, "BTCUSDT", "1m", bar);
  return "{\"id\":\"" + screener::format_signal_id(id) + "\",\"ts\":1,\"trader\":\"" + trader +
         "\",\"symbol\":\"BTCUSDT\",\"interval\":\"1m\",\"bar_open_time\":" + std::to_string(bar) + "}";
}

SinkConfig webhook(const std::string& name, std::uint16_t port) {
  SinkConfig config;
  config.name = name;
  config.type = SinkConfig::Type::Webhook;
  config.url = "http://127.0.0.1:" + std::to_string(port) + "/hook?token=t";
  config.timeout = 1000ms;
  config.backoff = 20ms;
  config.backoff_max = 100ms;
  config.retries = 5;
  config.max_per_minute = 60'000;
  config.headers = {{"X-Source", "screener"}};
  return config;
}

template <class F>
bool eventually(F condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

/// What spdlog's default logger writes while this lives; the sinks report failures only there.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", ring_));
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  [[nodiscard]] std::string text() const {
    std::string all;
    for (const std::string& line : ring_->last_formatted()) all += line;
    return all;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> ring_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(256);
  std::shared_ptr<spdlog::logger> previous_;
};

/// A TLS TinyHttpServer answering 200 with a certificate for 127.0.0.1 from a fresh test CA, and a
/// webhook configuration pointing at it over https (no retries: a refused handshake ends at once).
struct HttpsHook {
  screener::test::TempDir dir;
  screener::test::TestCertificates certificates = screener::test::make_test_certificates(dir.file(""));
  TinyHttpServer server{[](std::size_t, const RecordedRequest&) { return CannedReply{}; },
                        screener::test::TlsIdentity{certificates.server_pem, certificates.server_key}};
  SinkConfig config = [this] {
    SinkConfig https = webhook("ops", server.port());
    https.url = "https://127.0.0.1:" + std::to_string(server.port()) + "/hook?token=t";
    https.retries = 0;
    return https;
  }();
};

}  // namespace

TEST_CASE("WebhookRetries503ThenDeliversOnceWithOneIdempotencyKey", "[sinks]") {
  TinyHttpServer server([](std::size_t index, const RecordedRequest&) {
    return index < 2 ? CannedReply{503, "", "busy"} : CannedReply{200, "", "ok"};
  });
  auto sink = screener::signals::make_webhook_sink(webhook("ops", server.port()), "");
  sink->start();
  const std::string json = signal_json("alpha", 60'000);
  sink->enqueue(std::make_shared<const std::string>(json), "alpha");
  REQUIRE(eventually([&] { return sink->stats().delivered == 1; }, 5s));
  std::this_thread::sleep_for(100ms);  // no further attempt follows a success
  const auto requests = server.requests();
  REQUIRE(requests.size() == 3);
  const std::string key = screener::format_signal_id(*screener::signal_id_in_json(json));
  for (const auto& request : requests) {
    CHECK(request.method == "POST");
    CHECK(request.target == "/hook?token=t");
    CHECK(request.body == json);
    CHECK(request.headers.at("content-type") == "application/json");
    CHECK(request.headers.at("idempotency-key") == key);
    CHECK(request.headers.at("x-source") == "screener");
  }
  // Backoff doubles: 20 ms, then 40 ms.
  CHECK(requests[1].at - requests[0].at >= 18ms);
  CHECK(requests[2].at - requests[1].at >= 38ms);
  const auto stats = sink->stats();
  CHECK(stats.retries == 2);
  CHECK(stats.failed == 0);
  sink->stop();
}

TEST_CASE("WebhookHonoursRetryAfterAndGivesUpAfterItsRetries", "[sinks]") {
  TinyHttpServer server([](std::size_t index, const RecordedRequest&) {
    return index == 0 ? CannedReply{429, "Retry-After: 1\r\n", "slow down"} : CannedReply{500, "", "no"};
  });
  SinkConfig config = webhook("ops", server.port());
  config.retries = 2;
  auto sink = screener::signals::make_webhook_sink(config, "");
  sink->start();
  sink->enqueue(std::make_shared<const std::string>(signal_json("alpha", 1)), "alpha");
  REQUIRE(eventually([&] { return sink->stats().failed == 1; }, 5s));
  const auto requests = server.requests();
  REQUIRE(requests.size() == 3);
  CHECK(requests[1].at - requests[0].at >= 950ms);  // Retry-After: 1 instead of 20 ms
  CHECK(sink->stats().delivered == 0);
  sink->stop();
}

TEST_CASE("WebhookRefusalIsNotRetried", "[sinks]") {
  TinyHttpServer server([](std::size_t, const RecordedRequest&) { return CannedReply{400, "", "bad"}; });
  auto sink = screener::signals::make_webhook_sink(webhook("ops", server.port()), "");
  sink->start();
  sink->enqueue(std::make_shared<const std::string>(signal_json("alpha", 1)), "alpha");
  REQUIRE(eventually([&] { return sink->stats().failed == 1; }, 5s));
  std::this_thread::sleep_for(100ms);
  CHECK(server.requests().size() == 1);
  sink->stop();
}

TEST_CASE("WebhookRateLimitSpacesDeliveries", "[sinks]") {
  TinyHttpServer server([](std::size_t, const RecordedRequest&) { return CannedReply{}; });
  SinkConfig config = webhook("ops", server.port());
  config.max_per_minute = 60;  // 1 per second, bursts of 6
  auto sink = screener::signals::make_webhook_sink(config, "");
  sink->start();
  const auto begin = std::chrono::steady_clock::now();
  for (int i = 0; i < 8; ++i) sink->enqueue(std::make_shared<const std::string>(signal_json("alpha", i)), "alpha");
  REQUIRE(eventually([&] { return sink->stats().delivered == 6; }, 3s));
  CHECK(std::chrono::steady_clock::now() - begin < 900ms);
  CHECK(sink->stats().delivered == 6);
  REQUIRE(eventually([&] { return sink->stats().delivered == 8; }, 5s));
  CHECK(std::chrono::steady_clock::now() - begin >= 1800ms);
  sink->stop();
}

TEST_CASE("WebhookQueueOverflowDropsTheOldest", "[sinks]") {
  TinyHttpServer server([](std::size_t, const RecordedRequest&) { return CannedReply{}; });
  SinkConfig config = webhook("ops", server.port());
  config.queue = 3;
  config.max_per_minute = 60;  // bursts of 6: keep it busy
  auto sink = screener::signals::make_webhook_sink(config, "");
  // Not started: enqueues after stop()/before start() are dropped and counted.
  sink->enqueue(std::make_shared<const std::string>(signal_json("alpha", 0)), "alpha");
  CHECK(sink->stats().dropped == 1);
  sink->start();
  for (int i = 0; i < 200; ++i) sink->enqueue(std::make_shared<const std::string>(signal_json("alpha", i)), "alpha");
  const auto stats = sink->stats();
  CHECK(stats.queued <= 4);
  CHECK(stats.dropped >= 190);
  sink->stop();
}

TEST_CASE("HungWebhookDoesNotDelayAnotherSink", "[sinks]") {
  TinyHttpServer hung([](std::size_t, const RecordedRequest&) { return CannedReply{200, "", "late", 3000ms}; });
  TinyHttpServer quick([](std::size_t, const RecordedRequest&) { return CannedReply{}; });
  SinkConfig slow_config = webhook("slow", hung.port());
  slow_config.timeout = 5000ms;
  std::vector<std::unique_ptr<screener::signals::SignalSink>> sinks;
  sinks.push_back(screener::signals::make_webhook_sink(slow_config, ""));
  sinks.push_back(screener::signals::make_webhook_sink(webhook("fast", quick.port()), ""));
  SinkFanout fanout(std::move(sinks));
  fanout.start();
  const auto begin = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) fanout.dispatch(signal_json("alpha", i));
  CHECK(std::chrono::steady_clock::now() - begin < 500ms);  // dispatch never waits for a sink
  REQUIRE(quick.wait_for(5, 2s));
  CHECK(std::chrono::steady_clock::now() - begin < 1500ms);
  REQUIRE(hung.wait_for(1, 2s));
  CHECK(hung.requests().size() == 1);  // still waiting on its first reply
  const auto stats = fanout.stats();
  CHECK(stats[1].delivered == 5);
  CHECK(stats[0].delivered == 0);
  fanout.stop();
}

TEST_CASE("FanoutRoutesTradersToTheirSinks", "[sinks]") {
  TinyHttpServer a([](std::size_t, const RecordedRequest&) { return CannedReply{}; });
  TinyHttpServer b([](std::size_t, const RecordedRequest&) { return CannedReply{}; });
  std::vector<std::unique_ptr<screener::signals::SignalSink>> sinks;
  sinks.push_back(screener::signals::make_webhook_sink(webhook("a", a.port()), ""));
  sinks.push_back(screener::signals::make_webhook_sink(webhook("b", b.port()), ""));
  SinkFanout fanout(std::move(sinks));
  fanout.set_routes({{"only-b", {"b"}}, {"none", {}}});
  fanout.start();
  fanout.dispatch(signal_json("only-b", 1));
  fanout.dispatch(signal_json("none", 1));
  fanout.dispatch(signal_json("everyone", 1));  // no `sinks` key: every sink
  REQUIRE(b.wait_for(2, 2s));
  REQUIRE(a.wait_for(1, 2s));
  std::this_thread::sleep_for(100ms);
  CHECK(a.requests().size() == 1);
  CHECK(a.requests()[0].body.find("\"everyone\"") != std::string::npos);
  CHECK(b.requests().size() == 2);
  fanout.stop();
}

TEST_CASE("SignalsTargetSelectsTraders", "[sinks]") {
  using screener::signals::parse_signals_target;
  CHECK(parse_signals_target("/signals")->empty());
  CHECK(*parse_signals_target("/signals?trader=a&trader=b") == std::vector<std::string>{"a", "b"});
  CHECK_FALSE(parse_signals_target("/other").has_value());
  CHECK_FALSE(parse_signals_target("/signals?symbol=BTC").has_value());
}

#ifdef SCREENER_HAVE_WS_TEST_CLIENT
TEST_CASE("WebSocketClientReceivesOnlyItsTradersSignals", "[sinks]") {
  SinkConfig config;
  config.name = "ws";
  config.type = SinkConfig::Type::WebSocket;
  config.listen = "127.0.0.1:0";
  config.queue = 1000;
  std::vector<std::unique_ptr<screener::signals::SignalSink>> sinks;
  sinks.push_back(screener::signals::make_websocket_sink(config));
  SinkFanout fanout(std::move(sinks));
  fanout.start();
  const std::uint16_t port = fanout.stats()[0].port;
  REQUIRE(port != 0);
  screener::test::Endpoint endpoint;
  endpoint.port = port;
  screener::test::WsClient x(endpoint, "/signals?trader=X", 3s);
  screener::test::WsClient all(endpoint, "/signals", 3s);
  REQUIRE(eventually([&] { return fanout.stats()[0].clients == 2; }, 3s));
  fanout.dispatch(signal_json("Y", 1));
  fanout.dispatch(signal_json("X", 2));
  std::string message;
  REQUIRE(x.read(message, 3s) == screener::test::WsClient::Read::Message);
  CHECK(message == signal_json("X", 2));
  CHECK(x.read(message, 200ms) == screener::test::WsClient::Read::Timeout);
  REQUIRE(all.read(message, 3s) == screener::test::WsClient::Read::Message);
  CHECK(message == signal_json("Y", 1));
  REQUIRE(all.read(message, 3s) == screener::test::WsClient::Read::Message);
  CHECK(message == signal_json("X", 2));
  // An unknown path is refused.
  CHECK_THROWS(screener::test::WsClient(endpoint, "/nope", 3s));
  fanout.stop();
}

TEST_CASE("SlowWebSocketClientIsDroppedWithAReason", "[sinks]") {
  SinkConfig config;
  config.name = "ws";
  config.type = SinkConfig::Type::WebSocket;
  config.listen = "127.0.0.1:0";
  config.queue = 4;
  std::vector<std::unique_ptr<screener::signals::SignalSink>> sinks;
  sinks.push_back(screener::signals::make_websocket_sink(config));
  SinkFanout fanout(std::move(sinks));
  fanout.start();
  screener::test::Endpoint endpoint;
  endpoint.port = fanout.stats()[0].port;
  screener::test::WsClient lazy(endpoint, "/signals", 3s);
  REQUIRE(eventually([&] { return fanout.stats()[0].clients == 1; }, 3s));
  // Big messages fill the socket buffers while the client does not read; then its queue overflows.
  const std::string padding(256 * 1024, 'p');
  for (int i = 0; i < 200 && fanout.stats()[0].clients_dropped == 0; ++i) {
    fanout.dispatch("{\"id\":\"0000000000000001\",\"trader\":\"X\",\"pad\":\"" + padding + "\"}");
    std::this_thread::sleep_for(5ms);
  }
  REQUIRE(eventually([&] { return fanout.stats()[0].clients_dropped == 1; }, 5s));
  CHECK(lazy.wait_closed(5s));
  fanout.stop();
}
#endif

TEST_CASE("HttpsWebhookTrustingTheTestCaDeliversOnceWithKeyAndBodyIntact", "[sinks][tls]") {
  HttpsHook hook;
  auto sink = screener::signals::make_webhook_sink(hook.config, hook.certificates.ca_pem);
  sink->start();
  const std::string json = signal_json("alpha", 60'000);
  sink->enqueue(std::make_shared<const std::string>(json), "alpha");
  REQUIRE(eventually([&] { return sink->stats().delivered == 1; }, 10s));
  std::this_thread::sleep_for(100ms);  // no further attempt follows a success
  const auto requests = hook.server.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].method == "POST");
  CHECK(requests[0].target == "/hook?token=t");
  CHECK(requests[0].body == json);
  CHECK(requests[0].headers.at("content-type") == "application/json");
  CHECK(requests[0].headers.at("idempotency-key") == screener::format_signal_id(*screener::signal_id_in_json(json)));
  CHECK(requests[0].headers.at("x-source") == "screener");
  CHECK(hook.server.failed_handshakes() == 0);
  CHECK(sink->stats().failed == 0);
  sink->stop();
}

TEST_CASE("HttpsWebhookNotTrustingTheServersCaFailsCertificateVerificationAndDeliversNothing", "[sinks][tls]") {
  HttpsHook hook;
  const CapturedLog log;
  // No CA file: the system store, which does not hold the test CA.
  auto sink = screener::signals::make_webhook_sink(hook.config, "");
  sink->start();
  sink->enqueue(std::make_shared<const std::string>(signal_json("alpha", 60'000)), "alpha");
  REQUIRE(eventually([&] { return sink->stats().failed == 1; }, 10s));
  CHECK(eventually([&] { return hook.server.failed_handshakes() >= 1; }, 5s));
  sink->stop();
  CHECK(hook.server.requests().empty());  // nothing was sent past the handshake
  CHECK(sink->stats().delivered == 0);
  const std::string text = log.text();
  INFO(text);
  CHECK_THAT(text, Catch::Contains("webhook sink 'ops' (https://127.0.0.1:") && Catch::Contains("gave up") &&
                       Catch::Contains("certificate verify failed"));
  CHECK_THAT(text, !Catch::Contains("token=t"));  // the log shows the origin, never the query
}
