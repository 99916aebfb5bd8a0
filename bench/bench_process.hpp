// SPDX-License-Identifier: Apache-2.0
#pragma once

// Process plumbing of the benchmarks that run on a real segment with a forked, read-only reader
// process (segment_bench, ingest_bench):
//
//   * cleanup: once cleanup_on_signal() knows the segment, SIGINT/SIGTERM and fail() kill the
//     reader process and remove the segment and its lock file
//   * pin_to_cpu / reader_cpu, sleep_ns, mono_ns, PaceRng (pacing jitter), build_description
//   * ReaderProcess<Control>: a MAP_SHARED control page, fork, wait for the reader to attach, its
//     scheduler state from /proc/<pid>/stat, stop, kill/wait in the destructor. The benchmark
//     brings its own Control struct and what the reader does once attached.
//
// Messages are prefixed with the name given to set_program_name() (first thing in main).

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <new>
#include <string>

#include "bench/bench_stats.hpp"
#include "common/clock.hpp"
#include "common/segment_name.hpp"
#include "common/segment_reader.hpp"
#include "common/segment_writer.hpp"

#ifndef SCREENER_BUILD_TYPE
#define SCREENER_BUILD_TYPE "unknown"
#endif

namespace screener::bench {

namespace process_detail {
inline const char* program = "bench";  // message prefix
// For the signal handler: what to remove if the run is interrupted.
inline char segment_path[256];
inline char lock_path[256];
inline volatile pid_t child = 0;
}  // namespace process_detail

extern "C" inline void screener_bench_on_signal(int signo) {
  using namespace process_detail;
  if (child > 0) kill(child, SIGKILL);
  if (segment_path[0] != '\0') unlink(segment_path);
  if (lock_path[0] != '\0') unlink(lock_path);
  _exit(128 + signo);
}

inline void set_program_name(const char* name) noexcept { process_detail::program = name; }

/// From here on SIGINT/SIGTERM (and fail()) kill the reader process, remove the segment and its
/// lock file, and exit.
inline void cleanup_on_signal(const shm::SegmentName& name) {
  std::snprintf(process_detail::segment_path, sizeof process_detail::segment_path, "%s", name.file_path.c_str());
  std::snprintf(process_detail::lock_path, sizeof process_detail::lock_path, "%s", name.lock_path.c_str());
  std::signal(SIGINT, screener_bench_on_signal);
  std::signal(SIGTERM, screener_bench_on_signal);
}

/// The lock file outlives SegmentWriter: removed at the end of a run (or when create failed).
inline void unlink_lock_file() { unlink(process_detail::lock_path); }

[[noreturn]] inline void fail(const std::string& why) {
  std::fprintf(stderr, "%s: %s\n", process_detail::program, why.c_str());
  screener_bench_on_signal(0);  // kills the reader, removes the segment, exits
  std::abort();
}

inline void pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0)
    std::fprintf(stderr, "%s: sched_setaffinity(cpu %d): %s\n", process_detail::program, cpu, std::strerror(errno));
}

/// CPU 1 for the reader process when there are two, the writer being on CPU 0.
inline int reader_cpu() { return sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? 1 : 0; }

inline void sleep_ns(std::int64_t ns) {
  timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR) {
  }
}

/// CLOCK_MONOTONIC ns: the same clock in both processes.
[[nodiscard]] inline std::int64_t mono_ns() noexcept { return static_cast<std::int64_t>(monotonic_ns()); }

/// "<build type> GCC <version>, NDEBUG|assertions on".
[[nodiscard]] inline std::string build_description() {
  return fmt::format("{} GCC {}, {}", SCREENER_BUILD_TYPE, __VERSION__,
#ifdef NDEBUG
                     "NDEBUG"
#else
                     "assertions on"
#endif
  );
}

/// xorshift64*: pacing jitter, so paced publishes do not phase-lock with periodic system activity.
struct PaceRng {
  std::uint64_t state = 0x9E3779B97F4A7C15ULL;
  std::uint64_t next() noexcept {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545F4914F6CDD1DULL;
  }
  double unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// A gap uniform in 0.5x..1.5x `mean_us`, in ns.
  std::int64_t gap_ns(std::uint32_t mean_us) noexcept {
    return static_cast<std::int64_t>(static_cast<double>(mean_us) * 1000.0 * (0.5 + unit()));
  }
};

/// Runs nothing: the default setup of ReaderProcess.
struct NoSetup {
  template <class Control>
  void operator()(Control&) const noexcept {}
};

/// A forked, read-only reader process and the page it shares with the writer.
///
/// `Control` is the benchmark's own struct, placed at the start of a zero-filled MAP_SHARED |
/// MAP_ANONYMOUS page mapped before fork and followed by `capacity` std::int64_t. Lock-free
/// std::atomic loads/stores only: std::atomic::wait/notify would not work across processes. It has
///   std::atomic<std::uint32_t> ready, stop; std::atomic<std::int32_t> error (reader-side failure,
///   0 = none); std::atomic<std::uint64_t> ack (what the reader has handled); std::uint64_t
///   capacity; std::int64_t* latency (set here: the array after the struct, at the same address in
///   both processes); static constexpr const char* kAckUnit (what one ack counts, for messages).
template <class Control>
class ReaderProcess {
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free && std::atomic<std::uint32_t>::is_always_lock_free &&
                std::atomic<std::int32_t>::is_always_lock_free);

 public:
  /// Maps the page, runs `setup(control)` here, forks, and waits up to 5 s for the reader to attach.
  /// The child resets SIGINT/SIGTERM, pins itself to reader_cpu() if `pin`, attaches read-only,
  /// reads the futex word, marks itself ready and runs `body(SegmentReader&, Control&, seen)`, seen
  /// being that futex value; it exits when body returns.
  template <class Body, class Setup = NoSetup>
  ReaderProcess(const shm::SegmentWriter& writer, std::uint64_t capacity, bool pin, Body&& body, Setup&& setup = {})
      : shared_(capacity) {
    setup(*shared_.control);
    std::fflush(nullptr);
    pid_ = fork();
    if (pid_ < 0) fail(fmt::format("fork: {}", std::strerror(errno)));
    if (pid_ == 0) reader_main(writer.name().name, shared_.control, pin, body);
    process_detail::child = pid_;
    const std::int64_t give_up = now_ns() + 5'000'000'000;
    while (shared_.control->ready.load(std::memory_order_acquire) == 0) {
      if (now_ns() > give_up) fail("reader did not attach within 5 s");
      sleep_ns(1'000'000);
    }
    if (shared_.control->error.load() != 0) fail("reader could not attach");
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid_));
    stat_fd_ = open(path, O_RDONLY | O_CLOEXEC);
  }

  ~ReaderProcess() {
    if (stat_fd_ >= 0) close(stat_fd_);
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      process_detail::child = 0;
    }
  }
  ReaderProcess(const ReaderProcess&) = delete;
  ReaderProcess& operator=(const ReaderProcess&) = delete;

  [[nodiscard]] Control& control() const noexcept { return *shared_.control; }

  /// Waits (sleeping in 20 µs steps) until the reader has acknowledged `count` publishes/frames.
  void wait_ack(std::uint64_t count) const {
    const std::int64_t give_up = now_ns() + 2'000'000'000;
    while (shared_.control->ack.load(std::memory_order_acquire) < count) {
      if (shared_.control->error.load(std::memory_order_relaxed) != 0) fail("reader saw the writer gone");
      if (now_ns() > give_up)
        fail(fmt::format("reader did not acknowledge {} {} within 2 s", Control::kAckUnit, count));
      sleep_ns(20'000);
    }
  }

  /// The reader's scheduler state from /proc/<pid>/stat: 'S' asleep (in FUTEX_WAIT: it sleeps
  /// nowhere else), 'R' running, '?' unknown.
  [[nodiscard]] char state() const {
    if (stat_fd_ < 0) return '?';
    char buffer[512];
    const ssize_t n = pread(stat_fd_, buffer, sizeof buffer - 1, 0);
    if (n <= 0) return '?';
    buffer[n] = '\0';
    const char* paren = std::strrchr(buffer, ')');
    return paren != nullptr && paren[1] == ' ' ? paren[2] : '?';
  }

  /// Until the reader is back in FUTEX_WAIT, polling state() every 5 µs (a few µs each) for at
  /// most `timeout_ns`; whether it is.
  [[nodiscard]] bool wait_asleep(std::int64_t timeout_ns = 100'000'000) const {
    const std::int64_t give_up = now_ns() + timeout_ns;
    while (state() != 'S' && now_ns() < give_up) sleep_ns(5'000);
    return state() == 'S';
  }

  /// Stops the reader: stop flag, then a publish to wake it; waits for it to exit.
  void stop(shm::SegmentWriter& writer) {
    shared_.control->stop.store(1, std::memory_order_release);
    writer.write_ticker(0, shm::Ticker{});
    writer.publish();
    const std::int64_t give_up = now_ns() + 2'000'000'000;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (now_ns() > give_up) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      sleep_ns(1'000'000);
    }
    pid_ = -1;
    process_detail::child = 0;
  }

 private:
  struct SharedPage {
    Control* control = nullptr;
    std::size_t bytes = 0;

    explicit SharedPage(std::uint64_t capacity) {
      bytes = sizeof(Control) + capacity * sizeof(std::int64_t);
      void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) fail(fmt::format("mmap control: {}", std::strerror(errno)));
      control = new (p) Control{};  // zero-filled mapping; placement-new starts the atomics' lifetime
      control->capacity = capacity;
      control->latency = reinterpret_cast<std::int64_t*>(static_cast<char*>(p) + sizeof(Control));
    }
    ~SharedPage() { munmap(control, bytes); }
    SharedPage(const SharedPage&) = delete;
    SharedPage& operator=(const SharedPage&) = delete;
  };

  template <class Body>
  [[noreturn]] static void reader_main(const std::string& name, Control* c, bool pin, Body& body) {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    if (pin) pin_to_cpu(reader_cpu());
    auto reader = shm::SegmentReader::attach(shm::ReaderOptions{.name = name}, std::chrono::milliseconds(2000));
    if (!reader) {
      std::fprintf(stderr, "%s reader: %s\n", process_detail::program, reader.error().message.c_str());
      c->error.store(1, std::memory_order_relaxed);
      c->ready.store(1, std::memory_order_release);
      _exit(1);
    }
    const std::uint32_t seen = reader->futex_value();
    c->ready.store(1, std::memory_order_release);
    body(*reader, *c, seen);
    _exit(0);
  }

  SharedPage shared_;
  pid_t pid_ = -1;
  int stat_fd_ = -1;
};

}  // namespace screener::bench
