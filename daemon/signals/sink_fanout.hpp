// SPDX-License-Identifier: Apache-2.0
#pragma once

// Delivery of signals beyond the record. The signal hub writes each signal once to the JSONL
// file / stdout (the record) and then hands its JSON to the SinkFanout, which enqueues it on
// every sink the signal's trader selects (a trader file's `sinks = [...]`; without the key, every
// sink). Enqueueing never blocks the hub: each sink owns a thread and an io_context, a bounded
// queue, and delivers from there, so a slow or dead sink delays neither the hub, the ingest, nor
// another sink. Sinks are best effort: what they fail to deliver is counted and logged, and the
// record has it anyway.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/screener_config.hpp"

namespace screener::signals {

struct SinkStats {
  std::string name;
  std::string type;                ///< "webhook", "websocket"
  std::uint64_t enqueued = 0;
  std::uint64_t delivered = 0;     ///< webhook: 2xx replies; websocket: messages written to clients
  std::uint64_t failed = 0;        ///< webhook: given up after the retries
  std::uint64_t retries = 0;       ///< webhook: attempts after the first
  std::uint64_t dropped = 0;       ///< queue overflow (oldest dropped), or enqueued after stop
  std::uint64_t queued = 0;        ///< waiting now
  std::uint64_t clients = 0;       ///< websocket: connected clients
  std::uint64_t clients_dropped = 0;  ///< websocket: clients dropped for being too slow
  std::uint16_t port = 0;          ///< websocket: the bound port (useful with port 0)
};

class SignalSink {
 public:
  virtual ~SignalSink() = default;
  [[nodiscard]] virtual const std::string& name() const noexcept = 0;
  /// Starts the sink's thread. Throws std::runtime_error (e.g. a listen address in use).
  virtual void start() = 0;
  /// Stops the thread; what is still queued is dropped (and logged). Idempotent.
  virtual void stop() noexcept = 0;
  /// Queues one signal. Thread-safe, never blocks beyond a short lock.
  virtual void enqueue(std::shared_ptr<const std::string> json, std::string_view trader) = 0;
  [[nodiscard]] virtual SinkStats stats() const = 0;
};

/// The `"trader":"NAME"` member of a signal's JSON (trader names need no escaping).
[[nodiscard]] std::optional<std::string_view> trader_in_json(std::string_view json) noexcept;

class SinkFanout {
 public:
  SinkFanout() = default;
  explicit SinkFanout(std::vector<std::unique_ptr<SignalSink>> sinks);
  ~SinkFanout();
  SinkFanout(const SinkFanout&) = delete;
  SinkFanout& operator=(const SinkFanout&) = delete;

  /// Starts every sink; on failure the started ones are stopped again and the error rethrown.
  void start();
  void stop() noexcept;

  /// The sinks of the traders that name theirs; any other trader goes to every sink. Any thread.
  void set_routes(std::map<std::string, std::vector<std::string>, std::less<>> routes);
  /// Enqueues `json` on the sinks of its trader. Any thread; never blocks beyond short locks.
  void dispatch(std::string_view json);

  [[nodiscard]] bool empty() const noexcept { return sinks_.empty(); }
  [[nodiscard]] std::vector<SinkStats> stats() const;

 private:
  std::vector<std::unique_ptr<SignalSink>> sinks_;
  mutable std::mutex routes_mutex_;
  std::map<std::string, std::vector<std::size_t>, std::less<>> routes_;  ///< trader -> sink indexes
  bool started_ = false;
};

/// Builds the configured sinks (not started). `ca_file` is the [exchange] CA bundle for https://
/// webhooks (empty: the system store). Throws std::runtime_error naming the sink.
[[nodiscard]] std::vector<std::unique_ptr<SignalSink>> make_sinks(const std::vector<config::SinkConfig>& sinks,
                                                                  const std::string& ca_file);

}  // namespace screener::signals
