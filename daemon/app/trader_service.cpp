// SPDX-License-Identifier: Apache-2.0
#include "daemon/app/trader_service.hpp"

#include <chrono>
#include <filesystem>
#include <map>
#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace screener::app {

namespace {

constexpr std::uint64_t kLagWarningRecords = 10'000;

signals::SignalHubOptions hub_options(const config::ScreenerConfig& config) {
  signals::SignalHubOptions options;
  options.socket_path = config.socket_path();
  options.jsonl_path = config.jsonl_path();
  options.write_stdout = config.signals.to_stdout;
  return options;
}

}  // namespace

TraderService::TraderService(boost::asio::io_context& io, shm::SegmentWriter& writer,
                             const config::ScreenerConfig& config)
    : io_(io), writer_(writer), registry_(config), hub_([&] {
        signals::SignalHubOptions options = hub_options(config);
        options.on_workers_changed = [this, alive = std::weak_ptr<bool>(alive_)](
                                         std::vector<signals::WorkerInfo> workers) {
          std::vector<std::uint32_t> indexes;
          for (const signals::WorkerInfo& w : workers) indexes.push_back(w.worker_index);
          boost::asio::post(io_, [this, alive, indexes = std::move(indexes)]() mutable {
            if (alive.expired()) return;
            spdlog::info("workers connected: {}", fmt::join(indexes, ", "));
            workers_ = std::move(indexes);
            publish_table();
          });
        };
        // The hub thread reports each worker's heartbeat; a worker falling behind is worth a line
        // (at most one per worker every 10 s), never a wait: the daemon does not slow down for it.
        options.on_heartbeat = [last_warning = std::map<std::uint32_t, std::chrono::steady_clock::time_point>{}](
                                   const signals::WorkerInfo& worker, const protocol::HeartbeatBody& beat) mutable {
          if (beat.journal_lag < kLagWarningRecords) return;
          auto& last = last_warning[worker.worker_index];
          const auto now = std::chrono::steady_clock::now();
          if (now - last < std::chrono::seconds(10)) return;
          last = now;
          spdlog::warn("worker {} (pid {}) is {} journal records behind; {} signals unacked", worker.worker_index,
                       worker.pid, beat.journal_lag, beat.pending_signals);
        };
        return options;
      }()) {
  // Workers persist fired state here and the JSONL file defaults to it; under systemd
  // StateDirectory= creates it, elsewhere the first start does.
  std::error_code error;
  std::filesystem::create_directories(config.state_dir(), error);
  if (error) spdlog::warn("cannot create the state directory {}: {}", config.state_dir(), error.message());
}

TraderService::~TraderService() { stop(); }

void TraderService::start() {
  auto loaded = registry_.load();
  if (!loaded) throw std::runtime_error(loaded.error());
  spdlog::info("{}", *loaded);
  publish_table();
  hub_.start();
  spdlog::info("workers connect to {}", hub_.socket_path());
}

void TraderService::reload() {
  hub_.reopen_sinks();
  auto loaded = registry_.load();
  if (!loaded) {
    spdlog::error("reload refused, the traders that run now keep running:\n{}", loaded.error());
    return;
  }
  spdlog::info("reloaded: {}", *loaded);
  publish_table();
}

void TraderService::stop() noexcept {
  alive_.reset();
  hub_.stop();
}

void TraderService::publish_table() {
  auto generation = writer_.publish_trader_table(registry_.table(workers_));
  if (!generation) {
    spdlog::error("trader table not published: {}", generation.error());
    return;
  }
  writer_.publish();
  spdlog::info("trader table generation {}: {} traders over {} workers", *generation, registry_.traders().size(),
               workers_.size());
}

}  // namespace screener::app
