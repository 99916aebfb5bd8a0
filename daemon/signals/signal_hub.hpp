// SPDX-License-Identifier: Apache-2.0
#pragma once

// screenerd's end of the worker channel (common/worker_protocol.hpp): a SOCK_SEQPACKET listener
// and one thread that polls it and every worker connection, writes each signal id once to the
// sinks (daemon/signals/jsonl_sink.hpp) and acks it.
//
// Exactly once: an id is acked only after its line is written, and a written id is remembered
// (the last `recent_ids` of them, seeded on start from the tail of the JSONL file), so a resend
// (a worker that reconnected before seeing the ack, a daemon that restarted) is acked again
// without being written again. A signal that cannot be written is not acked: the worker keeps it
// and sends it again later.

#include "common/worker_protocol.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace screener::signals {

/// A connected worker, as its Hello described it.
struct WorkerInfo {
  std::uint32_t worker_index = 0;
  std::uint32_t pid = 0;
  std::uint64_t segment_epoch = 0;
  std::chrono::system_clock::time_point connected_since{};
};

struct SignalHubOptions {
  std::string socket_path;
  std::string jsonl_path;  ///< empty: no file (stdout, if enabled, is then the record)
  bool write_stdout = false;
  std::size_t recent_ids = 1'000'000;  ///< signal ids remembered for de-duplication

  // The callbacks run on the hub thread, so they should be quick (acks wait meanwhile); an
  // exception from one is logged and otherwise ignored.

  /// Called with the connected workers (ordered by index) after every change; not by stop().
  std::function<void(std::vector<WorkerInfo>)> on_workers_changed;
  /// Called for every heartbeat of a worker that has said Hello.
  std::function<void(const WorkerInfo&, const protocol::HeartbeatBody&)> on_heartbeat;
  /// Called for every TraderStats message: one chunk of a worker's per-trader counters, indexed
  /// by the trader table generation it names.
  std::function<void(const WorkerInfo&, std::uint64_t trader_generation,
                     std::span<const protocol::TraderStatsEntry> entries)>
      on_trader_stats;
  /// Called with each new signal's JSON right after its record was written (not for a
  /// duplicate): the hand-off to the other sinks (daemon/signals/sink_fanout.hpp), which must
  /// not block.
  std::function<void(std::string_view json)> on_written;
};

struct SignalHubStats {
  std::uint64_t signals_written = 0;
  std::uint64_t duplicates = 0;    ///< signals acked again without being written again
  std::uint64_t rejected = 0;      ///< signals whose JSON was refused (never acked)
  std::uint64_t write_errors = 0;  ///< failed writes (the record's: signal not acked; stdout copy's)
  std::uint64_t workers_connected = 0;
};

class SignalHub {
 public:
  explicit SignalHub(SignalHubOptions options);
  ~SignalHub();
  SignalHub(const SignalHub&) = delete;
  SignalHub& operator=(const SignalHub&) = delete;

  /// Reads the written ids from the JSONL file, opens the sinks, binds the socket (0660; a stale
  /// socket file is replaced, a live listener is refused) and starts the hub thread. Throws
  /// std::runtime_error naming the path and the error.
  void start();
  /// Stops the thread, closes every connection and removes the socket file. Idempotent.
  void stop() noexcept;
  /// Asks the hub thread to reopen the JSONL file (logrotate); safe from any thread, and from a
  /// signal handler's thread as it only sets a flag and writes an eventfd.
  void reopen_sinks() noexcept;

  [[nodiscard]] SignalHubStats stats() const noexcept;
  [[nodiscard]] const std::string& socket_path() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace screener::signals
