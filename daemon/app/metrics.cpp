// SPDX-License-Identifier: Apache-2.0
#include "daemon/app/metrics.hpp"

#include "common/clock.hpp"
#include "common/shm_atomic.hpp"
#include "daemon/net/http_server.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

namespace screener::app {

namespace {

double as_double(std::uint64_t value) { return static_cast<double>(value); }
double as_double(std::int64_t value) { return static_cast<double>(value); }

}  // namespace

std::string render_metrics(const DaemonStats& s, const MetricsExtras& extras) {
  PrometheusWriter w;
  w.counter("screener_frames_total", "WebSocket frames received, by payload type", as_double(s.frames_kline),
            {{"type", "kline"}});
  w.counter("screener_frames_total", "", as_double(s.frames_ticker), {{"type", "ticker"}});
  w.counter("screener_frames_total", "", as_double(s.frames_other), {{"type", "other"}});
  for (std::size_t i = 0; i < s.parse_errors_by_reason.size(); ++i) {
    const auto reason = static_cast<feed::RejectReason>(i);
    if (reason == feed::RejectReason::None) continue;
    w.counter("screener_parse_errors_total", "Frames and REST elements refused, by reason",
              as_double(s.parse_errors_by_reason[i]), {{"reason", feed::to_string(reason)}});
  }
  w.counter("screener_connects_total", "WebSocket connection attempts", as_double(s.connects));
  w.counter("screener_reconnects_total", "WebSocket reconnections after an unexpected loss", as_double(s.reconnects));
  w.counter("screener_rotations_total", "Make-before-break connection replacements", as_double(s.rotations));
  w.counter("screener_closed_bars_total", "Closed bars stored", as_double(s.closed_bars));
  w.counter("screener_backfilled_bars_total", "Closed bars fetched by REST backfill", as_double(s.backfilled_bars));
  w.counter("screener_gaps_detected_total", "Gaps found in the kline rings", as_double(s.gaps_detected));
  w.counter("screener_rest_requests_total", "REST requests sent", as_double(s.rest_requests));
  w.counter("screener_rest_rate_limited_total", "REST replies refusing for rate limits, by status",
            as_double(s.rest_429), {{"status", "429"}});
  w.counter("screener_rest_rate_limited_total", "", as_double(s.rest_418), {{"status", "418"}});
  w.gauge("screener_rest_weight_used", "REST weight used in the current minute", as_double(s.rest_weight_used));
  w.gauge("screener_rest_weight_limit", "screenerd's share of the exchange's REST weight limit",
          as_double(s.rest_weight_limit));
  w.gauge("screener_symbols_active", "Symbols followed", s.symbols_active);
  w.gauge("screener_rings_complete", "Kline rings without gaps", s.rings_complete);
  w.gauge("screener_rings_total", "Kline rings (active symbols x intervals)", s.rings_total);
  std::uint64_t open = 0;
  for (const auto& connection : s.connections) open += connection.open ? 1 : 0;
  w.gauge("screener_connections_open", "Live WebSocket connections", as_double(open));
  w.gauge("screener_segment_bytes", "Size of the shared-memory segment", as_double(extras.segment_bytes));

  w.counter("screener_hub_signals_written_total", "Signals written to the record (JSONL/stdout)",
            as_double(s.signals_written));
  w.counter("screener_hub_duplicates_total", "Signals acked again without being written again",
            as_double(s.signals_duplicates));
  w.counter("screener_hub_rejected_total", "Signals whose JSON was refused", as_double(s.signals_rejected));
  w.counter("screener_hub_write_errors_total", "Failed signal writes", as_double(s.signal_write_errors));
  w.gauge("screener_workers_connected", "Workers connected to the signal hub", as_double(s.workers_connected));
  w.counter("screener_reloads_total", "Trader reloads, by result", as_double(s.reloads_ok), {{"result", "ok"}});
  w.counter("screener_reloads_total", "", as_double(s.reloads_failed), {{"result", "failed"}});

  for (const auto& worker : s.workers) {
    w.gauge("screener_worker_journal_lag", "Journal records a worker is behind", as_double(worker.journal_lag),
            {{"worker", std::to_string(worker.index)}});
  }
  for (const auto& worker : s.workers) {
    w.gauge("screener_worker_connected", "1 while the worker is connected", worker.connected ? 1 : 0,
            {{"worker", std::to_string(worker.index)}});
  }
  for (const auto& worker : s.workers) {
    w.counter("screener_worker_evaluations_total", "Rule evaluations a worker made", as_double(worker.evaluations),
              {{"worker", std::to_string(worker.index)}});
  }
  for (const auto& worker : s.workers) {
    w.counter("screener_worker_eval_seconds_total", "Time a worker spent evaluating",
              static_cast<double>(worker.eval_ns_total) / 1e9, {{"worker", std::to_string(worker.index)}});
  }
  for (const auto& worker : s.workers) {
    w.gauge("screener_worker_pending_signals", "Signals a worker has not had acked yet",
            as_double(worker.pending_signals), {{"worker", std::to_string(worker.index)}});
  }
  for (const auto& trader : s.traders) {
    w.counter("screener_signals_total", "Signals written, by trader", as_double(trader.signals),
              {{"trader", trader.name}});
  }
  for (const auto& trader : s.traders) {
    w.counter("screener_signals_suppressed_total", "Signals suppressed (cooldown, late policy), by trader",
              as_double(trader.suppressed), {{"trader", trader.name}});
  }
  for (const auto& trader : s.traders) {
    w.counter("screener_trader_evaluations_total", "Rule evaluations, by trader", as_double(trader.evaluations),
              {{"trader", trader.name}});
  }

  // Families that only apply to one type of sink ("failed" for webhooks, "clients" for the
  // WebSocket endpoint) name that type in `only`.
  const auto sink_family = [&](std::string_view name, std::string_view help, bool counter, auto field,
                               std::string_view only = {}) {
    for (const auto& sink : extras.sinks) {
      if (!only.empty() && sink.type != only) continue;
      const Labels labels{{"sink", sink.name}, {"type", sink.type}};
      if (counter) w.counter(name, help, as_double(field(sink)), labels);
      else w.gauge(name, help, as_double(field(sink)), labels);
    }
  };
  sink_family("screener_sink_delivered_total", "Signals a sink delivered", true,
              [](const signals::SinkStats& k) { return k.delivered; });
  sink_family("screener_sink_failed_total", "Signals a webhook sink gave up on after its retries", true,
              [](const signals::SinkStats& k) { return k.failed; }, "webhook");
  sink_family("screener_sink_retries_total", "Webhook attempts after the first", true,
              [](const signals::SinkStats& k) { return k.retries; }, "webhook");
  sink_family("screener_sink_dropped_total", "Signals a sink dropped (queue overflow)", true,
              [](const signals::SinkStats& k) { return k.dropped; });
  sink_family("screener_sink_queued", "Signals waiting in a sink", false,
              [](const signals::SinkStats& k) { return k.queued; });
  sink_family("screener_sink_clients", "WebSocket sink clients connected", false,
              [](const signals::SinkStats& k) { return k.clients; }, "websocket");
  sink_family("screener_sink_clients_dropped_total", "WebSocket clients dropped for being too slow", true,
              [](const signals::SinkStats& k) { return k.clients_dropped; }, "websocket");

  if (extras.frame_to_publish_seconds)
    w.histogram("screener_frame_to_publish_seconds", "From a frame's arrival to its publication in the segment",
                *extras.frame_to_publish_seconds);
  if (extras.worker_eval_seconds)
    w.histogram("screener_worker_eval_round_seconds", "Duration of the workers' evaluation rounds (one wake that evaluated)", *extras.worker_eval_seconds);
  w.gauge("screener_stats_updated_seconds", "When these statistics were collected (Unix time)",
          static_cast<double>(s.updated_unix_ms) / 1000.0);
  return w.take();
}

std::optional<std::string> health_problem(const HealthInputs& inputs) {
  if (!inputs.segment_ready) return std::string("the segment is not READY");
  if (inputs.heartbeat_age > inputs.max_heartbeat_age) {
    return fmt::format("the ingest loop's heartbeat is {} ms old (limit {} ms)",
                       std::chrono::duration_cast<std::chrono::milliseconds>(inputs.heartbeat_age).count(),
                       std::chrono::duration_cast<std::chrono::milliseconds>(inputs.max_heartbeat_age).count());
  }
  return std::nullopt;
}

HealthInputs segment_health(const shm::SegmentHeader* header, std::chrono::nanoseconds max_age) noexcept {
  HealthInputs inputs;
  inputs.max_heartbeat_age = max_age;
  inputs.segment_ready = shm::load_acquire(&header->state) == static_cast<std::uint32_t>(shm::SegmentState::Ready);
  const std::uint64_t stamped = shm::load_acquire(&header->heartbeat_ns);
  const std::uint64_t now = monotonic_ns();
  inputs.heartbeat_age = std::chrono::nanoseconds(now > stamped ? static_cast<std::int64_t>(now - stamped) : 0);
  return inputs;
}

struct MetricsService::Impl {
  MetricsServiceOptions options;
  boost::asio::io_context io{1};
  std::shared_ptr<net::HttpServer> server;
  std::thread thread;
  std::mutex mutex;
  std::optional<DaemonStats> latest;
};

MetricsService::MetricsService(MetricsServiceOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  auto server = net::HttpServer::create(impl_->io, impl_->options.listen);
  if (!server) throw std::runtime_error(fmt::format("metrics.listen: {}", server.error()));
  impl_->server = *server;
  Impl* impl = impl_.get();
  impl->server->route("/metrics", [impl] {
    std::optional<DaemonStats> stats;
    {
      const std::lock_guard lock(impl->mutex);
      stats = impl->latest;
    }
    const MetricsExtras extras = impl->options.extras ? impl->options.extras() : MetricsExtras{};
    return net::HttpReply{200, std::string(PrometheusWriter::kContentType),
                          render_metrics(stats.value_or(DaemonStats{}), extras)};
  });
  impl->server->route("/healthz", [impl] {
    const HealthInputs inputs = impl->options.health ? impl->options.health() : HealthInputs{};
    if (auto problem = health_problem(inputs)) return net::HttpReply{503, "text/plain; charset=utf-8", *problem + "\n"};
    return net::HttpReply{200, "text/plain; charset=utf-8", "ok\n"};
  });
  impl->server->start();
  impl->thread = std::thread([impl] {
    auto guard = boost::asio::make_work_guard(impl->io);
    impl->io.run();
  });
  // The bound port, not the configured one: with port 0 the kernel chose it, and tests read it here.
  const auto address = net::parse_listen_address(impl_->options.listen);
  const std::string host = address ? address->host : std::string("?");
  spdlog::info("metrics on http://{}:{}/metrics and /healthz",
               host.find(':') != std::string::npos ? "[" + host + "]" : host, impl_->server->port());
}

MetricsService::~MetricsService() { stop(); }

void MetricsService::publish(DaemonStats stats) {
  const std::lock_guard lock(impl_->mutex);
  impl_->latest = std::move(stats);
}

void MetricsService::stop() noexcept {
  if (!impl_->thread.joinable()) return;
  boost::asio::post(impl_->io, [impl = impl_.get()] {
    impl->server->stop();
    impl->io.stop();
  });
  impl_->thread.join();
}

std::uint16_t MetricsService::port() const noexcept { return impl_->server->port(); }

}  // namespace screener::app
