// SPDX-License-Identifier: Apache-2.0
// The Prometheus text writer, the tiny HTTP server and screenerd's /metrics and /healthz.
#include <catch2/catch.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <mutex>
#include <set>

#include <thread>

#include "daemon/app/metrics.hpp"
#include "daemon/app/prometheus.hpp"
#include "daemon/net/http_server.hpp"
#include "tests/support/tiny_http.hpp"

using screener::app::Histogram;
using screener::app::PrometheusWriter;

TEST_CASE("PrometheusWriterWritesFamiliesOnceWithLabels", "[metrics]") {
  PrometheusWriter w;
  w.counter("screener_frames_total", "Frames received", 12, {{"type", "kline"}});
  w.counter("screener_frames_total", "Frames received", 3, {{"type", "ticker"}});
  w.gauge("screener_segment_bytes", "Segment size", 4096);
  w.gauge("screener_ratio", "A ratio", 0.25);
  CHECK(w.text() ==
        "# HELP screener_frames_total Frames received\n"
        "# TYPE screener_frames_total counter\n"
        "screener_frames_total{type=\"kline\"} 12\n"
        "screener_frames_total{type=\"ticker\"} 3\n"
        "# HELP screener_segment_bytes Segment size\n"
        "# TYPE screener_segment_bytes gauge\n"
        "screener_segment_bytes 4096\n"
        "# HELP screener_ratio A ratio\n"
        "# TYPE screener_ratio gauge\n"
        "screener_ratio 0.25\n");
}

TEST_CASE("PrometheusWriterEscapesLabelValuesAndHelp", "[metrics]") {
  PrometheusWriter w;
  w.counter("m", "help with \\ and\nnewline", 1, {{"a", "q\"uo\\te\nx"}, {"b", "plain"}});
  CHECK(w.text() ==
        "# HELP m help with \\\\ and\\nnewline\n"
        "# TYPE m counter\n"
        "m{a=\"q\\\"uo\\\\te\\nx\",b=\"plain\"} 1\n");
  CHECK(screener::app::format_sample_value(1.0 / 0.0) == "+Inf");
  CHECK(screener::app::format_sample_value(-2) == "-2");
}

TEST_CASE("HistogramRendersCumulativeBucketsSumAndCount", "[metrics]") {
  Histogram h{0.1, 1.0};
  h.observe(0.05);
  h.observe(0.1);   // on a bound: counted in that bucket (le is "less or equal")
  h.observe(0.5);
  h.observe(7.0);
  PrometheusWriter w;
  w.histogram("lat_seconds", "Latency", h.snapshot(), {{"stage", "publish"}});
  CHECK(w.text() ==
        "# HELP lat_seconds Latency\n"
        "# TYPE lat_seconds histogram\n"
        "lat_seconds_bucket{stage=\"publish\",le=\"0.1\"} 2\n"
        "lat_seconds_bucket{stage=\"publish\",le=\"1\"} 3\n"
        "lat_seconds_bucket{stage=\"publish\",le=\"+Inf\"} 4\n"
        "lat_seconds_sum{stage=\"publish\"} 7.65\n"
        "lat_seconds_count{stage=\"publish\"} 4\n");
}

TEST_CASE("HistogramTakesObservationsFromManyThreads", "[metrics]") {
  Histogram h(Histogram::latency_seconds_buckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) h.observe(0.001);
    });
  for (auto& t : threads) t.join();
  const auto snapshot = h.snapshot();
  CHECK(snapshot.count == 40000);
  CHECK(snapshot.sum == Approx(40.0));
}

TEST_CASE("ListenAddressIsParsedAndCheckedForm", "[metrics]") {
  CHECK(screener::net::parse_listen_address("127.0.0.1:9464")->port == 9464);
  CHECK(screener::net::parse_listen_address("[::1]:0")->host == "::1");
  CHECK_FALSE(screener::net::parse_listen_address("127.0.0.1").has_value());
  CHECK_FALSE(screener::net::parse_listen_address("127.0.0.1:70000").has_value());
  CHECK_FALSE(screener::net::parse_listen_address("::1:80").has_value());
}

TEST_CASE("HttpServerAnswersRoutes404And405WithoutKeepAlive", "[metrics][http]") {
  boost::asio::io_context io;
  auto server = screener::net::HttpServer::create(io, "127.0.0.1:0");
  REQUIRE(server.has_value());
  (*server)->route("/hello", [] { return screener::net::HttpReply{200, "text/plain", "hi\n"}; });
  (*server)->route("/boom", []() -> screener::net::HttpReply { throw std::runtime_error("kaput"); });
  (*server)->start();
  const std::uint16_t port = (*server)->port();
  REQUIRE(port != 0);
  std::thread runner([&] {
    auto guard = boost::asio::make_work_guard(io);
    io.run();
  });
  const auto hello = screener::test::simple_request(port, "GET", "/hello?x=1");
  CHECK(hello.status == 200);
  CHECK(hello.body == "hi\n");
  CHECK(hello.headers.at("connection") == "close");
  CHECK(screener::test::simple_request(port, "GET", "/nope").status == 404);
  const auto post = screener::test::simple_request(port, "POST", "/hello");
  CHECK(post.status == 405);
  CHECK(post.headers.at("allow") == "GET, HEAD");
  CHECK(screener::test::simple_request(port, "GET", "/boom").status == 500);
  // An oversized header is refused (400, or a reset if the close overtakes the reply), not
  // buffered, and the server keeps serving.
  const std::string huge(20000, 'a');
  try {
    CHECK(screener::test::simple_request(port, "GET", "/hello?" + huge).status == 400);
  } catch (const std::runtime_error&) {
  }
  CHECK(screener::test::simple_request(port, "GET", "/hello").status == 200);
  boost::asio::post(io, [&] {
    (*server)->stop();
    io.stop();
  });
  runner.join();
}

TEST_CASE("MetricsServiceServesMetricsAndHealth", "[metrics][http]") {
  bool ready = true;
  std::chrono::nanoseconds age{std::chrono::milliseconds(50)};
  std::mutex mutex;
  screener::app::MetricsServiceOptions options;
  options.listen = "127.0.0.1:0";
  options.health = [&] {
    const std::lock_guard lock(mutex);
    return screener::app::HealthInputs{ready, age, std::chrono::seconds(5)};
  };
  options.extras = [] {
    screener::app::MetricsExtras extras;
    extras.segment_bytes = 123456;
    screener::signals::SinkStats sink;
    sink.name = "ops";
    sink.type = "webhook";
    sink.delivered = 7;
    extras.sinks.push_back(sink);
    return extras;
  };
  screener::app::MetricsService sut(options);
  screener::app::DaemonStats stats;
  stats.frames_kline = 10;
  stats.reconnects = 2;
  stats.backfilled_bars = 99;
  stats.rest_weight_used = 40;
  stats.parse_errors_by_reason[1] = 5;
  screener::app::WorkerStats worker;
  worker.connected = true;
  worker.journal_lag = 17;
  stats.workers.push_back(worker);
  screener::app::TraderStats trader;
  trader.name = "a\"b";
  trader.suppressed = 3;
  trader.signals = 4;
  stats.traders.push_back(trader);
  sut.publish(stats);

  const auto metrics = screener::test::simple_request(sut.port(), "GET", "/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.headers.at("content-type") == "text/plain; version=0.0.4; charset=utf-8");
  const std::string& body = metrics.body;
  CHECK_THAT(body, Catch::Contains("# TYPE screener_frames_total counter\nscreener_frames_total{type=\"kline\"} 10\n"));
  CHECK_THAT(body, Catch::Contains("screener_reconnects_total 2\n"));
  CHECK_THAT(body, Catch::Contains("screener_backfilled_bars_total 99\n"));
  CHECK_THAT(body, Catch::Contains("screener_rest_weight_used 40\n"));
  CHECK_THAT(body, Catch::Contains("} 5\n"));  // the parse error reason
  CHECK_THAT(body, Catch::Contains("screener_worker_journal_lag{worker=\"0\"} 17\n"));
  CHECK_THAT(body, Catch::Contains("screener_signals_total{trader=\"a\\\"b\"} 4\n"));
  CHECK_THAT(body, Catch::Contains("screener_signals_suppressed_total{trader=\"a\\\"b\"} 3\n"));
  CHECK_THAT(body, Catch::Contains("screener_segment_bytes 123456\n"));
  CHECK_THAT(body, Catch::Contains("screener_sink_delivered_total{sink=\"ops\",type=\"webhook\"} 7\n"));
  // Every line is a comment or `name{labels} value`, and each family has one TYPE line.
  std::size_t type_lines = 0;
  std::set<std::string> families;
  for (std::size_t at = 0; at < body.size();) {
    const std::size_t end = body.find('\n', at);
    REQUIRE(end != std::string::npos);
    const std::string line = body.substr(at, end - at);
    at = end + 1;
    if (line.starts_with("# TYPE ")) {
      ++type_lines;
      CHECK(families.insert(line.substr(7, line.find(' ', 7) - 7)).second);
      continue;
    }
    if (line.starts_with("# HELP ")) continue;
    CHECK(line.starts_with("screener_"));
    CHECK(line.find(' ') != std::string::npos);
  }
  CHECK(type_lines == families.size());

  const auto healthy = screener::test::simple_request(sut.port(), "GET", "/healthz");
  CHECK(healthy.status == 200);
  CHECK(healthy.body == "ok\n");
  {
    const std::lock_guard lock(mutex);
    age = std::chrono::seconds(9);
  }
  const auto stale = screener::test::simple_request(sut.port(), "GET", "/healthz");
  CHECK(stale.status == 503);
  CHECK_THAT(stale.body, Catch::Contains("heartbeat is 9000 ms old"));
  {
    const std::lock_guard lock(mutex);
    ready = false;
  }
  CHECK_THAT(screener::test::simple_request(sut.port(), "GET", "/healthz").body, Catch::Contains("not READY"));
  sut.stop();
}
