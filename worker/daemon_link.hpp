// SPDX-License-Identifier: Apache-2.0
#pragma once

// The worker's end of the signal channel (common/worker_protocol.hpp). It never blocks the
// evaluation loop: signals go into a bounded queue and leave it with non-blocking sends, as many
// to a message as fit, right away and from service(), which the loop calls on every wake-up and
// at least once a second.
//
// A signal is kept until screenerd acks it. After a reconnect every unacked signal is sent again,
// and so is everything unacked when no ack has come for `resend_after` (the daemon could not
// write them); the daemon writes each id once, so resending is always safe.
//
// One thread uses a DaemonLink.

#include "common/log_throttle.hpp"
#include "common/worker_protocol.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <unordered_map>

namespace screener::worker {

struct LinkOptions {
  std::string socket_path;
  std::uint32_t worker_index = 0;
  std::uint64_t segment_epoch = 0;
  std::size_t max_pending = 100'000;  ///< queued + unacked signals kept; beyond, the oldest goes
  /// Unacked signals are sent again when no ack has arrived for this long.
  std::chrono::milliseconds resend_after{5000};
};

class DaemonLink {
 public:
  explicit DaemonLink(LinkOptions options);
  ~DaemonLink();
  DaemonLink(const DaemonLink&) = delete;
  DaemonLink& operator=(const DaemonLink&) = delete;

  /// Queues a signal and, when connected, sends what the socket takes right away. The JSON must
  /// pass signal_json_problem() and fit one message; otherwise it is counted in invalid() and
  /// logged. An id that is still pending is not queued twice. When max_pending signals are
  /// pending, the oldest one is dropped (counted in dropped(), logged).
  void send_signal(std::uint64_t id, std::string json);

  /// Connects (at most one non-blocking attempt per call, retried with a backoff of 100 ms
  /// doubling to 5 s), says Hello on a new connection, reads acks, and sends queued signals until
  /// the socket buffer is full.
  void service() noexcept;

  /// Sends a heartbeat if connected and the socket takes it now; otherwise it is dropped (the
  /// next one follows soon). pending_signals is the caller's: pending() is the value to put there.
  void send_heartbeat(const protocol::HeartbeatBody& heartbeat) noexcept;

  /// Sends per-trader counters in as many TraderStats messages as they need, if connected and
  /// the socket takes them now; otherwise the rest is dropped, like a heartbeat.
  void send_trader_stats(std::uint64_t trader_generation, std::span<const protocol::TraderStatsEntry> entries) noexcept;

  /// The epoch sent in the next Hello (after the worker attached to a new segment).
  void set_segment_epoch(std::uint64_t epoch) noexcept { options_.segment_epoch = epoch; }

  /// Connected and Hello sent.
  [[nodiscard]] bool connected() const noexcept { return fd_ >= 0 && !connecting_ && hello_sent_; }
  /// Signals queued or sent but not acked yet.
  [[nodiscard]] std::size_t pending() const noexcept { return live_; }
  [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_; }
  /// Sends of a signal after its first one (reconnects, missing acks).
  [[nodiscard]] std::uint64_t resent() const noexcept { return resent_; }
  [[nodiscard]] std::uint64_t invalid() const noexcept { return invalid_; }

  /// The socket to poll for POLLIN (acks), and POLLOUT when wants_write(); -1 when there is none.
  [[nodiscard]] int fd() const noexcept { return fd_; }
  /// The last send found the socket buffer full and there is more to send.
  [[nodiscard]] bool wants_write() const noexcept { return fd_ >= 0 && blocked_; }

 private:
  using Clock = std::chrono::steady_clock;

  struct Entry {
    std::uint64_t id;
    std::string json;
    bool live;         ///< false once acked or dropped
    bool sent_before;  ///< sent at least once, on this connection or an earlier one
  };

  void try_connect(Clock::time_point now) noexcept;
  void check_connecting(Clock::time_point now) noexcept;
  void on_connected(Clock::time_point now) noexcept;
  void connect_failed(int error, Clock::time_point now) noexcept;
  void disconnect(const char* why, int error, Clock::time_point now) noexcept;
  void read_acks(Clock::time_point now) noexcept;
  void resend_if_stalled(Clock::time_point now) noexcept;
  void flush(Clock::time_point now) noexcept;
  /// Sends one datagram; false if it was not sent (the socket is full, or the link dropped).
  bool send_message(std::span<const std::byte> message, Clock::time_point now) noexcept;
  void forget(std::uint64_t seq) noexcept;
  void pop_dead_front() noexcept;
  void compact() noexcept;
  [[nodiscard]] bool has_outstanding() const noexcept {
    return !entries_.empty() && front_seq_ < cursor_seq_;
  }

  LinkOptions options_;
  int fd_ = -1;
  bool connecting_ = false;
  bool hello_sent_ = false;
  bool blocked_ = false;
  bool acked_on_connection_ = false;
  Clock::time_point connected_at_{};
  Clock::time_point next_attempt_{};
  Clock::time_point last_progress_{};
  std::chrono::milliseconds backoff_;
  int last_connect_error_ = 0;

  std::deque<Entry> entries_;  ///< oldest first; dead entries leave when they reach the front
  std::uint64_t front_seq_ = 0;   ///< sequence number of entries_.front()
  std::uint64_t cursor_seq_ = 0;  ///< the next entry to send on this connection
  std::unordered_map<std::uint64_t, std::uint64_t> seq_by_id_;  ///< live entries
  std::size_t live_ = 0;

  std::uint64_t dropped_ = 0;
  std::uint64_t resent_ = 0;
  std::uint64_t invalid_ = 0;
  LogThrottle drop_log_;
  LogThrottle invalid_log_;
  LogThrottle connect_log_;
  LogThrottle resend_log_;
  std::array<std::byte, protocol::kMaxMessageBytes> buffer_{};
};

}  // namespace screener::worker
