// SPDX-License-Identifier: Apache-2.0
#include "daemon/signals/signal_hub.hpp"

#include "common/log_throttle.hpp"
#include "common/signal_id.hpp"
#include "daemon/signals/jsonl_sink.hpp"
#include "daemon/signals/recent_ids.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <span>
#include <stdexcept>
#include <thread>
#include <utility>

namespace screener::signals {

namespace {

using Clock = std::chrono::steady_clock;

/// How much of the JSONL file's tail is read for written ids on start.
constexpr std::uint64_t kSeedBytes = 64ULL << 20;
constexpr std::chrono::seconds kHelloTimeout{10};
constexpr std::size_t kMaxConnections = 1024;
/// Messages read from one connection per poll round, so that one busy worker cannot starve the
/// others.
constexpr int kReadBudget = 256;
/// Acks waiting for a worker's socket buffer: beyond this the hub stops reading that worker's
/// signals until it takes its acks, and the kernel pushes back on the worker.
constexpr std::size_t kAckBacklogLimit = 4096;

std::string errno_text(int error) { return std::strerror(error); }

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path) {
    throw std::runtime_error(fmt::format("signal socket path '{}' must be 1 to {} bytes long", path,
                                         sizeof address.sun_path - 1));
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

/// Removes a socket file nobody listens on; throws if someone does, or if the path is not a
/// socket (a typo must not delete a file).
void clear_stale_socket(const std::string& path, const sockaddr_un& address) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw std::runtime_error(fmt::format("cannot stat signal socket {}: {}", path, errno_text(errno)));
  }
  if (!S_ISSOCK(st.st_mode)) {
    throw std::runtime_error(fmt::format("signal socket path {} exists and is not a socket", path));
  }
  const int probe = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (probe < 0) throw std::runtime_error(fmt::format("cannot create a socket: {}", errno_text(errno)));
  const int rc = ::connect(probe, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  const int error = errno;
  ::close(probe);
  // EAGAIN: a listener whose backlog is full, which is alive; EPROTOTYPE: a live listener of
  // another socket type. Only a refused connection proves that nobody is there.
  if (rc == 0 || error == EAGAIN || error == EPROTOTYPE) {
    throw std::runtime_error(fmt::format("another process is listening on signal socket {}", path));
  }
  if (error != ECONNREFUSED) {
    throw std::runtime_error(fmt::format("cannot probe signal socket {}: {}", path, errno_text(error)));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw std::runtime_error(fmt::format("cannot remove stale signal socket {}: {}", path, errno_text(errno)));
  }
  spdlog::info("removed stale signal socket {}", path);
}

struct Connection {
  int fd = -1;
  bool hello = false;
  bool closed = false;
  WorkerInfo info;
  Clock::time_point accepted_at;
  std::deque<std::uint64_t> acks;  ///< acks the socket buffer could not take yet
};

}  // namespace

struct SignalHub::Impl {
  // The eventfd lives as long as the hub, so that reopen_sinks() racing with stop() never
  // writes to a closed (and possibly reused) descriptor.
  explicit Impl(SignalHubOptions opts) : options(std::move(opts)), wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (wake < 0) throw std::runtime_error(fmt::format("cannot create an eventfd: {}", errno_text(errno)));
  }
  ~Impl() { ::close(wake); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  SignalHubOptions options;
  std::unique_ptr<JsonlSink> sink;
  std::unique_ptr<RecentIds> recent;
  int wake;
  int listener = -1;
  dev_t socket_dev = 0;
  ino_t socket_ino = 0;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<bool> reopen_requested{false};

  std::atomic<std::uint64_t> signals_written{0};
  std::atomic<std::uint64_t> duplicates{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> write_errors{0};
  std::atomic<std::uint64_t> workers_connected{0};

  // Hub thread only.
  std::vector<Connection> connections;
  bool workers_changed = false;
  Clock::time_point listener_paused_until{};
  LogThrottle protocol_log;
  LogThrottle reject_log;
  LogThrottle write_log;
  LogThrottle stdout_log;
  LogThrottle accept_log;
  std::array<std::byte, protocol::kMaxMessageBytes> buffer{};
  std::array<std::byte, protocol::kMaxMessageBytes> ack_buffer{};
  std::vector<pollfd> fds;

  void start();
  void stop() noexcept;
  void release_socket() noexcept;
  void run() noexcept;
  void poll_round();
  void accept_all();
  void read_messages(Connection& connection);
  void handle_message(Connection& connection, std::span<const std::byte> message);
  void handle_hello(Connection& connection, std::span<const std::byte> message);
  void handle_signals(Connection& connection, std::span<const std::byte> message);
  void handle_signal(Connection& connection, std::uint64_t id, std::string_view json);
  void queue_ack(Connection& connection, std::uint64_t id);
  void flush_acks(Connection& connection) noexcept;
  void close_connection(Connection& connection, std::string_view why, bool warn);
  void sweep_closed();
  void notify_workers();
  void reopen();
  void wake_up() noexcept;
};

void SignalHub::Impl::start() {
  if (thread.joinable() || listener >= 0) throw std::logic_error("SignalHub::start called twice");
  const sockaddr_un address = unix_address(options.socket_path);
  clear_stale_socket(options.socket_path, address);

  recent = std::make_unique<RecentIds>(options.recent_ids);
  if (!options.jsonl_path.empty()) {
    auto seeded = scan_signal_ids(options.jsonl_path, kSeedBytes, [this](std::uint64_t id) { recent->insert(id); });
    if (!seeded) throw std::runtime_error(seeded.error());
    if (*seeded > 0) {
      spdlog::info("signal file {}: {} signal ids already written ({} remembered)", options.jsonl_path, *seeded,
                   recent->size());
    }
  }
  sink = std::make_unique<JsonlSink>(options.jsonl_path, options.write_stdout);

  listener = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listener < 0) {
    const int error = errno;
    release_socket();
    throw std::runtime_error(fmt::format("cannot create the signal socket: {}", errno_text(error)));
  }
  if (::bind(listener, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const int error = errno;
    release_socket();
    throw std::runtime_error(fmt::format("cannot bind signal socket {}: {}", options.socket_path, errno_text(error)));
  }
  struct stat st{};
  if (::stat(options.socket_path.c_str(), &st) == 0) {
    socket_dev = st.st_dev;
    socket_ino = st.st_ino;
  }
  if (::chmod(options.socket_path.c_str(), 0660) != 0 || ::listen(listener, 64) != 0) {
    const int error = errno;
    release_socket();
    throw std::runtime_error(fmt::format("cannot set up signal socket {}: {}", options.socket_path, errno_text(error)));
  }
  spdlog::info("signal hub listening on {}{}{}", options.socket_path,
               options.jsonl_path.empty() ? "" : ", writing " + options.jsonl_path,
               options.write_stdout ? (options.jsonl_path.empty() ? ", writing stdout" : ", copying to stdout") : "");
  stopping.store(false);
  thread = std::thread([this] { run(); });
}

void SignalHub::Impl::release_socket() noexcept {
  if (listener >= 0) {
    ::close(listener);
    listener = -1;
    // Only our own socket file: a hub started since on the same path keeps its.
    struct stat st{};
    if (::lstat(options.socket_path.c_str(), &st) == 0 && st.st_dev == socket_dev && st.st_ino == socket_ino) {
      ::unlink(options.socket_path.c_str());
    }
  }
}

void SignalHub::Impl::stop() noexcept {
  if (thread.joinable()) {
    stopping.store(true);
    wake_up();
    thread.join();
  }
  for (Connection& connection : connections) {
    if (connection.fd >= 0) ::close(connection.fd);
  }
  connections.clear();
  workers_connected.store(0);
  release_socket();
}

void SignalHub::Impl::wake_up() noexcept {
  const std::uint64_t one = 1;
  // Can only fail when the counter is about to overflow, and then a wake-up is pending anyway.
  [[maybe_unused]] const auto written = ::write(wake, &one, sizeof one);
}

void SignalHub::Impl::run() noexcept {
  while (!stopping.load()) {
    try {
      poll_round();
    } catch (const std::exception& error) {
      // Out of memory: keep the channel alive and try again shortly.
      spdlog::error("signal hub: {}", error.what());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

void SignalHub::Impl::poll_round() {
  fds.clear();
  fds.push_back({wake, POLLIN, 0});
  const auto now = Clock::now();
  fds.push_back({listener, static_cast<short>(now >= listener_paused_until ? POLLIN : 0), 0});
  int timeout_ms = 1000;
  for (const Connection& connection : connections) {
    short events = 0;
    if (connection.acks.size() < kAckBacklogLimit) events |= POLLIN;
    if (!connection.acks.empty()) events |= POLLOUT;
    fds.push_back({connection.fd, events, 0});
  }
  if (now < listener_paused_until) timeout_ms = 100;

  const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
  if (ready < 0) {
    if (errno == EINTR) return;
    throw std::runtime_error(fmt::format("poll failed: {}", errno_text(errno)));
  }
  if (fds[0].revents != 0) {
    std::uint64_t count = 0;
    [[maybe_unused]] const auto got = ::read(wake, &count, sizeof count);
    if (stopping.load()) return;
    if (reopen_requested.exchange(false)) reopen();
  }
  // Connections accepted below are polled from the next round on; fds covers the older ones.
  const std::size_t polled = fds.size() - 2;
  for (std::size_t i = 0; i < polled; ++i) {
    Connection& connection = connections[i];
    const short revents = fds[i + 2].revents;
    if (connection.closed || revents == 0) continue;
    if ((revents & POLLOUT) != 0) flush_acks(connection);
    if (!connection.closed && (revents & (POLLIN | POLLHUP | POLLERR)) != 0) read_messages(connection);
    if (!connection.closed) flush_acks(connection);
  }
  if ((fds[1].revents & POLLIN) != 0) accept_all();

  const auto after = Clock::now();
  for (Connection& connection : connections) {
    if (!connection.closed && !connection.hello && after - connection.accepted_at >= kHelloTimeout) {
      close_connection(connection, fmt::format("no Hello within {} s", kHelloTimeout.count()), true);
    }
  }
  sweep_closed();
  if (workers_changed) notify_workers();
}

void SignalHub::Impl::accept_all() {
  for (;;) {
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int error = errno;
      if (error == EAGAIN || error == EWOULDBLOCK) return;
      if (error == EINTR || error == ECONNABORTED) continue;
      // Out of descriptors or memory: the listener stays readable, so stop polling it briefly
      // instead of spinning.
      listener_paused_until = Clock::now() + std::chrono::milliseconds(100);
      if (std::uint64_t suppressed = 0; accept_log.allow(suppressed)) {
        spdlog::error("cannot accept a worker connection on {}: {}{}", options.socket_path, errno_text(error),
                      suppressed_note(suppressed));
      }
      return;
    }
    if (connections.size() >= kMaxConnections) {
      ::close(fd);
      if (std::uint64_t suppressed = 0; accept_log.allow(suppressed)) {
        spdlog::warn("refused a worker connection on {}: already {} connections{}", options.socket_path,
                     kMaxConnections, suppressed_note(suppressed));
      }
      continue;
    }
    Connection connection;
    connection.fd = fd;
    connection.accepted_at = Clock::now();
    connections.push_back(std::move(connection));
  }
}

void SignalHub::Impl::read_messages(Connection& connection) {
  for (int budget = kReadBudget; budget > 0 && !connection.closed; --budget) {
    if (connection.acks.size() >= kAckBacklogLimit) return;
    iovec vector{buffer.data(), buffer.size()};
    msghdr header{};
    header.msg_iov = &vector;
    header.msg_iovlen = 1;
    const ssize_t got = ::recvmsg(connection.fd, &header, MSG_DONTWAIT);
    if (got < 0) {
      const int error = errno;
      if (error == EAGAIN || error == EWOULDBLOCK) return;
      if (error == EINTR) continue;
      close_connection(connection, fmt::format("receive failed: {}", errno_text(error)), error != ECONNRESET);
      return;
    }
    if (got == 0) {
      close_connection(connection, "closed by the worker", false);
      return;
    }
    if ((header.msg_flags & MSG_TRUNC) != 0) {
      close_connection(connection, fmt::format("a message longer than {} bytes", protocol::kMaxMessageBytes), true);
      return;
    }
    handle_message(connection, std::span<const std::byte>(buffer.data(), static_cast<std::size_t>(got)));
  }
}

void SignalHub::Impl::handle_message(Connection& connection, std::span<const std::byte> message) {
  const std::optional<protocol::MessageType> type = protocol::message_type(message);
  if (!type) {
    close_connection(connection, fmt::format("a {}-byte message without the protocol's magic and version {}",
                                             message.size(), protocol::kVersion),
                     true);
    return;
  }
  if (*type == protocol::MessageType::Hello) {
    handle_hello(connection, message);
    return;
  }
  if (!connection.hello) {
    close_connection(connection, fmt::format("message type {} before Hello", static_cast<unsigned>(*type)), true);
    return;
  }
  switch (*type) {
    case protocol::MessageType::Heartbeat: {
      const auto body = protocol::decode_body<protocol::HeartbeatBody>(message);
      if (!body) {
        close_connection(connection, fmt::format("a short Heartbeat ({} bytes)", message.size()), true);
        return;
      }
      if (!options.on_heartbeat) return;
      try {
        options.on_heartbeat(connection.info, *body);
      } catch (const std::exception& error) {
        spdlog::error("signal hub: on_heartbeat failed: {}", error.what());
      }
      return;
    }
    case protocol::MessageType::Signals:
      handle_signals(connection, message);
      return;
    case protocol::MessageType::TraderStats: {
      const auto body = protocol::decode_body<protocol::TraderStatsBody>(message);
      const auto entries = body ? protocol::trader_stats_entries(message, *body) : std::nullopt;
      if (!entries) {
        close_connection(connection, fmt::format("a malformed TraderStats ({} bytes)", message.size()), true);
        return;
      }
      if (!options.on_trader_stats) return;
      try {
        options.on_trader_stats(connection.info, body->trader_generation, *entries);
      } catch (const std::exception& error) {
        spdlog::error("signal hub: on_trader_stats failed: {}", error.what());
      }
      return;
    }
    default:
      close_connection(connection, fmt::format("unexpected message type {}", static_cast<unsigned>(*type)), true);
      return;
  }
}

void SignalHub::Impl::handle_hello(Connection& connection, std::span<const std::byte> message) {
  const auto body = protocol::decode_body<protocol::HelloBody>(message);
  if (!body) {
    close_connection(connection, fmt::format("a short Hello ({} bytes)", message.size()), true);
    return;
  }
  if (connection.hello) {
    close_connection(connection, "a second Hello", true);
    return;
  }
  // A restarted worker can reconnect before the hub has read its old connection's EOF: the
  // newer connection is the live one.
  for (Connection& other : connections) {
    if (&other != &connection && other.hello && !other.closed && other.info.worker_index == body->worker_index) {
      spdlog::warn("worker {}: new connection (pid {}) replaces the previous one (pid {})", body->worker_index,
                   body->pid, other.info.pid);
      close_connection(other, "replaced by a newer connection", false);
    }
  }
  connection.hello = true;
  connection.info.worker_index = body->worker_index;
  connection.info.pid = body->pid;
  connection.info.segment_epoch = body->segment_epoch;
  connection.info.connected_since = std::chrono::system_clock::now();
  workers_connected.fetch_add(1);
  workers_changed = true;
  spdlog::info("worker {} connected (pid {}, segment epoch {})", body->worker_index, body->pid, body->segment_epoch);
}

void SignalHub::Impl::handle_signals(Connection& connection, std::span<const std::byte> message) {
  // The records before a fault are written; the worker sends everything unacked again after it
  // reconnects, and the written ids are acked then without being written twice.
  const bool whole = protocol::for_each_signal(
      message, [&](std::uint64_t id, std::string_view json) { handle_signal(connection, id, json); });
  if (!whole) close_connection(connection, fmt::format("a malformed Signals message ({} bytes)", message.size()), true);
}

void SignalHub::Impl::handle_signal(Connection& connection, std::uint64_t id, std::string_view json) {
  if (recent->contains(id)) {
    duplicates.fetch_add(1, std::memory_order_relaxed);
    queue_ack(connection, id);
    return;
  }
  if (const auto problem = signal_json_problem(id, json)) {
    rejected.fetch_add(1, std::memory_order_relaxed);
    if (std::uint64_t suppressed = 0; reject_log.allow(suppressed)) {
      spdlog::warn("worker {} (pid {}): rejected signal {}: {}: {:.200}{}", connection.info.worker_index,
                   connection.info.pid, format_signal_id(id), *problem, json, suppressed_note(suppressed));
    }
    return;
  }
  const SinkWriteResult result = sink->write(json);
  if (result.record_error != 0) {
    write_errors.fetch_add(1, std::memory_order_relaxed);
    if (std::uint64_t suppressed = 0; write_log.allow(suppressed)) {
      spdlog::error("cannot write signal {} to {}: {}; not acked, the worker will send it again{}",
                    format_signal_id(id), sink->has_file() ? sink->path() : std::string("stdout"),
                    errno_text(result.record_error), suppressed_note(suppressed));
    }
    return;
  }
  if (result.stdout_error != 0) {
    write_errors.fetch_add(1, std::memory_order_relaxed);
    if (std::uint64_t suppressed = 0; stdout_log.allow(suppressed)) {
      spdlog::warn("cannot copy signal {} to stdout: {} (it is in {}){}", format_signal_id(id),
                   errno_text(result.stdout_error), sink->path(), suppressed_note(suppressed));
    }
  }
  recent->insert(id);
  signals_written.fetch_add(1, std::memory_order_relaxed);
  queue_ack(connection, id);
  if (options.on_written) {
    try {
      options.on_written(json);
    } catch (const std::exception& error) {
      spdlog::error("signal hub: on_written failed: {}", error.what());
    }
  }
}

void SignalHub::Impl::queue_ack(Connection& connection, std::uint64_t id) {
  connection.acks.push_back(id);
}

void SignalHub::Impl::flush_acks(Connection& connection) noexcept {
  std::array<std::uint64_t, protocol::kAcksPerMessage> ids;
  while (!connection.acks.empty()) {
    const std::size_t batch = std::min(connection.acks.size(), ids.size());
    std::copy_n(connection.acks.begin(), batch, ids.begin());
    const auto [length, count] = protocol::encode_acks(std::span(ids.data(), batch), ack_buffer);
    const ssize_t sent = ::send(connection.fd, ack_buffer.data(), length, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent < 0) {
      const int error = errno;
      if (error == EINTR) continue;
      if (error == EAGAIN || error == EWOULDBLOCK) return;
      try {
        close_connection(connection, fmt::format("sending an ack failed: {}", errno_text(error)),
                         error != EPIPE && error != ECONNRESET);
      } catch (...) {
        connection.closed = true;
      }
      return;
    }
    connection.acks.erase(connection.acks.begin(), connection.acks.begin() + static_cast<std::ptrdiff_t>(count));
  }
}

void SignalHub::Impl::close_connection(Connection& connection, std::string_view why, bool warn) {
  if (connection.closed) return;
  connection.closed = true;
  if (connection.hello) {
    if (warn) {
      spdlog::warn("worker {} (pid {}): closing its connection: {}", connection.info.worker_index, connection.info.pid,
                   why);
    } else {
      spdlog::info("worker {} (pid {}) disconnected: {}", connection.info.worker_index, connection.info.pid, why);
    }
  } else if (warn) {
    if (std::uint64_t suppressed = 0; protocol_log.allow(suppressed)) {
      spdlog::warn("closing a connection on {} that has not said Hello: {}{}", options.socket_path, why,
                   suppressed_note(suppressed));
    }
  }
}

void SignalHub::Impl::sweep_closed() {
  const auto first_closed = std::stable_partition(connections.begin(), connections.end(),
                                                  [](const Connection& connection) { return !connection.closed; });
  for (auto it = first_closed; it != connections.end(); ++it) {
    ::close(it->fd);
    if (it->hello) {
      workers_connected.fetch_sub(1);
      workers_changed = true;
    }
  }
  connections.erase(first_closed, connections.end());
}

void SignalHub::Impl::notify_workers() {
  workers_changed = false;
  if (!options.on_workers_changed) return;
  std::vector<WorkerInfo> workers;
  for (const Connection& connection : connections) {
    if (connection.hello && !connection.closed) workers.push_back(connection.info);
  }
  std::sort(workers.begin(), workers.end(),
            [](const WorkerInfo& a, const WorkerInfo& b) { return a.worker_index < b.worker_index; });
  try {
    options.on_workers_changed(std::move(workers));
  } catch (const std::exception& error) {
    spdlog::error("signal hub: on_workers_changed failed: {}", error.what());
  }
}

void SignalHub::Impl::reopen() {
  if (!sink->has_file()) return;
  if (auto reopened = sink->reopen(); !reopened) {
    spdlog::error("{}; still writing to the previously opened file", reopened.error());
  } else {
    spdlog::info("reopened signal file {}", sink->path());
  }
}

SignalHub::SignalHub(SignalHubOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

SignalHub::~SignalHub() { stop(); }

void SignalHub::start() {
  try {
    impl_->start();
  } catch (...) {
    impl_->release_socket();
    throw;
  }
}

void SignalHub::stop() noexcept { impl_->stop(); }

void SignalHub::reopen_sinks() noexcept {
  impl_->reopen_requested.store(true);
  impl_->wake_up();
}

SignalHubStats SignalHub::stats() const noexcept {
  return SignalHubStats{
      .signals_written = impl_->signals_written.load(std::memory_order_relaxed),
      .duplicates = impl_->duplicates.load(std::memory_order_relaxed),
      .rejected = impl_->rejected.load(std::memory_order_relaxed),
      .write_errors = impl_->write_errors.load(std::memory_order_relaxed),
      .workers_connected = impl_->workers_connected.load(std::memory_order_relaxed),
  };
}

const std::string& SignalHub::socket_path() const noexcept { return impl_->options.socket_path; }

}  // namespace screener::signals
