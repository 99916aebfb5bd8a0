// SPDX-License-Identifier: Apache-2.0
// screenerd: the ingest process and the segment's only writer.
//
// It creates the segment described by the configuration, keeps its heartbeat and publishes
// what the feeds write into it; on SIGINT or SIGTERM it marks the segment SHUTDOWN, wakes every
// worker and removes it.

#include <signal.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>

#include "common/segment_writer.hpp"
#include "config/config_error.hpp"
#include "config/screener_config.hpp"

namespace {

constexpr std::string_view kUsage =
    "usage: screenerd [--config FILE]\n"
    "  --config FILE   configuration (default: /etc/screener/screener.toml if it exists,\n"
    "                  otherwise built-in defaults)\n";

constexpr long kHeartbeatPeriodNs = 100'000'000;

screener::config::ScreenerConfig load(int argc, char** argv) {
  std::string path;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      path = argv[++i];
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage.data(), stdout);
      std::exit(0);
    } else {
      std::fprintf(stderr, "screenerd: unknown argument '%s'\n%s", argv[i], kUsage.data());
      std::exit(2);
    }
  }
  if (path.empty() && access("/etc/screener/screener.toml", R_OK) == 0) path = "/etc/screener/screener.toml";
  if (path.empty()) return screener::config::parse_config("", "<defaults>");
  return screener::config::load_config(path);
}

}  // namespace

int main(int argc, char** argv) {
  screener::config::ScreenerConfig config;
  try {
    config = load(argc, argv);
  } catch (const screener::config::ConfigError& error) {
    std::fprintf(stderr, "screenerd: %s\n", error.what());
    return 2;
  }

  // Signals are taken synchronously in the main loop, whose tick is also the heartbeat.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

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

  const timespec tick{0, kHeartbeatPeriodNs};
  for (;;) {
    const int signal = sigtimedwait(&signals, nullptr, &tick);
    if (signal == SIGINT || signal == SIGTERM) {
      spdlog::info("{} received: shutting down", strsignal(signal));
      break;
    }
    if (signal == SIGHUP) spdlog::info("SIGHUP received: nothing to reload yet");
    writer->heartbeat();
    writer->publish();
  }
  writer->shutdown();
  spdlog::info("segment {} removed", writer->name().file_path);
  return 0;
}
