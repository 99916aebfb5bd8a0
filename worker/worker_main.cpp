// SPDX-License-Identifier: Apache-2.0
// screener-worker: maps the segment read-only, runs the traders the daemon's trader table assigns
// to its index, and sends their signals to screenerd over the socket the table names.
//
// Loop: sleep on the futex word (1 s at most, 20 ms while something waits) -> apply a new trader
// table generation if there is one -> read the journal past the cursor -> evaluate what changed ->
// move signals and a heartbeat through the link. It re-attaches by itself when the daemon
// restarts, and exits non-zero if the daemon does not come back within the attach timeout.

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <expected>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/journal.hpp"
#include "common/segment_reader.hpp"
#include "common/trader_table.hpp"
#include "common/worker_protocol.hpp"
#include "worker/daemon_link.hpp"
#include "worker/engine.hpp"

namespace {

constexpr std::string_view kUsage =
    "usage: screener-worker [--segment NAME] [--index N] [--attach-timeout-ms MS] [--timeframe-wait-ms MS]\n"
    "                       [--state-dir DIR]\n"
    "  --segment NAME           segment to attach to (default: screener)\n"
    "  --index N                this worker's index; screenerd assigns traders by it (default: 0)\n"
    "  --attach-timeout-ms MS   how long to wait for screenerd at start and after a restart (default: 30000)\n"
    "  --timeframe-wait-ms MS   how long an evaluation waits for a higher timeframe's bar to close (default: 2000)\n"
    "  --state-dir DIR          where fired state is kept (default: the directory screenerd publishes)\n";

constexpr std::uint64_t kJournalBatch = 4096;

std::atomic<bool> g_stop{false};

void request_stop(int) { g_stop.store(true); }

struct WorkerOptions {
  screener::shm::ReaderOptions reader;
  unsigned index = 0;
  std::chrono::milliseconds attach_timeout{30000};
  std::chrono::milliseconds timeframe_wait{2000};
  std::string state_dir;
};

unsigned long parse_number(std::string_view text, std::string_view flag) {
  unsigned long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) {
    std::fprintf(stderr, "screener-worker: %.*s expects a non-negative integer, got '%.*s'\n",
                 static_cast<int>(flag.size()), flag.data(), static_cast<int>(text.size()), text.data());
    std::exit(2);
  }
  return value;
}

WorkerOptions parse_arguments(int argc, char** argv) {
  WorkerOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--segment" && has_value) {
      options.reader.name = argv[++i];
    } else if (arg == "--index" && has_value) {
      options.index = static_cast<unsigned>(parse_number(argv[++i], arg));
    } else if (arg == "--attach-timeout-ms" && has_value) {
      options.attach_timeout = std::chrono::milliseconds(parse_number(argv[++i], arg));
    } else if (arg == "--timeframe-wait-ms" && has_value) {
      options.timeframe_wait = std::chrono::milliseconds(parse_number(argv[++i], arg));
    } else if (arg == "--state-dir" && has_value) {
      options.state_dir = argv[++i];
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage.data(), stdout);
      std::exit(0);
    } else {
      std::fprintf(stderr, "screener-worker: unknown argument '%s'\n%s", argv[i], kUsage.data());
      std::exit(2);
    }
  }
  return options;
}

/// Signals go to the link once the trader table has named the daemon's socket.
class LinkSink final : public screener::worker::SignalSink {
 public:
  void emit(std::uint64_t id, std::string json) override {
    if (link_) link_->send_signal(id, std::move(json));
  }
  screener::worker::DaemonLink* link() const noexcept { return link_.get(); }

  void connect(const std::string& path, unsigned index, std::uint64_t epoch) {
    if (link_ && path == path_) {
      link_->set_segment_epoch(epoch);
      return;
    }
    path_ = path;
    link_ = std::make_unique<screener::worker::DaemonLink>(screener::worker::LinkOptions{
        .socket_path = path, .worker_index = index, .segment_epoch = epoch});
  }

 private:
  std::string path_;
  std::unique_ptr<screener::worker::DaemonLink> link_;
};

screener::protocol::HeartbeatBody heartbeat(const WorkerOptions& options, const screener::worker::Engine& engine,
                                            std::uint64_t lag, std::size_t pending) {
  const auto& s = engine.stats();
  screener::protocol::HeartbeatBody beat{.worker_index = options.index,
                                           .traders = s.traders,
                                           .trader_generation = s.generation,
                                           .journal_lag = lag,
                                           .evaluations = s.evaluations,
                                           .signals = s.signals,
                                           .suppressed = s.suppressed,
                                           .eval_ns_total = s.eval_ns,
                                           .pending_signals = pending,
                                           .eval_rounds = s.eval_rounds,
                                           .eval_round_ns_total = s.eval_round_ns,
                                           .eval_round_buckets = {}};
  std::copy(s.eval_round_buckets.begin(), s.eval_round_buckets.end(), std::begin(beat.eval_round_buckets));
  return beat;
}

/// SegmentReader::attach() in slices, so that SIGTERM or SIGINT ends the wait for screenerd (e.g.
/// when both are stopped together and the worker is re-attaching): then the last refusal.
std::expected<screener::shm::SegmentReader, screener::shm::SegmentError> attach_unless_stopped(
    const screener::shm::ReaderOptions& options, std::chrono::milliseconds timeout) {
  constexpr std::chrono::milliseconds kSlice{100};
  const auto give_up_at = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(give_up_at - std::chrono::steady_clock::now());
    auto reader = screener::shm::SegmentReader::attach(options, std::clamp(left, std::chrono::milliseconds(0), kSlice));
    if (reader || reader.error().code != screener::shm::SegmentErrc::TimedOut || g_stop.load()) return reader;
    if (left <= kSlice) {  // the last slice's message names its own length: name the whole wait
      const std::string& message = reader.error().message;
      const std::size_t refusal = message.find(": ");
      reader.error().message = fmt::format("gave up attaching after {} ms{}", timeout.count(),
                                           refusal == std::string::npos ? std::string() : message.substr(refusal));
      return reader;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace screener;
  using namespace screener::shm;
  const WorkerOptions options = parse_arguments(argc, argv);
  spdlog::set_default_logger(spdlog::stderr_color_mt("screener-worker"));
  spdlog::set_pattern(fmt::format("[%Y-%m-%d %H:%M:%S.%e] [worker {}] [%l] %v", options.index));
  struct sigaction action{};
  action.sa_handler = request_stop;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  LinkSink sink;
  while (!g_stop.load()) {
    auto reader = attach_unless_stopped(options.reader, options.attach_timeout);
    if (!reader) {
      if (g_stop.load()) break;
      spdlog::error("{}", reader.error().message);
      return 1;
    }
    const SegmentGeometry& g = reader->header().geometry;
    spdlog::info("attached to segment '{}' (epoch {}, writer pid {}): {} symbols x {} intervals x {} bars",
                 options.reader.name, reader->epoch(), reader->header().writer_pid, g.max_symbols,
                 g.interval_count, g.ring_capacity);

    worker::EngineOptions engine_options;
    engine_options.worker_index = options.index;
    engine_options.timeframe_wait = options.timeframe_wait;
    engine_options.state_dir_override = options.state_dir;
    worker::Engine engine(reader->view(), std::move(engine_options), sink);
    JournalCursor cursor = journal_cursor_at_head(reader->view());
    std::uint32_t seen = reader->futex_value();
    std::uint64_t generation = 0;
    std::uint64_t lapped_reported = 0;
    auto last_heartbeat = std::chrono::steady_clock::time_point{};
    auto last_trader_stats = std::chrono::steady_clock::time_point{};
    std::vector<protocol::TraderStatsEntry> trader_stats;
    while (!g_stop.load()) {
      if (const std::uint64_t published = trader_table_generation(reader->view()); published != generation) {
        if (auto table = trader_table_read(reader->view())) {
          generation = table->generation;
          sink.connect(table->socket_path, options.index, reader->epoch());
          engine.apply_table(*table);
          spdlog::info("trader table generation {}: {} of {} traders are mine", generation, engine.trader_count(),
                       table->traders.size());
        }
      }
      for (JournalPoll poll = JournalPoll::More; poll == JournalPoll::More;) {
        poll = journal_poll(reader->view(), cursor, kJournalBatch,
                            [&](const JournalEntry& entry) noexcept { engine.note(entry); });
        if (poll == JournalPoll::Lapped) engine.note_lapped();
      }
      if (cursor.lapped != lapped_reported) {
        spdlog::warn("fell a whole journal behind ({} times); rescanned every ring", cursor.lapped);
        lapped_reported = cursor.lapped;
      }
      engine.process();

      worker::DaemonLink* link = sink.link();
      if (link != nullptr) {
        link->service();
        if (std::chrono::steady_clock::now() - last_heartbeat >= std::chrono::seconds(1)) {
          const std::uint64_t head = load_acquire(&reader->view().header()->journal_head);
          link->send_heartbeat(heartbeat(options, engine, head - cursor.next, link->pending()));
          last_heartbeat = std::chrono::steady_clock::now();
        }
        if (std::chrono::steady_clock::now() - last_trader_stats >= std::chrono::seconds(2)) {
          trader_stats.clear();
          for (const worker::TraderCounters& t : engine.trader_stats())
            trader_stats.push_back(protocol::TraderStatsEntry{.table_index = t.table_index,
                                                              .reserved = 0,
                                                              .evaluations = t.evaluations,
                                                              .signals = t.signals,
                                                              .suppressed = t.suppressed});
          link->send_trader_stats(engine.stats().generation, trader_stats);
          last_trader_stats = std::chrono::steady_clock::now();
        }
      }
      if (link != nullptr && link->wants_write()) {
        // The socket's queue is full: wait for room there instead of for the next publish (a
        // futex cannot be polled with a socket), briefly, so a publish meanwhile is not kept long.
        pollfd room{link->fd(), POLLOUT, 0};
        ::poll(&room, 1, 1);
        continue;
      }
      const bool busy = engine.waiting() || (link != nullptr && link->pending() > 0);
      const WaitOutcome outcome =
          reader->wait_for_publish(seen, busy ? std::chrono::milliseconds(20) : std::chrono::milliseconds(1000));
      if (outcome == WaitOutcome::WriterGone) {
        spdlog::warn("writer {}: re-attaching", to_string(reader->writer_status()));
        break;
      }
    }
  }
  if (sink.link() != nullptr) sink.link()->service();
  spdlog::info("stopping");
  return 0;
}
