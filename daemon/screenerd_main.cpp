// SPDX-License-Identifier: Apache-2.0
// screenerd: the ingest process and the segment's only writer.
//
// It creates the segment described by the configuration, fills it with the exchange's market
// data (REST backfill, then live WebSocket streams) and publishes every batch to the workers;
// on SIGINT or SIGTERM it marks the segment SHUTDOWN, wakes every worker and removes it.

#include <signal.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <functional>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>

#include "common/segment_writer.hpp"
#include "config/config_error.hpp"
#include "config/screener_config.hpp"
#include "daemon/app/config_report.hpp"
#include "daemon/app/daemon_stats.hpp"
#include "daemon/app/metrics.hpp"
#include "daemon/app/trader_service.hpp"
#include "daemon/traders/trader_registry.hpp"
#include "daemon/app/ingest_service.hpp"
#include "daemon/app/systemd_notify.hpp"
#include "daemon/app/worker_supervisor.hpp"

namespace {

constexpr std::string_view kUsage =
    "usage: screenerd [--config FILE] [--record FILE] [--check-config] [--spawn-workers N [--worker-binary PATH]]\n"
    "  --config FILE    configuration (default: /etc/screener/screener.toml if it exists,\n"
    "                   otherwise built-in defaults)\n"
    "  --record FILE    append every raw WebSocket frame, with its receive time, as JSONL\n"
    "  --check-config   validate the configuration and every trader file, print what would run,\n"
    "                   and exit: 0 if all is valid, 2 otherwise\n"
    "  --spawn-workers N  run N workers (screener-worker --segment NAME --index 0..N-1) as children,\n"
    "                   restarted with a backoff when they exit; for machines without systemd\n"
    "  --worker-binary PATH  the worker to run (default: screener-worker next to screenerd)\n";

struct Arguments {
  std::string config_path;
  std::string record_path;
  bool check_config = false;
  unsigned spawn_workers = 0;
  std::string worker_binary;
};

Arguments parse_arguments(int argc, char** argv) {
  Arguments arguments;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      arguments.config_path = argv[++i];
    } else if (arg == "--record" && i + 1 < argc) {
      arguments.record_path = argv[++i];
    } else if (arg == "--check-config") {
      arguments.check_config = true;
    } else if (arg == "--spawn-workers" && i + 1 < argc) {
      const std::string_view count = argv[++i];
      unsigned n = 0;
      const auto [end, error] = std::from_chars(count.data(), count.data() + count.size(), n);
      if (error != std::errc{} || end != count.data() + count.size() || n > 1024) {
        std::fprintf(stderr, "screenerd: --spawn-workers expects a number from 0 to 1024, got '%s'\n", argv[i]);
        std::exit(2);
      }
      arguments.spawn_workers = n;
    } else if (arg == "--worker-binary" && i + 1 < argc) {
      arguments.worker_binary = argv[++i];
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage.data(), stdout);
      std::exit(0);
    } else {
      std::fprintf(stderr, "screenerd: unknown argument '%s'\n%s", argv[i], kUsage.data());
      std::exit(2);
    }
  }
  return arguments;
}

screener::config::ScreenerConfig load(std::string path) {
  if (path.empty() && access("/etc/screener/screener.toml", R_OK) == 0) path = "/etc/screener/screener.toml";
  if (path.empty()) return screener::config::parse_config("", "<defaults>");
  return screener::config::load_config(path);
}

}  // namespace

int main(int argc, char** argv) {
  // Hold SIGINT/SIGTERM/SIGHUP pending until the io_context's signal_set is in place: a stop
  // requested while the segment is being created or the TLS store loaded must still remove
  // the segment, not kill the process with it left behind.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // A reader of stdout (the signals) that goes away must not kill the daemon: the write fails
  // with EPIPE instead, which the signal hub counts and logs.
  ::signal(SIGPIPE, SIG_IGN);
  // stdout carries the signals, one JSON line each; the log goes to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("screenerd"));
  spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");

  const Arguments arguments = parse_arguments(argc, argv);
  screener::config::ScreenerConfig config;
  try {
    config = load(arguments.config_path);
  } catch (const screener::config::ConfigError& error) {
    std::fprintf(stderr, "screenerd: %s\n", error.what());
    return 2;
  }
  // Traders are validated before anything is created: a broken trader file stops the start here,
  // with every error, and leaves no segment behind.
  screener::traders::TraderRegistry checked_traders(config);
  if (auto traders = checked_traders.load(); !traders) {
    std::fprintf(stderr, "screenerd: %s\n", traders.error().c_str());
    return 2;
  }
  if (arguments.check_config) {
    std::fputs(screener::app::describe_configuration(config, checked_traders).c_str(), stdout);
    return 0;
  }
  std::optional<screener::ingest::Recorder> recorder;
  if (!arguments.record_path.empty()) {
    auto opened = screener::ingest::Recorder::open(arguments.record_path);
    if (!opened) {
      std::fprintf(stderr, "screenerd: %s\n", opened.error().c_str());
      return 2;
    }
    recorder.emplace(std::move(*opened));
  }

  screener::shm::WriterOptions options;
  options.name = config.segment.name;
  options.geometry = config.geometry();
  options.group = config.segment.group;
  auto writer = screener::shm::SegmentWriter::create(options);
  if (!writer) {
    spdlog::error("cannot create the segment: {}", writer.error().message);
    return 1;
  }
  const auto& g = options.geometry;
  spdlog::info("segment {} ready: {} bytes, {} symbols x {} intervals x {} bars, journal {} records, epoch {}",
               writer->name().file_path, writer->size_bytes(), g.max_symbols, g.interval_count, g.ring_capacity,
               g.journal_capacity, writer->epoch());

  boost::asio::io_context io(1);
  int exit_code = 0;
  std::unique_ptr<screener::app::IngestService> ingest;
  std::unique_ptr<screener::app::TraderService> traders;
  std::unique_ptr<screener::app::WorkerSupervisor> workers;
  try {
    ingest = std::make_unique<screener::app::IngestService>(io, *writer, config, std::move(recorder));
    traders = std::make_unique<screener::app::TraderService>(io, *writer, config);
    if (arguments.spawn_workers > 0) {
      workers = std::make_unique<screener::app::WorkerSupervisor>(
          io, screener::app::WorkerSupervisorOptions{.binary = arguments.worker_binary,
                                                     .segment = config.segment.name,
                                                     .count = arguments.spawn_workers});
    }
    traders->start();
    traders->watch_directory();
  } catch (const std::exception& error) {
    spdlog::error("{}", error.what());
    return 2;
  }
  auto status_line = [&] {
    return fmt::format("{} symbols, {} workers connected", ingest->active_symbols(),
                       traders->hub_stats().workers_connected);
  };
  boost::asio::steady_timer status_timer(io);
  std::function<void()> update_status = [&] {
    status_timer.expires_after(std::chrono::seconds(5));
    status_timer.async_wait([&](const boost::system::error_code& error) {
      if (error) return;
      screener::app::systemd::status(status_line());
      update_status();
    });
  };
  // Once a second, every statistic into the segment's status region, for `screenerctl status`.
  const auto started = std::chrono::system_clock::now();
  screener::app::RateMeter frame_rate;
  boost::asio::steady_timer stats_timer(io);
  // GET /metrics and /healthz ([metrics] listen), on their own thread; fed the same statistics.
  std::unique_ptr<screener::app::MetricsService> metrics;
  if (!config.metrics.listen.empty()) {
    try {
      screener::app::MetricsServiceOptions metrics_options;
      metrics_options.listen = config.metrics.listen;
      metrics_options.health = [header = writer->view().header(), limit = config.segment.heartbeat_timeout] {
        return screener::app::segment_health(header, limit);
      };
      // Both are reset after `metrics` below, so the endpoint's thread never reads them dead.
      metrics_options.extras = [&traders, &frame_to_publish = ingest->frame_to_publish(),
                                bytes = writer->size_bytes()] {
        screener::app::MetricsExtras extras;
        extras.segment_bytes = bytes;
        extras.sinks = traders->sink_stats();
        extras.frame_to_publish_seconds = frame_to_publish.snapshot();
        extras.worker_eval_seconds = traders->eval_round_histogram();
        return extras;
      };
      metrics = std::make_unique<screener::app::MetricsService>(std::move(metrics_options));
    } catch (const std::exception& error) {
      spdlog::error("{}", error.what());
      return 2;
    }
  }
  std::function<void()> write_stats = [&] {
    screener::app::DaemonStats stats = screener::app::collect_daemon_stats(*ingest, *traders, started);
    stats.frames_per_second = frame_rate.update(stats.frames_total, std::chrono::steady_clock::now());
    writer->publish_status(screener::app::to_status_snapshot(stats));
    if (metrics) metrics->publish(stats);
    stats_timer.expires_after(std::chrono::seconds(1));
    stats_timer.async_wait([&](const boost::system::error_code& error) {
      if (!error) write_stats();
    });
  };
  write_stats();
  // The segment is READY, the workers' socket open and nothing can fail any more: workers may
  // start, and systemd may start the units ordered after screenerd.service (Type=notify).
  if (workers) workers->start();
  screener::app::systemd::ready(status_line());
  if (screener::app::systemd::enabled()) update_status();
  // Stops the workers first (SIGTERM, at most 5 s), while the hub still takes their signals.
  auto shut_down = [&](std::string_view why) {
    screener::app::systemd::stopping(why);
    status_timer.cancel();
    stats_timer.cancel();
    if (workers) workers->stop();
    traders->stop();
    ingest->stop();
    io.stop();
  };
  boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  std::function<void()> wait_for_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& error, int signal) {
      if (error) return;
      if (signal == SIGHUP) {
        spdlog::info("SIGHUP received: reloading the traders");
        traders->reload();
        return wait_for_signal();
      }
      spdlog::info("{} received: shutting down", strsignal(signal));
      shut_down("shutting down");
    });
  };
  wait_for_signal();
  pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
  ingest->start([&](const std::string& why) {
    spdlog::error("{}", why);
    exit_code = 1;
    shut_down(why);
  });
  io.run();
  workers.reset();
  metrics.reset();  // before the traders and the segment it reads
  traders.reset();
  ingest.reset();
  writer->shutdown();
  spdlog::info("segment {} removed", writer->name().file_path);
  return exit_code;
}
