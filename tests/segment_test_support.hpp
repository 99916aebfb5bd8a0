// SPDX-License-Identifier: Apache-2.0
#pragma once

// Helpers shared by the segment tests: unique segment names that are always cleaned up, forked
// children that are always reaped (killed on every failure path), pipes with bounded reads, and
// the payload invariants the fuzz tests check on every read.
//
// Nothing here sleeps to synchronise: children talk to the parent over pipes, and the only
// polling loops (waitpid, /proc/<pid>/syscall) are bounded by a deadline and a count.

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/interval.hpp"
#include "common/segment_geometry.hpp"
#include "common/segment_layout.hpp"

namespace screener::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// ------------------------------------------------------------------------------------- names

/// "screener-test-<pid>-<n>": unique per test process and call.
inline std::string unique_segment_name() {
  static std::atomic<unsigned> counter{0};
  return fmt::format("screener-test-{}-{}", getpid(), counter.fetch_add(1));
}

/// Removes /dev/shm/screener-test-<pid>-* files whose test process is gone: what a test killed
/// by a crash or a sanitizer abort could not clean up. Files of live processes are left alone.
inline void remove_stale_test_segments() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm", ec)) {
    const std::string file = entry.path().filename().string();
    constexpr std::string_view kPrefix = "screener-test-";
    if (!file.starts_with(kPrefix)) continue;
    const std::size_t dash = file.find('-', kPrefix.size());
    if (dash == std::string::npos) continue;
    pid_t pid = 0;
    for (std::size_t i = kPrefix.size(); i < dash; ++i) {
      if (file[i] < '0' || file[i] > '9') {
        pid = 0;
        break;
      }
      pid = pid * 10 + (file[i] - '0');
    }
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) std::filesystem::remove(entry.path(), ec);
  }
}

/// Owns a segment name: unlinks the shm object and the writer's lock file when it goes out of
/// scope, whatever state the test left them in.
class ScopedSegmentName {
 public:
  ScopedSegmentName() : name_(unique_segment_name()) {
    static const bool swept = (remove_stale_test_segments(), true);
    (void)swept;
    remove();
  }
  ~ScopedSegmentName() { remove(); }
  ScopedSegmentName(const ScopedSegmentName&) = delete;
  ScopedSegmentName& operator=(const ScopedSegmentName&) = delete;

  [[nodiscard]] const std::string& str() const noexcept { return name_; }
  [[nodiscard]] std::string file_path() const { return "/dev/shm/" + name_; }
  [[nodiscard]] std::string lock_path() const { return "/dev/shm/" + name_ + ".lock"; }

  void remove() const noexcept {
    (void)::unlink(file_path().c_str());
    (void)::unlink(lock_path().c_str());
  }

 private:
  std::string name_;
};

// ------------------------------------------------------------------------------------- geometry

inline constexpr Interval kTestIntervals[] = {Interval::m1, Interval::m5};

/// A small segment: `symbols` symbols x 2 intervals, `capacity` closed bars, `journal` records.
inline shm::SegmentGeometry small_geometry(std::uint32_t symbols = 4, std::uint32_t capacity = 8,
                                           std::uint32_t journal = 256) {
  auto geometry = shm::make_geometry(symbols, kTestIntervals, capacity, journal, 16, 16384);
  if (!geometry) throw std::runtime_error(geometry.error().message);
  return *geometry;
}

// ------------------------------------------------------------------------------------- pipes

/// A pipe whose ends close themselves; reads are bounded by a deadline.
class Pipe {
 public:
  Pipe() {
    std::array<int, 2> fds{};
    if (::pipe2(fds.data(), O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    read_fd_ = fds[0];
    write_fd_ = fds[1];
  }
  ~Pipe() {
    close_read();
    close_write();
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;

  void close_read() noexcept {
    if (read_fd_ >= 0) ::close(std::exchange(read_fd_, -1));
  }
  void close_write() noexcept {
    if (write_fd_ >= 0) ::close(std::exchange(write_fd_, -1));
  }
  [[nodiscard]] int read_fd() const noexcept { return read_fd_; }
  [[nodiscard]] int write_fd() const noexcept { return write_fd_; }

  /// Writes all of `bytes`; false on error. Safe in a forked child.
  bool write_bytes(const void* bytes, std::size_t size) const noexcept {
    const auto* p = static_cast<const char*>(bytes);
    while (size > 0) {
      const ssize_t n = ::write(write_fd_, p, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      p += n;
      size -= static_cast<std::size_t>(n);
    }
    return true;
  }
  template <class T>
  bool send(const T& value) const noexcept {
    static_assert(std::is_trivially_copyable_v<T>);
    return write_bytes(&value, sizeof(T));
  }

  /// Reads exactly `size` bytes before `timeout` ends; false on timeout, EOF or error.
  bool read_bytes(void* bytes, std::size_t size, std::chrono::milliseconds timeout) const noexcept {
    auto* p = static_cast<char*>(bytes);
    const auto deadline = Clock::now() + timeout;
    while (size > 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() < 0) return false;
      pollfd pfd{read_fd_, POLLIN, 0};
      const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()) + 1);
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return false;
      const ssize_t n = ::read(read_fd_, p, size);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      p += n;
      size -= static_cast<std::size_t>(n);
    }
    return true;
  }
  template <class T>
  bool receive(T& value, std::chrono::milliseconds timeout) const noexcept {
    static_assert(std::is_trivially_copyable_v<T>);
    return read_bytes(&value, sizeof(T), timeout);
  }

  /// True once the write end has been closed by everyone (EOF / POLLHUP). Never blocks.
  [[nodiscard]] bool hung_up() const noexcept {
    pollfd pfd{read_fd_, POLLIN, 0};
    return ::poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR)) != 0;
  }

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
};

/// Text of at most 1023 bytes, for error messages sent from a child.
struct Message {
  std::array<char, 1024> text{};
  static Message of(const std::string& s) {
    Message m;
    std::memcpy(m.text.data(), s.data(), std::min(s.size(), m.text.size() - 1));
    return m;
  }
  [[nodiscard]] std::string str() const { return std::string(text.data()); }
};

// ------------------------------------------------------------------------------------- children

/// A forked child running `body`; the child leaves with _exit(body's return value) and never
/// returns into Catch. The parent always reaps it: explicitly through wait_exit(), otherwise
/// the destructor SIGKILLs and reaps it, so a failing REQUIRE cannot leave it running.
class Child {
 public:
  static constexpr int kExceptionExit = 97;

  explicit Child(const std::function<int()>& body) {
    std::fflush(nullptr);  // nothing buffered is written twice
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      // Catch2's fatal-signal handlers would report a child's crash as the parent's test failure;
      // a child's death by signal is for the parent to judge through waitpid.
      for (const int sig : {SIGSEGV, SIGBUS, SIGABRT, SIGILL, SIGFPE, SIGTERM, SIGINT, SIGPIPE})
        ::signal(sig, SIG_DFL);
      const rlimit no_core{0, 0};
      (void)::setrlimit(RLIMIT_CORE, &no_core);
      int code = kExceptionExit;
      try {
        code = body();
      } catch (...) {
      }
      ::_exit(code);
    }
  }
  ~Child() { kill_and_reap(); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] bool reaped() const noexcept { return reaped_; }

  /// Waits at most `timeout` for the child to end (bounded polling of waitpid). On timeout the
  /// child is SIGKILLed and reaped, and the result is false.
  bool wait_exit(std::chrono::milliseconds timeout) noexcept {
    if (reaped_) return true;
    const auto deadline = Clock::now() + timeout;
    for (int polls = 0; polls < 1'000'000; ++polls) {
      const pid_t r = ::waitpid(pid_, &status_, WNOHANG);
      if (r == pid_) {
        reaped_ = true;
        return true;
      }
      if (r < 0 && errno != EINTR) return false;
      if (Clock::now() >= deadline) break;
      std::this_thread::sleep_for(1ms);
    }
    kill_and_reap();
    return false;
  }

  /// SIGKILL and reap, if still running.
  void kill_and_reap() noexcept {
    if (reaped_ || pid_ <= 0) return;
    (void)::kill(pid_, SIGKILL);
    while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }

  [[nodiscard]] bool exited_with(int code) const noexcept {
    return reaped_ && WIFEXITED(status_) && WEXITSTATUS(status_) == code;
  }
  [[nodiscard]] bool killed_by(int sig) const noexcept {
    return reaped_ && WIFSIGNALED(status_) && WTERMSIG(status_) == sig;
  }
  [[nodiscard]] std::string describe() const {
    if (!reaped_) return fmt::format("pid {} not reaped", pid_);
    if (WIFEXITED(status_)) return fmt::format("pid {} exited with {}", pid_, WEXITSTATUS(status_));
    if (WIFSIGNALED(status_)) return fmt::format("pid {} killed by signal {}", pid_, WTERMSIG(status_));
    return fmt::format("pid {} status {:#x}", pid_, status_);
  }

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
};

/// The syscall number `pid` is blocked in, -1 when it is running or unknown.
inline long current_syscall(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/syscall", pid));
  std::string first;
  if (!(in >> first) || first == "running") return -1;
  try {
    return std::stol(first);
  } catch (...) {
    return -1;
  }
}

/// Bounded poll until `pid` sleeps in futex(2) — the proof that a reader is really blocked in
/// FUTEX_WAIT before the parent wakes it. False if it did not get there before `timeout`.
inline bool wait_until_in_futex(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (int polls = 0; polls < 1'000'000 && Clock::now() < deadline; ++polls) {
    if (current_syscall(pid) == SYS_futex) return true;
    std::this_thread::sleep_for(200us);
  }
  return false;
}

// ------------------------------------------------------------------------------------- CPUs

/// The CPUs this process may run on.
inline std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (::sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  return cpus;
}

/// Pins the calling process to `cpus` (no-op when empty); false if the kernel refused.
inline bool pin_to(const std::vector<int>& cpus) {
  if (cpus.empty()) return true;
  cpu_set_t set;
  CPU_ZERO(&set);
  for (const int cpu : cpus) CPU_SET(cpu, &set);
  return ::sched_setaffinity(0, sizeof(set), &set) == 0;
}

// ------------------------------------------------------------------------------------- payloads
//
// Every value the fuzz writers store derives from one integer, so a reader can tell a torn copy
// (words from two different writes) from a consistent one with no other knowledge.

/// Ticker of value v: last_price = v, open_24h = v+1, ..., price_change_pct = v+7, event_time = 7v.
inline shm::Ticker make_ticker(std::int64_t v) {
  const auto d = static_cast<double>(v);
  return shm::Ticker{d, d + 1, d + 2, d + 3, d + 4, d + 5, d + 6, d + 7, 7 * v};
}

inline bool ticker_consistent(const shm::Ticker& t) {
  const double d = t.last_price;
  return t.open_24h == d + 1 && t.high_24h == d + 2 && t.low_24h == d + 3 && t.base_volume_24h == d + 4 &&
         t.quote_volume_24h == d + 5 && t.price_change == d + 6 && t.price_change_pct == d + 7 &&
         t.event_time_ms == 7 * static_cast<std::int64_t>(d);
}

/// Bar number k of a series with period `step_ms`: open_time = (k+1) * step, open = k,
/// high = k+1, ..., taker_buy_quote_volume = k+8 (trades = k+6).
inline shm::Bar make_bar(std::int64_t k, std::int64_t step_ms) {
  const auto d = static_cast<double>(k);
  return shm::Bar{(k + 1) * step_ms, d, d + 1, d + 2, d + 3, d + 4, d + 5, k + 6, d + 7, d + 8};
}

/// The k of a consistent bar, -1 for a torn one.
inline std::int64_t bar_number(const shm::Bar& b, std::int64_t step_ms) {
  if (b.open_time_ms <= 0 || b.open_time_ms % step_ms != 0) return -1;
  const std::int64_t k = b.open_time_ms / step_ms - 1;
  const auto d = static_cast<double>(k);
  const bool ok = b.open == d && b.high == d + 1 && b.low == d + 2 && b.close == d + 3 && b.volume == d + 4 &&
                  b.quote_volume == d + 5 && b.trades == k + 6 && b.taker_buy_base_volume == d + 7 &&
                  b.taker_buy_quote_volume == d + 8;
  return ok ? k : -1;
}

inline constexpr std::int64_t kFormingStepMs = 1'000;
inline constexpr std::int64_t kClosedStepMs = 60'000;

}  // namespace screener::test
