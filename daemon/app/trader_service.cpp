// SPDX-License-Identifier: Apache-2.0
#include "daemon/app/trader_service.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <stdexcept>

#include <sys/inotify.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace screener::app {

namespace {

constexpr std::uint64_t kLagWarningRecords = 10'000;
/// Changes closer together than this are one reload.
constexpr auto kReloadQuiet = std::chrono::milliseconds(300);

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

struct TraderService::DirectoryWatch {
  explicit DirectoryWatch(boost::asio::io_context& io) : stream(io), quiet(io) {}
  boost::asio::posix::stream_descriptor stream;
  boost::asio::steady_timer quiet;
  std::array<char, 16 * 1024> events{};
};

TraderService::~TraderService() { stop(); }

void TraderService::watch_directory() {
  const std::string& dir = registry_.dir();
  if (dir.empty() || !std::filesystem::is_directory(dir)) return;
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    spdlog::warn("cannot watch {} for changes (inotify_init1: {}); reload with SIGHUP", dir, std::strerror(errno));
    return;
  }
  if (::inotify_add_watch(fd, dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE) < 0) {
    spdlog::warn("cannot watch {} for changes (inotify_add_watch: {}); reload with SIGHUP", dir, std::strerror(errno));
    ::close(fd);
    return;
  }
  watch_ = std::make_unique<DirectoryWatch>(io_);
  watch_->stream.assign(fd);
  read_directory_events();
  spdlog::info("watching {} for trader file changes", dir);
}

void TraderService::read_directory_events() {
  watch_->stream.async_read_some(
      boost::asio::buffer(watch_->events), [this, alive = std::weak_ptr<bool>(alive_)](
                                               const boost::system::error_code& error, std::size_t bytes) {
        if (error || alive.expired()) return;
        bool relevant = false;
        for (std::size_t at = 0; at + sizeof(inotify_event) <= bytes;) {
          inotify_event event{};
          std::memcpy(&event, watch_->events.data() + at, sizeof event);
          const std::string_view name(watch_->events.data() + at + sizeof event,
                                      strnlen(watch_->events.data() + at + sizeof event, event.len));
          // Only trader files count: editors' swap and backup files come and go around a save.
          if (name.ends_with(".toml") && !name.starts_with('.')) relevant = true;
          at += sizeof event + event.len;
        }
        if (relevant) {
          watch_->quiet.expires_after(kReloadQuiet);
          watch_->quiet.async_wait([this, alive](const boost::system::error_code& cancelled) {
            if (cancelled || alive.expired()) return;
            spdlog::info("trader files changed in {}: reloading", registry_.dir());
            reload();
          });
        }
        read_directory_events();
      });
}

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
  if (watch_) {
    boost::system::error_code ignored;
    watch_->quiet.cancel();
    watch_->stream.close(ignored);
  }
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
