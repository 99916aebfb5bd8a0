// SPDX-License-Identifier: Apache-2.0
// screener-worker: maps the segment read-only, sleeps on its futex word and, on every publish,
// walks the update journal to learn what changed. It re-attaches by itself when the daemon
// restarts, and exits non-zero if the daemon does not come back within the attach timeout.

#include <signal.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/journal.hpp"
#include "common/segment_reader.hpp"

namespace {

constexpr std::string_view kUsage =
    "usage: screener-worker [--segment NAME] [--index N] [--attach-timeout-ms MS]\n"
    "  --segment NAME          segment to attach to (default: screener)\n"
    "  --index N               this worker's index (default: 0)\n"
    "  --attach-timeout-ms MS  how long to wait for screenerd at start and after a restart (default: 30000)\n";

std::atomic<bool> g_stop{false};

void request_stop(int) { g_stop.store(true); }

struct WorkerOptions {
  screener::shm::ReaderOptions reader;
  unsigned index = 0;
  std::chrono::milliseconds attach_timeout{30000};
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

}  // namespace

int main(int argc, char** argv) {
  using namespace screener::shm;
  const WorkerOptions options = parse_arguments(argc, argv);
  spdlog::set_pattern(fmt::format("[%Y-%m-%d %H:%M:%S.%e] [worker {}] [%l] %v", options.index));
  struct sigaction action{};
  action.sa_handler = request_stop;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  while (!g_stop.load()) {
    auto reader = SegmentReader::attach(options.reader, options.attach_timeout);
    if (!reader) {
      spdlog::error("{}", reader.error().message);
      return 1;
    }
    const SegmentGeometry& g = reader->header().geometry;
    spdlog::info("attached to segment '{}' (epoch {}, writer pid {}): {} symbols x {} intervals x {} bars",
                 options.reader.name, reader->epoch(), reader->header().writer_pid, g.max_symbols,
                 g.interval_count, g.ring_capacity);

    JournalCursor cursor = journal_cursor_at_head(reader->view());
    std::uint32_t seen = reader->futex_value();
    std::uint64_t records = 0;
    auto last_report = std::chrono::steady_clock::now();
    while (!g_stop.load()) {
      const WaitOutcome outcome = reader->wait_for_publish(seen, std::chrono::seconds(1));
      if (outcome == WaitOutcome::WriterGone) {
        spdlog::warn("writer {}: re-attaching", to_string(reader->writer_status()));
        break;
      }
      for (JournalPoll poll = JournalPoll::More; poll == JournalPoll::More;) {
        poll = journal_poll(reader->view(), cursor, 4096, [&](const JournalEntry&) noexcept { ++records; });
        if (poll == JournalPoll::Lapped) spdlog::warn("lapped by the journal ({} times)", cursor.lapped);
      }
      if (std::chrono::steady_clock::now() - last_report >= std::chrono::seconds(10)) {
        spdlog::info("{} journal records read, publish sequence {}", records, reader->publish_seq());
        last_report = std::chrono::steady_clock::now();
      }
    }
  }
  spdlog::info("stopping");
  return 0;
}
