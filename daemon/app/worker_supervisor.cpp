// SPDX-License-Identifier: Apache-2.0
#include "daemon/app/worker_supervisor.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace screener::app {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::string default_binary() {
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) throw std::runtime_error(fmt::format("--spawn-workers: cannot read /proc/self/exe: {}", error.message()));
  return (self.parent_path() / "screener-worker").string();
}

std::string describe(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    const char* name = ::sigabbrev_np(signal);
    return fmt::format("killed by signal {} (SIG{}){}", signal, name != nullptr ? name : "?",
                       WCOREDUMP(status) ? ", core dumped" : "");
  }
  return fmt::format("ended with wait status {:#x}", status);
}

std::string seconds(milliseconds duration) { return fmt::format("{:.1f} s", static_cast<double>(duration.count()) / 1000); }

}  // namespace

WorkerSupervisor::WorkerSupervisor(boost::asio::io_context& io, WorkerSupervisorOptions options)
    : io_(io), options_(std::move(options)), sigchld_(io, SIGCHLD) {
  if (options_.binary.empty()) options_.binary = default_binary();
  if (::access(options_.binary.c_str(), X_OK) != 0) {
    throw std::runtime_error(fmt::format("--spawn-workers: worker binary {} is not executable: {}", options_.binary,
                                         std::strerror(errno)));
  }
  children_.resize(options_.count);
  for (unsigned i = 0; i < options_.count; ++i) {
    children_[i].index = i;
    children_[i].backoff = options_.backoff_min;
    children_[i].restart = std::make_unique<boost::asio::steady_timer>(io_);
  }
}

WorkerSupervisor::~WorkerSupervisor() { stop(); }

unsigned WorkerSupervisor::running() const noexcept {
  return static_cast<unsigned>(std::ranges::count_if(children_, [](const Child& c) { return c.pid > 0; }));
}

void WorkerSupervisor::start() {
  wait_for_sigchld();
  for (Child& child : children_) spawn(child);
}

void WorkerSupervisor::spawn(Child& child) {
  if (stopping_) return;
  const std::string index = std::to_string(child.index);
  std::vector<std::string> args{options_.binary, "--segment", options_.segment, "--index", index};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawnattr_init(&attributes);
  // The worker's stdout joins its log on stderr: screenerd's stdout carries the signals only.
  ::posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
  // screenerd blocks its stop signals during start-up and ignores SIGPIPE; a worker starts with
  // neither (both would survive the exec).
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int signal : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&defaults, signal);
  ::posix_spawnattr_setsigmask(&attributes, &none);
  ::posix_spawnattr_setsigdefault(&attributes, &defaults);
  ::posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int error = ::posix_spawn(&pid, options_.binary.c_str(), &actions, &attributes, argv.data(), environ);
  ::posix_spawnattr_destroy(&attributes);
  ::posix_spawn_file_actions_destroy(&actions);

  child.started = steady_clock::now();
  if (error != 0) {
    spdlog::error("worker {}: cannot start {}: {}; next attempt in {}", child.index, options_.binary,
                  std::strerror(error), seconds(child.backoff));
    child.pid = -1;
    child.restart->expires_after(child.backoff);
    child.backoff = std::min(child.backoff * 2, options_.backoff_max);
    child.restart->async_wait([this, &child](const boost::system::error_code& cancelled) {
      if (!cancelled) spawn(child);
    });
    return;
  }
  child.pid = pid;
  spdlog::info("worker {} started: pid {} ({} --segment {} --index {})", child.index, pid, options_.binary,
               options_.segment, child.index);
}

void WorkerSupervisor::wait_for_sigchld() {
  sigchld_.async_wait([this](const boost::system::error_code& error, int) {
    if (error || stopping_) return;
    reap();
    wait_for_sigchld();
  });
}

void WorkerSupervisor::reap() {
  // Signals coalesce: one SIGCHLD may stand for several exits. Only our own pids are waited for.
  for (Child& child : children_) {
    if (child.pid <= 0) continue;
    int status = 0;
    const pid_t done = ::waitpid(child.pid, &status, WNOHANG);
    if (done == child.pid) exited(child, status);
  }
}

void WorkerSupervisor::exited(Child& child, int status) {
  const auto ran = std::chrono::duration_cast<milliseconds>(steady_clock::now() - child.started);
  const pid_t pid = child.pid;
  child.pid = -1;
  if (ran >= options_.healthy_after) child.backoff = options_.backoff_min;
  spdlog::warn("worker {} (pid {}) {} after {}; restarting in {}", child.index, pid, describe(status), seconds(ran),
               seconds(child.backoff));
  child.restart->expires_after(child.backoff);
  child.backoff = std::min(child.backoff * 2, options_.backoff_max);
  child.restart->async_wait([this, &child](const boost::system::error_code& cancelled) {
    if (!cancelled) spawn(child);
  });
}

void WorkerSupervisor::stop() noexcept {
  if (stopping_) return;
  stopping_ = true;
  boost::system::error_code ignored;
  sigchld_.cancel(ignored);
  for (Child& child : children_) {
    child.restart->cancel();
    if (child.pid > 0) ::kill(child.pid, SIGTERM);
  }
  const auto deadline = steady_clock::now() + options_.stop_grace;
  auto collect = [&](Child& child, int flags) {
    int status = 0;
    pid_t done;
    do {
      done = ::waitpid(child.pid, &status, flags);
    } while (done < 0 && errno == EINTR);
    if (done == child.pid || (done < 0 && errno == ECHILD)) {
      if (done == child.pid) spdlog::info("worker {} (pid {}) {}", child.index, child.pid, describe(status));
      child.pid = -1;
    }
  };
  while (running() > 0 && steady_clock::now() < deadline) {
    for (Child& child : children_) {
      if (child.pid > 0) collect(child, WNOHANG);
    }
    if (running() > 0) std::this_thread::sleep_for(milliseconds(20));
  }
  for (Child& child : children_) {
    if (child.pid <= 0) continue;
    spdlog::warn("worker {} (pid {}) still running {} after SIGTERM: SIGKILL", child.index, child.pid,
                 seconds(options_.stop_grace));
    ::kill(child.pid, SIGKILL);
    collect(child, 0);
  }
}

}  // namespace screener::app
