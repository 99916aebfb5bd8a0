// SPDX-License-Identifier: Apache-2.0
#include "daemon/app/trader_service.hpp"
#include "daemon/app/eval_round_histogram.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string_view>

#include <sys/inotify.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/app/systemd_notify.hpp"

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

/// The value of `"key":"..."` in a signal's JSON (its escapes left as they are), or empty.
std::string_view json_string_field(std::string_view json, std::string_view key) {
  const std::string pattern = fmt::format("\"{}\":\"", key);
  const std::size_t at = json.find(pattern);
  if (at == std::string_view::npos) return {};
  const std::size_t begin = at + pattern.size();
  for (std::size_t i = begin; i < json.size(); ++i) {
    if (json[i] == '\\') ++i;
    else if (json[i] == '"') return json.substr(begin, i - begin);
  }
  return {};
}

/// The value of `"key":<integer>` in a signal's JSON, or 0.
std::int64_t json_int_field(std::string_view json, std::string_view key) {
  const std::string pattern = fmt::format("\"{}\":", key);
  const std::size_t at = json.find(pattern);
  if (at == std::string_view::npos) return 0;
  std::int64_t value = 0;
  const char* first = json.data() + at + pattern.size();
  std::from_chars(first, json.data() + json.size(), value);
  return value;
}

std::int64_t now_unix_ms() { return unix_ms(std::chrono::system_clock::now()); }

/// The traders that name their sinks; the others go to every sink.
std::map<std::string, std::vector<std::string>, std::less<>> sink_routes(const traders::TraderRegistry& registry) {
  std::map<std::string, std::vector<std::string>, std::less<>> routes;
  for (const traders::LoadedTrader& t : registry.traders())
    if (!t.spec.all_sinks) routes.emplace(t.name, t.spec.sinks);
  return routes;
}

}  // namespace

/// What the status needs from the hub thread and the io thread, under one mutex.
struct TraderService::StatusState {
  struct Worker {
    signals::WorkerInfo info;
    protocol::HeartbeatBody beat{};
    std::int64_t last_heartbeat_unix_ms = 0;
    bool connected = false;
  };
  struct Counters {
    std::uint64_t evaluations = 0;
    std::uint64_t suppressed = 0;
    std::uint64_t worker_signals = 0;
    std::uint64_t signals = 0;
    std::int64_t last_fire_unix_ms = 0;
    std::string last_fire_symbol;
  };

  mutable std::mutex mutex;
  std::map<std::uint32_t, Worker> workers;
  std::uint64_t table_generation = 0;
  std::vector<std::pair<std::string, std::uint32_t>> table;  ///< (name, owner) in table order
  std::map<std::string, Counters, std::less<>> traders;     ///< by name: survives reloads
  std::deque<std::string> recent_signals;
  std::uint64_t reloads_ok = 0;
  std::uint64_t reloads_failed = 0;
  std::int64_t last_reload_unix_ms = 0;
  bool last_reload_ok = true;
  std::string last_reload_error;
  EvalRoundHistogram eval_rounds;

  void workers_changed(const std::vector<signals::WorkerInfo>& connected) {
    const std::lock_guard lock(mutex);
    for (auto& [index, worker] : workers) worker.connected = false;
    for (const signals::WorkerInfo& info : connected) {
      Worker& worker = workers[info.worker_index];
      if (worker.info.pid != info.pid || worker.info.connected_since != info.connected_since) {
        worker.beat = protocol::HeartbeatBody{};
        worker.last_heartbeat_unix_ms = 0;
      }
      worker.info = info;
      worker.connected = true;
    }
    // Keep every connected worker and the most recent of the others, within the status's room.
    while (workers.size() > shm::kStatusMaxWorkers) {
      auto gone = std::find_if(workers.begin(), workers.end(), [](const auto& w) { return !w.second.connected; });
      if (gone == workers.end()) break;
      workers.erase(gone);
    }
  }

  void heartbeat(const signals::WorkerInfo& info, const protocol::HeartbeatBody& beat) {
    const std::lock_guard lock(mutex);
    Worker& worker = workers[info.worker_index];
    worker.info = info;
    worker.beat = beat;
    worker.last_heartbeat_unix_ms = now_unix_ms();
    worker.connected = true;
    eval_rounds.add(info.worker_index, info.pid, beat);
  }

  void trader_stats(std::uint64_t generation, std::span<const protocol::TraderStatsEntry> entries) {
    const std::lock_guard lock(mutex);
    // Indexes of another generation name other traders: the worker sends again on the new one.
    if (generation != table_generation) return;
    for (const protocol::TraderStatsEntry& e : entries) {
      if (e.table_index >= table.size()) continue;
      Counters& counters = traders[table[e.table_index].first];
      counters.evaluations = e.evaluations;
      counters.suppressed = e.suppressed;
      counters.worker_signals = e.signals;
    }
  }

  void signal_written(std::string_view json) {
    const std::string_view trader = json_string_field(json, "trader");
    const std::string_view symbol = json_string_field(json, "symbol");
    const std::int64_t ts = json_int_field(json, "ts");
    const std::lock_guard lock(mutex);
    if (!trader.empty()) {
      auto it = traders.find(trader);
      if (it == traders.end()) it = traders.emplace(std::string(trader), Counters{}).first;
      ++it->second.signals;
      it->second.last_fire_unix_ms = ts != 0 ? ts : now_unix_ms();
      it->second.last_fire_symbol = std::string(symbol);
    }
    recent_signals.emplace_back(json);
    while (recent_signals.size() > shm::kStatusRecentSignals) recent_signals.pop_front();
  }

  void reloaded(bool ok, std::string error) {
    const std::lock_guard lock(mutex);
    ++(ok ? reloads_ok : reloads_failed);
    last_reload_unix_ms = now_unix_ms();
    last_reload_ok = ok;
    last_reload_error = std::move(error);
  }

  void published(std::uint64_t generation, const shm::TraderTableContent& content) {
    const std::lock_guard lock(mutex);
    table_generation = generation;
    table.clear();
    for (const shm::TraderTableItem& item : content.traders) table.emplace_back(item.name, item.owner);
  }
};

TraderService::TraderService(boost::asio::io_context& io, shm::SegmentWriter& writer,
                             const config::ScreenerConfig& config)
    : io_(io),
      writer_(writer),
      status_(std::make_unique<StatusState>()),
      fanout_(std::make_unique<signals::SinkFanout>(signals::make_sinks(config.sinks, config.exchange.ca_file))),
      registry_(config),
      hub_([&] {
        signals::SignalHubOptions options = hub_options(config);
        options.on_workers_changed = [this, alive = std::weak_ptr<bool>(alive_)](
                                         std::vector<signals::WorkerInfo> workers) {
          status_->workers_changed(workers);
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
        options.on_heartbeat = [this, last_warning = std::map<std::uint32_t, std::chrono::steady_clock::time_point>{}](
                                   const signals::WorkerInfo& worker, const protocol::HeartbeatBody& beat) mutable {
          status_->heartbeat(worker, beat);
          if (beat.journal_lag < kLagWarningRecords) return;
          auto& last = last_warning[worker.worker_index];
          const auto now = std::chrono::steady_clock::now();
          if (now - last < std::chrono::seconds(10)) return;
          last = now;
          spdlog::warn("worker {} (pid {}) is {} journal records behind; {} signals unacked", worker.worker_index,
                       worker.pid, beat.journal_lag, beat.pending_signals);
        };
        options.on_trader_stats = [this](const signals::WorkerInfo&, std::uint64_t generation,
                                         std::span<const protocol::TraderStatsEntry> entries) {
          status_->trader_stats(generation, entries);
        };
        // Per-trader signal counts, last fires and the latest lines, for the status.
        // Then on to the sinks ([sinks.*]): enqueued, never waited for.
        options.on_written = [this](std::string_view json) {
          status_->signal_written(json);
          fanout_->dispatch(json);
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
  fanout_->set_routes(sink_routes(registry_));
  fanout_->start();
  hub_.start();
  spdlog::info("workers connect to {}", hub_.socket_path());
}

void TraderService::reload() {
  // `systemctl reload` waits for the READY=1 that follows (no-ops outside systemd).
  systemd::reloading();
  hub_.reopen_sinks();
  auto loaded = registry_.load();
  if (!loaded) {
    spdlog::error("reload refused, the traders that run now keep running:\n{}", loaded.error());
    status_->reloaded(false, loaded.error());
    systemd::ready("reload refused (see the log); the previous traders keep running");
    return;
  }
  spdlog::info("reloaded: {}", *loaded);
  fanout_->set_routes(sink_routes(registry_));
  status_->reloaded(true, {});
  publish_table();
  systemd::ready();
}

void TraderService::stop() noexcept {
  alive_.reset();
  if (watch_) {
    boost::system::error_code ignored;
    watch_->quiet.cancel();
    watch_->stream.close(ignored);
  }
  fanout_->stop();  // the sinks first: nothing waits on them, and their threads end
  hub_.stop();
}

void TraderService::publish_table() {
  const shm::TraderTableContent content = registry_.table(workers_);
  auto generation = writer_.publish_trader_table(content);
  if (!generation) {
    spdlog::error("trader table not published: {}", generation.error());
    return;
  }
  status_->published(*generation, content);
  writer_.publish();
  spdlog::info("trader table generation {}: {} traders over {} workers", *generation, registry_.traders().size(),
               workers_.size());
}

HistogramSnapshot TraderService::eval_round_histogram() const {
  const std::lock_guard lock(status_->mutex);
  return status_->eval_rounds.snapshot();
}

void TraderService::fill_stats(DaemonStats& stats) const {
  const signals::SignalHubStats hub = hub_.stats();
  stats.signals_written = hub.signals_written;
  stats.signals_duplicates = hub.duplicates;
  stats.signals_rejected = hub.rejected;
  stats.signal_write_errors = hub.write_errors;
  stats.workers_connected = hub.workers_connected;
  const std::lock_guard lock(status_->mutex);
  stats.reloads_ok = status_->reloads_ok;
  stats.reloads_failed = status_->reloads_failed;
  stats.last_reload_unix_ms = status_->last_reload_unix_ms;
  stats.last_reload_ok = status_->last_reload_ok;
  stats.last_reload_error = status_->last_reload_error;
  for (const auto& [index, worker] : status_->workers) {
    WorkerStats w;
    w.index = index;
    w.pid = worker.info.pid;
    w.connected = worker.connected;
    w.traders = worker.beat.traders;
    w.table_generation = worker.beat.trader_generation;
    w.journal_lag = worker.beat.journal_lag;
    w.evaluations = worker.beat.evaluations;
    w.signals = worker.beat.signals;
    w.suppressed = worker.beat.suppressed;
    w.eval_ns_total = worker.beat.eval_ns_total;
    w.pending_signals = worker.beat.pending_signals;
    w.last_heartbeat_unix_ms = worker.last_heartbeat_unix_ms;
    w.connected_since_unix_ms = unix_ms(worker.info.connected_since);
    stats.workers.push_back(w);
  }
  for (const auto& [name, owner] : status_->table) {
    TraderStats t;
    t.name = name;
    t.owner = owner;
    if (auto it = status_->traders.find(name); it != status_->traders.end()) {
      t.evaluations = it->second.evaluations;
      t.suppressed = it->second.suppressed;
      t.worker_signals = it->second.worker_signals;
      t.signals = it->second.signals;
      t.last_fire_unix_ms = it->second.last_fire_unix_ms;
      t.last_fire_symbol = it->second.last_fire_symbol;
    }
    stats.traders.push_back(std::move(t));
  }
  stats.recent_signals.assign(status_->recent_signals.begin(), status_->recent_signals.end());
}

}  // namespace screener::app
