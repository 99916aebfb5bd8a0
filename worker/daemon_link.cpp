// SPDX-License-Identifier: Apache-2.0
#include "worker/daemon_link.hpp"

#include "common/signal_id.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>
#include <utility>

namespace screener::worker {

namespace {

constexpr std::chrono::milliseconds kMinBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
/// A non-blocking connect that has not completed by then is abandoned.
constexpr std::chrono::seconds kConnectTimeout{5};
/// Acks read per service() call, to keep each call short.
constexpr int kAckBudget = 4096;

bool would_block(int error) noexcept { return error == EAGAIN || error == EWOULDBLOCK; }

}  // namespace

DaemonLink::DaemonLink(LinkOptions options) : options_(std::move(options)), backoff_(kMinBackoff) {
  if (options_.max_pending == 0) options_.max_pending = 1;
}

DaemonLink::~DaemonLink() {
  if (fd_ >= 0) ::close(fd_);
}

void DaemonLink::send_signal(std::uint64_t id, std::string json) {
  const auto reject = [&](std::string_view problem) {
    ++invalid_;
    if (std::uint64_t suppressed = 0; invalid_log_.allow(suppressed)) {
      spdlog::error("signal {} not sent: {}: {:.200}{}", format_signal_id(id), problem, json,
                    suppressed_note(suppressed));
    }
  };
  if (const auto problem = signal_json_problem(id, json)) return reject(*problem);
  if (json.size() > protocol::kMaxSignalJsonBytes) {
    return reject("the JSON does not fit one message");
  }
  if (seq_by_id_.contains(id)) return;

  if (live_ >= options_.max_pending) {
    pop_dead_front();
    ++dropped_;
    if (std::uint64_t suppressed = 0; drop_log_.allow(suppressed)) {
      spdlog::error("{} signals pending for screenerd at {} ({}): dropped the oldest, {} ({} dropped in all){}",
                    live_, options_.socket_path, fd_ >= 0 ? "connected, no acks" : "not connected",
                    format_signal_id(entries_.front().id), dropped_, suppressed_note(suppressed));
    }
    forget(front_seq_);
  }
  seq_by_id_.emplace(id, front_seq_ + entries_.size());
  try {
    entries_.push_back(Entry{id, std::move(json), true, false});
  } catch (...) {
    seq_by_id_.erase(id);
    throw;
  }
  ++live_;
  if (connected()) flush(Clock::now());
}

void DaemonLink::service() noexcept {
  const auto now = Clock::now();
  if (fd_ < 0) {
    if (now < next_attempt_) return;
    try_connect(now);
  } else if (connecting_) {
    check_connecting(now);
  }
  if (fd_ < 0 || connecting_) return;
  read_acks(now);
  if (fd_ < 0) return;
  resend_if_stalled(now);
  flush(now);
  if (entries_.size() > 2 * live_ + 1024) compact();
}

void DaemonLink::send_heartbeat(const protocol::HeartbeatBody& heartbeat) noexcept {
  if (!connected()) return;
  const std::size_t length = protocol::encode(protocol::MessageType::Heartbeat, heartbeat, buffer_);
  send_message(std::span(buffer_).first(length), Clock::now());
}

void DaemonLink::send_trader_stats(std::uint64_t trader_generation,
                                   std::span<const protocol::TraderStatsEntry> entries) noexcept {
  if (!connected()) return;
  do {
    const std::size_t count = std::min(entries.size(), protocol::kTraderStatsPerMessage);
    const std::size_t length = protocol::encode_trader_stats(trader_generation, entries.first(count), buffer_);
    if (!send_message(std::span(buffer_).first(length), Clock::now())) return;
    entries = entries.subspan(count);
  } while (!entries.empty());
}

void DaemonLink::try_connect(Clock::time_point now) noexcept {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (options_.socket_path.empty() || options_.socket_path.size() >= sizeof address.sun_path) {
    connect_failed(ENAMETOOLONG, now);
    return;
  }
  std::memcpy(address.sun_path, options_.socket_path.c_str(), options_.socket_path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    connect_failed(errno, now);
    return;
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
    fd_ = fd;
    on_connected(now);
    return;
  }
  const int error = errno;
  if (error == EINPROGRESS) {
    fd_ = fd;
    connecting_ = true;
    connected_at_ = now;
    return;
  }
  ::close(fd);
  connect_failed(error, now);
}

void DaemonLink::check_connecting(Clock::time_point now) noexcept {
  pollfd entry{fd_, POLLOUT, 0};
  if (::poll(&entry, 1, 0) <= 0) {
    if (now - connected_at_ >= kConnectTimeout) disconnect("connecting timed out", ETIMEDOUT, now);
    return;
  }
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
  if (error != 0) {
    ::close(fd_);
    fd_ = -1;
    connecting_ = false;
    connect_failed(error, now);
    return;
  }
  connecting_ = false;
  on_connected(now);
}

void DaemonLink::on_connected(Clock::time_point now) noexcept {
  connecting_ = false;
  hello_sent_ = false;
  blocked_ = false;
  acked_on_connection_ = false;
  connected_at_ = now;
  last_progress_ = now;
  last_connect_error_ = 0;
  // Whatever was sent on an earlier connection may not have been written: all of it goes again.
  cursor_seq_ = front_seq_;
  spdlog::info("connected to screenerd at {} as worker {}; {} signals pending", options_.socket_path,
               options_.worker_index, live_);
  flush(now);
}

void DaemonLink::connect_failed(int error, Clock::time_point now) noexcept {
  next_attempt_ = now + backoff_;
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
  // The first failure of a kind is worth a warning; the retries every few seconds are not.
  if (error != last_connect_error_) {
    last_connect_error_ = error;
    spdlog::warn("cannot connect to screenerd at {}: {}; retrying (up to every {} s), {} signals pending",
                 options_.socket_path, std::strerror(error), kMaxBackoff.count() / 1000, live_);
  } else if (std::uint64_t suppressed = 0; connect_log_.allow(suppressed)) {
    spdlog::debug("still cannot connect to screenerd at {}: {}{}", options_.socket_path, std::strerror(error),
                  suppressed_note(suppressed));
  }
}

void DaemonLink::disconnect(const char* why, int error, Clock::time_point now) noexcept {
  ::close(fd_);
  fd_ = -1;
  const bool was_up = !connecting_;
  connecting_ = false;
  hello_sent_ = false;
  blocked_ = false;
  // A connection that worked for a while was ended by a daemon restart: come back quickly. One
  // that ends at once (a daemon refusing us) backs off like a failed connect.
  if (was_up && (acked_on_connection_ || now - connected_at_ >= kMaxBackoff)) backoff_ = kMinBackoff;
  next_attempt_ = now + backoff_;
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
  last_connect_error_ = error;
  spdlog::warn("lost the connection to screenerd at {}: {}{}{}; {} signals pending", options_.socket_path, why,
               error != 0 ? ": " : "", error != 0 ? std::strerror(error) : "", live_);
}

void DaemonLink::read_acks(Clock::time_point now) noexcept {
  for (int budget = kAckBudget; budget > 0; --budget) {
    const ssize_t got = ::recv(fd_, buffer_.data(), buffer_.size(), MSG_DONTWAIT);
    if (got < 0) {
      const int error = errno;
      if (would_block(error)) return;
      if (error == EINTR) continue;
      disconnect("receive failed", error, now);
      return;
    }
    if (got == 0) {
      disconnect("screenerd closed it", 0, now);
      return;
    }
    const std::span<const std::byte> bytes(buffer_.data(), static_cast<std::size_t>(got));
    if (protocol::message_type(bytes) != protocol::MessageType::Acks) continue;
    [[maybe_unused]] const bool whole = protocol::for_each_ack(bytes, [&](std::uint64_t id) {
      // An unknown id was dropped meanwhile, or acked twice (sent again before the first ack).
      const auto found = seq_by_id_.find(id);
      if (found == seq_by_id_.end()) return;
      forget(found->second);
      acked_on_connection_ = true;
      last_progress_ = now;
    });
  }
}

void DaemonLink::resend_if_stalled(Clock::time_point now) noexcept {
  if (!has_outstanding() || now - last_progress_ < options_.resend_after) return;
  if (std::uint64_t suppressed = 0; resend_log_.allow(suppressed)) {
    spdlog::warn("no ack from screenerd for {} ms: sending {} unacked signals again{}",
                 options_.resend_after.count(), live_, suppressed_note(suppressed));
  }
  cursor_seq_ = front_seq_;
  last_progress_ = now;
}

void DaemonLink::flush(Clock::time_point now) noexcept {
  blocked_ = false;
  if (!hello_sent_) {
    const protocol::HelloBody hello{options_.worker_index, static_cast<std::uint32_t>(::getpid()),
                                    options_.segment_epoch};
    const std::size_t length = protocol::encode(protocol::MessageType::Hello, hello, buffer_);
    if (!send_message(std::span(buffer_).first(length), now)) return;
    hello_sent_ = true;
  }
  const std::uint64_t end_seq = front_seq_ + entries_.size();
  protocol::SignalsWriter message(buffer_);
  while (cursor_seq_ < end_seq) {
    // As many live entries as one message holds; the cursor moves past them once it is sent.
    message.clear();
    std::uint64_t next = cursor_seq_;
    for (; next < end_seq; ++next) {
      const Entry& entry = entries_[static_cast<std::size_t>(next - front_seq_)];
      if (entry.live && !message.add(entry.id, entry.json)) break;
    }
    if (message.count() == 0) {
      // Only dead entries, or one that fits no message (send_signal refuses those): step over.
      cursor_seq_ = std::max(next, cursor_seq_ + 1);
      continue;
    }
    // Nothing was outstanding: the wait for an ack starts now, not at the last ack long ago.
    if (!has_outstanding()) last_progress_ = now;
    if (!send_message(message.bytes(), now)) return;
    for (; cursor_seq_ < next; ++cursor_seq_) {
      Entry& entry = entries_[static_cast<std::size_t>(cursor_seq_ - front_seq_)];
      if (!entry.live) continue;
      if (entry.sent_before) ++resent_;
      entry.sent_before = true;
    }
  }
}

bool DaemonLink::send_message(std::span<const std::byte> message, Clock::time_point now) noexcept {
  for (;;) {
    if (::send(fd_, message.data(), message.size(), MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return true;
    const int error = errno;
    if (error == EINTR) continue;
    if (would_block(error)) {
      blocked_ = true;
      return false;
    }
    disconnect("send failed", error, now);
    return false;
  }
}

void DaemonLink::forget(std::uint64_t seq) noexcept {
  Entry& entry = entries_[static_cast<std::size_t>(seq - front_seq_)];
  if (!entry.live) return;
  entry.live = false;
  seq_by_id_.erase(entry.id);
  // Its memory goes now, even if the entry waits in the middle of the queue for a while.
  std::string().swap(entry.json);
  --live_;
  pop_dead_front();
}

void DaemonLink::pop_dead_front() noexcept {
  while (!entries_.empty() && !entries_.front().live) {
    entries_.pop_front();
    ++front_seq_;
  }
  cursor_seq_ = std::max(cursor_seq_, front_seq_);
}

void DaemonLink::compact() noexcept {
  // Acked entries pile up behind an old unacked one (a signal the daemon keeps refusing). The
  // live ones move forward in order, in place (moves and erasing the tail do not allocate), and
  // the cursor stays in front of the same live entry.
  std::size_t kept = 0;
  std::uint64_t cursor = front_seq_;
  for (std::size_t index = 0; index < entries_.size(); ++index) {
    Entry& entry = entries_[index];
    if (!entry.live) continue;
    if (front_seq_ + index < cursor_seq_) ++cursor;
    seq_by_id_.find(entry.id)->second = front_seq_ + kept;
    if (index != kept) entries_[kept] = std::move(entry);
    ++kept;
  }
  entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(kept), entries_.end());
  cursor_seq_ = cursor;
}

}  // namespace screener::worker
