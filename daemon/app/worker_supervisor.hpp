// SPDX-License-Identifier: Apache-2.0
#pragma once

// `screenerd --spawn-workers N`: screenerd itself runs the workers, for machines without systemd
// and for the demo. Under systemd, screener-worker@<i>.service instances do this job instead.
//
// Each worker is `screener-worker --segment NAME --index i`, started with posix_spawn(3) once
// the segment is READY. Its log goes to screenerd's stderr (its stdout too: screenerd's stdout
// carries only the signals). A worker that exits while screenerd runs is logged with its status
// and started again after a backoff: 1 s, doubling to 30 s, back to 1 s once a worker has run
// for 60 s. Exits are seen through SIGCHLD on the io_context (a signal_set); only the pids this
// supervisor started are reaped.

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace screener::app {

struct WorkerSupervisorOptions {
  std::string binary;   ///< screener-worker to run; empty: the one next to /proc/self/exe
  std::string segment;  ///< --segment
  unsigned count = 0;   ///< workers 0 .. count-1 (--index)
  std::chrono::milliseconds backoff_min{1000};
  std::chrono::milliseconds backoff_max{30'000};
  std::chrono::milliseconds healthy_after{60'000};  ///< a run this long resets the backoff
  std::chrono::milliseconds stop_grace{5000};       ///< SIGTERM, then SIGKILL after this long
};

class WorkerSupervisor {
 public:
  /// Throws std::runtime_error if the worker binary cannot be found or is not executable.
  WorkerSupervisor(boost::asio::io_context& io, WorkerSupervisorOptions options);
  /// stop() if it has not run.
  ~WorkerSupervisor();
  WorkerSupervisor(const WorkerSupervisor&) = delete;
  WorkerSupervisor& operator=(const WorkerSupervisor&) = delete;

  /// Starts every worker; call once the segment is READY.
  void start();
  /// SIGTERM to every worker, waits for them at most stop_grace, then SIGKILLs the rest and reaps
  /// them. Blocks the calling (io) thread for that long at most; no restart happens afterwards.
  void stop() noexcept;

  [[nodiscard]] const std::string& binary() const noexcept { return options_.binary; }
  /// Workers running now.
  [[nodiscard]] unsigned running() const noexcept;

 private:
  struct Child {
    unsigned index = 0;
    pid_t pid = -1;  ///< -1: not running (waiting for its restart)
    std::chrono::steady_clock::time_point started;
    std::chrono::milliseconds backoff{0};
    std::unique_ptr<boost::asio::steady_timer> restart;
  };

  void spawn(Child& child);
  void wait_for_sigchld();
  void reap();
  void exited(Child& child, int status);

  boost::asio::io_context& io_;
  WorkerSupervisorOptions options_;
  boost::asio::signal_set sigchld_;
  std::vector<Child> children_;
  bool stopping_ = false;
};

}  // namespace screener::app
