// SPDX-License-Identifier: Apache-2.0
// The worker -> daemon signal channel: signal ids, the JSONL sink, SignalHub and DaemonLink over
// a real SOCK_SEQPACKET socket in a scratch directory. Every wait has a deadline.

#include "common/signal_id.hpp"
#include "common/worker_protocol.hpp"
#include "daemon/signals/jsonl_sink.hpp"
#include "daemon/signals/recent_ids.hpp"
#include "daemon/signals/signal_hub.hpp"
#include "worker/daemon_link.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using screener::format_signal_id;
using screener::signal_id;
using screener::signals::JsonlSink;
using screener::signals::RecentIds;
using screener::signals::SignalHub;
using screener::signals::SignalHubOptions;
using screener::signals::WorkerInfo;
using screener::test::eventually;
using screener::test::TempDir;
using screener::worker::DaemonLink;
using screener::worker::LinkOptions;
namespace protocol = screener::protocol;

constexpr auto kDeadline = 10s;

std::string json_for(std::uint64_t id, int n = 0) {
  return "{\"id\":\"" + format_signal_id(id) + "\",\"n\":" + std::to_string(n) + "}";
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream file(path);
  for (std::string line; std::getline(file, line);) lines.push_back(line);
  return lines;
}

std::vector<std::uint64_t> ids_in_file(const std::string& path) {
  std::vector<std::uint64_t> ids;
  for (const std::string& line : read_lines(path)) {
    const auto id = screener::signal_id_in_json(line);
    REQUIRE(id.has_value());
    ids.push_back(*id);
  }
  return ids;
}

SignalHubOptions hub_options(const TempDir& dir) {
  SignalHubOptions options;
  options.socket_path = dir.file("hub.sock");
  options.jsonl_path = dir.file("signals.jsonl");
  options.recent_ids = 1000;
  return options;
}

LinkOptions link_options(const TempDir& dir, std::uint32_t index = 0) {
  LinkOptions options;
  options.socket_path = dir.file("hub.sock");
  options.worker_index = index;
  options.segment_epoch = 1;
  options.resend_after = 200ms;
  return options;
}

/// Services the links until `condition` holds or the deadline passes.
template <class Condition>
bool pump(std::initializer_list<DaemonLink*> links, Condition condition,
          std::chrono::milliseconds timeout = kDeadline) {
  return eventually(
      [&] {
        for (DaemonLink* link : links) link->service();
        return condition();
      },
      timeout);
}

/// Services the links for a while, whatever happens.
void pump_for(std::initializer_list<DaemonLink*> links, std::chrono::milliseconds duration) {
  const auto until = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < until) {
    for (DaemonLink* link : links) link->service();
    std::this_thread::sleep_for(10ms);
  }
}

sockaddr_un address_of(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  REQUIRE(path.size() < sizeof address.sun_path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

/// A hand-driven peer: what a broken or hostile worker (or a fake daemon) sends.
class RawSocket {
 public:
  explicit RawSocket(int fd) : fd_(fd) { REQUIRE(fd_ >= 0); }
  static RawSocket connect_to(const std::string& path) {
    RawSocket socket(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    const sockaddr_un address = address_of(path);
    REQUIRE(::connect(socket.fd(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
    return socket;
  }
  static RawSocket listen_on(const std::string& path) {
    RawSocket socket(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    const sockaddr_un address = address_of(path);
    REQUIRE(::bind(socket.fd(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(socket.fd(), 1) == 0);
    return socket;
  }
  RawSocket(RawSocket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ~RawSocket() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  [[nodiscard]] int fd() const { return fd_; }

  void send_bytes(std::span<const std::byte> bytes) const {
    REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  }
  template <class Body>
  void send(protocol::MessageType type, const Body& body) const {
    std::array<std::byte, 128> buffer{};
    send_bytes(std::span(buffer.data(), protocol::encode(type, body, buffer)));
  }
  void send_hello(std::uint32_t index) const {
    send(protocol::MessageType::Hello, protocol::HelloBody{index, static_cast<std::uint32_t>(::getpid()), 1});
  }
  /// Sends a signal unless the socket buffer is full; false then.
  bool try_send_signal(std::uint64_t id, std::string_view json) const {
    std::array<std::byte, protocol::kMaxMessageBytes> buffer{};
    protocol::SignalsWriter message(buffer);
    REQUIRE(message.add(id, json));
    const auto bytes = message.bytes();
    const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent < 0) REQUIRE((errno == EAGAIN || errno == EWOULDBLOCK));
    return sent >= 0;
  }

  enum class Got { Message, Closed, Timeout };
  /// The next datagram, end of stream, or nothing within `timeout`.
  Got receive(std::vector<std::byte>& message, std::chrono::milliseconds timeout) const {
    pollfd entry{fd_, POLLIN, 0};
    if (::poll(&entry, 1, static_cast<int>(timeout.count())) <= 0) return Got::Timeout;
    message.resize(protocol::kMaxMessageBytes);
    const ssize_t got = ::recv(fd_, message.data(), message.size(), MSG_DONTWAIT);
    if (got <= 0) return Got::Closed;
    message.resize(static_cast<std::size_t>(got));
    return Got::Message;
  }
  /// The ids of the next Acks message within `timeout`, if one comes.
  std::optional<std::vector<std::uint64_t>> receive_acks(std::chrono::milliseconds timeout) const {
    std::vector<std::byte> message;
    if (receive(message, timeout) != Got::Message) return std::nullopt;
    REQUIRE(protocol::message_type(message) == protocol::MessageType::Acks);
    std::vector<std::uint64_t> ids;
    REQUIRE(protocol::for_each_ack(message, [&](std::uint64_t id) { ids.push_back(id); }));
    return ids;
  }
  /// Whether the peer closes the connection within `timeout` (messages before that are skipped).
  bool closed_within(std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::vector<std::byte> message;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (receive(message, std::max(left, 1ms)) == Got::Closed) return true;
    }
    return false;
  }

 private:
  int fd_;
};

std::uint64_t reference_fnv1a64(const std::string& bytes) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (const unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

}  // namespace

TEST_CASE("Signal ids are FNV-1a 64 over trader, symbol, interval and open time, as 16 lowercase hex digits") {
  using namespace std::string_literals;
  const std::uint64_t id = signal_id("alice", "BTCUSDT", "1m", 1700000000000);
  CHECK(id == 0x61569fe798836c7eULL);
  CHECK(id == reference_fnv1a64("alice\0BTCUSDT\0"s "1m\0"s "1700000000000"));
  CHECK(signal_id("x", "ETHUSDT", "4h", -60000) == reference_fnv1a64("x\0ETHUSDT\0"s "4h\0"s "-60000"));
  static_assert(signal_id("alice", "BTCUSDT", "1m", 1700000000000) == 0x61569fe798836c7eULL);

  CHECK(format_signal_id(id) == "61569fe798836c7e");
  CHECK(format_signal_id(0) == "0000000000000000");
  CHECK(format_signal_id(0xABCULL) == "0000000000000abc");
  static_assert(screener::parse_signal_id("61569fe798836c7e") == 0x61569fe798836c7eULL);
  CHECK(screener::parse_signal_id(format_signal_id(~0ULL)) == ~0ULL);
  CHECK_FALSE(screener::parse_signal_id("61569FE798836C7E").has_value());
  CHECK_FALSE(screener::parse_signal_id("61569fe798836c7").has_value());

  std::set<std::uint64_t> ids{
      signal_id("alice", "BTCUSDT", "1m", 1700000000000), signal_id("bob", "BTCUSDT", "1m", 1700000000000),
      signal_id("alice", "ETHUSDT", "1m", 1700000000000), signal_id("alice", "BTCUSDT", "5m", 1700000000000),
      signal_id("alice", "BTCUSDT", "1m", 1700000060000), signal_id("alice", "BTCUSDT", "1m", -1700000000000),
      signal_id("alic", "eBTCUSDT", "1m", 1700000000000), signal_id("alice", "BTCUSDT1", "m", 1700000000000),
  };
  CHECK(ids.size() == 8);
}

TEST_CASE("Signal JSON must be one line, an object, and carry the message's id") {
  using screener::signal_json_problem;
  const std::uint64_t id = 0x0123456789abcdefULL;
  CHECK_FALSE(signal_json_problem(id, R"({"id":"0123456789abcdef","symbol":"BTCUSDT"})").has_value());
  CHECK_FALSE(signal_json_problem(id, R"({"trader":"a", "id" : "0123456789abcdef"})").has_value());
  CHECK(signal_json_problem(id, "").has_value());
  CHECK(signal_json_problem(id, R"(["id","0123456789abcdef"])").has_value());
  CHECK(signal_json_problem(id, "{\"id\":\"0123456789abcdef\",\n\"a\":1}").has_value());
  CHECK(signal_json_problem(id, R"({"id":"0123456789abcdef"} )").has_value());
  CHECK(signal_json_problem(id, R"({"symbol":"BTCUSDT"})").has_value());
  CHECK(signal_json_problem(id, R"({"id":"0123456789ABCDEF"})").has_value());
  CHECK(signal_json_problem(id, R"({"id":"1123456789abcdef"})").has_value());
  CHECK(signal_json_problem(id, R"({"xid":"0123456789abcdef"})").has_value());
  CHECK(screener::signal_id_in_json(R"({"note":"id","id":"00000000000000ff"})") == 0xffULL);
}

TEST_CASE("Recent ids remember the newest N ids and forget the oldest") {
  RecentIds recent(3);
  for (std::uint64_t id : {1ULL, 2ULL, 3ULL}) recent.insert(id);
  CHECK((recent.contains(1) && recent.contains(2) && recent.contains(3)));
  recent.insert(2);
  CHECK(recent.size() == 3);
  recent.insert(4);
  CHECK_FALSE(recent.contains(1));
  CHECK((recent.contains(2) && recent.contains(3) && recent.contains(4)));
  recent.insert(0);
  CHECK(recent.contains(0));
  CHECK_FALSE(recent.contains(2));

  // Against a plain model, with ids that collide in the table: removals must not hide others.
  RecentIds hashed(64);
  std::deque<std::uint64_t> model;
  std::mt19937_64 random(7);
  for (int step = 0; step < 20000; ++step) {
    const std::uint64_t id = random() % 200;
    if (std::find(model.begin(), model.end(), id) == model.end()) {
      model.push_back(id);
      if (model.size() > 64) model.pop_front();
    }
    hashed.insert(id);
    if (step % 97 == 0) {
      for (std::uint64_t probe = 0; probe < 200; ++probe) {
        REQUIRE(hashed.contains(probe) == (std::find(model.begin(), model.end(), probe) != model.end()));
      }
    }
  }
}

TEST_CASE("The JSONL sink writes one line to the file and a copy to stdout, and reopen follows a rotated file") {
  TempDir dir;
  const std::string path = dir.file("signals.jsonl");
  int pipe_fds[2];
  REQUIRE(::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) == 0);
  {
    JsonlSink sink(path, true, pipe_fds[1]);
    CHECK(sink.write(json_for(1)).record_error == 0);
    REQUIRE(std::rename(path.c_str(), (path + ".1").c_str()) == 0);
    REQUIRE(sink.reopen().has_value());
    CHECK(sink.write(json_for(2)).record_error == 0);
  }
  CHECK(read_lines(path + ".1") == std::vector<std::string>{json_for(1)});
  CHECK(read_lines(path) == std::vector<std::string>{json_for(2)});
  std::array<char, 256> copy{};
  const ssize_t got = ::read(pipe_fds[0], copy.data(), copy.size());
  CHECK(std::string(copy.data(), static_cast<std::size_t>(std::max<ssize_t>(got, 0))) ==
        json_for(1) + "\n" + json_for(2) + "\n");
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);

  const int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  REQUIRE(full >= 0);
  {
    JsonlSink stdout_only("", true, full);
    CHECK(stdout_only.write(json_for(3)).record_error == ENOSPC);
    JsonlSink file_and_stdout(path, true, full);
    const auto result = file_and_stdout.write(json_for(3));
    CHECK(result.record_error == 0);
    CHECK(result.stdout_error == ENOSPC);
  }
  ::close(full);
  CHECK(read_lines(path).back() == json_for(3));

  try {
    JsonlSink missing_dir(dir.file("no-such-dir/signals.jsonl"), false);
    FAIL("opened a file in a missing directory");
  } catch (const std::runtime_error& error) {
    CHECK_THAT(error.what(), Catch::Contains("no-such-dir/signals.jsonl") && Catch::Contains("No such file"));
  }
}

TEST_CASE("The start-up scan finds the id of every complete signal line, also in the file's tail only") {
  TempDir dir;
  const std::string content = json_for(1) + "\n" + "{\"id\":\"00000000000000" + "\n" +  // a torn fragment
                              "not json\n" + "{\"no\":\"id\"}\n\n" + json_for(2) + "\n" +
                              json_for(3);  // the last newline did not make it
  const std::string path = dir.write("signals.jsonl", content);
  std::vector<std::uint64_t> ids;
  const auto collect = [&](std::uint64_t id) { ids.push_back(id); };
  REQUIRE(screener::signals::scan_signal_ids(path, 1 << 20, collect) == 3);
  CHECK(ids == std::vector<std::uint64_t>{1, 2, 3});

  ids.clear();
  // The tail starts inside the line of signal 2, which is therefore skipped.
  const std::uint64_t tail = json_for(3).size() + json_for(2).size();
  REQUIRE(screener::signals::scan_signal_ids(path, tail, collect) == 1);
  CHECK(ids == std::vector<std::uint64_t>{3});

  CHECK(screener::signals::scan_signal_ids(dir.file("missing.jsonl"), 1 << 20, collect) == 0);
  CHECK(screener::signals::scan_signal_ids("/dev/full", 1 << 20, collect) == 0);
}

TEST_CASE("A link says Hello and delivers three signals, each written once, in order, and acked") {
  TempDir dir;
  std::mutex mutex;
  std::vector<std::vector<WorkerInfo>> changes;
  SignalHubOptions options = hub_options(dir);
  options.on_workers_changed = [&](std::vector<WorkerInfo> workers) {
    const std::lock_guard lock(mutex);
    changes.push_back(std::move(workers));
  };
  SignalHub hub(options);
  hub.start();

  LinkOptions link_opts = link_options(dir, 4);
  link_opts.segment_epoch = 77;
  DaemonLink link(link_opts);
  const std::vector<std::uint64_t> ids{signal_id("t", "BTCUSDT", "1m", 0), signal_id("t", "ETHUSDT", "1m", 0),
                                       signal_id("t", "BTCUSDT", "1m", 60000)};
  for (std::size_t i = 0; i < ids.size(); ++i) link.send_signal(ids[i], json_for(ids[i], static_cast<int>(i)));
  CHECK(link.pending() == 3);
  REQUIRE(pump({&link}, [&] { return link.pending() == 0; }));
  CHECK(link.connected());

  CHECK(ids_in_file(options.jsonl_path) == ids);
  CHECK(read_lines(options.jsonl_path).front() == json_for(ids[0], 0));
  const auto stats = hub.stats();
  CHECK(stats.signals_written == 3);
  CHECK(stats.duplicates == 0);
  CHECK(stats.workers_connected == 1);
  const std::lock_guard lock(mutex);
  REQUIRE(changes.size() == 1);
  REQUIRE(changes[0].size() == 1);
  CHECK(changes[0][0].worker_index == 4);
  CHECK(changes[0][0].pid == static_cast<std::uint32_t>(::getpid()));
  CHECK(changes[0][0].segment_epoch == 77);
}

TEST_CASE("A signal id sent twice is written once and acked both times") {
  TempDir dir;
  const SignalHubOptions options = hub_options(dir);
  SignalHub hub(options);
  hub.start();
  const std::uint64_t id = signal_id("t", "BTCUSDT", "1m", 0);

  DaemonLink first(link_options(dir));
  first.send_signal(id, json_for(id));
  first.send_signal(id, json_for(id));  // still pending: not queued twice
  CHECK(first.pending() == 1);
  REQUIRE(pump({&first}, [&] { return first.pending() == 0; }));

  DaemonLink second(link_options(dir, 1));
  second.send_signal(id, json_for(id, 1));
  REQUIRE(pump({&second}, [&] { return second.pending() == 0; }));

  CHECK(read_lines(options.jsonl_path) == std::vector<std::string>{json_for(id)});
  CHECK(hub.stats().signals_written == 1);
  CHECK(hub.stats().duplicates == 1);
}

TEST_CASE("Signals queued while the hub is down are delivered exactly once when it is back") {
  TempDir dir;
  const SignalHubOptions options = hub_options(dir);
  DaemonLink link(link_options(dir));
  {
    SignalHub hub(options);
    hub.start();
    link.send_signal(1, json_for(1));
    REQUIRE(pump({&link}, [&] { return link.pending() == 0; }));
    hub.stop();
    CHECK(::access(options.socket_path.c_str(), F_OK) != 0);
  }
  REQUIRE(pump({&link}, [&] { return !link.connected(); }));
  link.send_signal(2, json_for(2));
  link.send_signal(3, json_for(3));
  pump_for({&link}, 300ms);
  CHECK(link.pending() == 2);

  SignalHub restarted(options);
  restarted.start();
  REQUIRE(pump({&link}, [&] { return link.pending() == 0; }));
  CHECK(ids_in_file(options.jsonl_path) == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(restarted.stats().signals_written == 2);
}

TEST_CASE("A restarted hub reads the written ids from the JSONL file and does not write a resent signal again") {
  TempDir dir;
  const SignalHubOptions options = hub_options(dir);
  {
    SignalHub hub(options);
    hub.start();
    DaemonLink link(link_options(dir));
    link.send_signal(1, json_for(1));
    link.send_signal(2, json_for(2));
    REQUIRE(pump({&link}, [&] { return link.pending() == 0; }));
  }
  SignalHub restarted(options);
  restarted.start();
  DaemonLink link(link_options(dir));
  link.send_signal(1, json_for(1));
  link.send_signal(4, json_for(4));
  REQUIRE(pump({&link}, [&] { return link.pending() == 0; }));
  CHECK(ids_in_file(options.jsonl_path) == std::vector<std::uint64_t>{1, 2, 4});
  CHECK(restarted.stats().duplicates == 1);
  CHECK(restarted.stats().signals_written == 1);
}

TEST_CASE("A signal sent but never acked is sent again after a reconnect and written once") {
  TempDir dir;
  const SignalHubOptions options = hub_options(dir);
  DaemonLink link(link_options(dir));
  {
    // A daemon that takes the signal and goes away without acking it.
    RawSocket fake = RawSocket::listen_on(options.socket_path);
    link.send_signal(9, json_for(9));
    REQUIRE(pump({&link}, [&] { return link.connected(); }));
    RawSocket accepted(::accept4(fake.fd(), nullptr, nullptr, SOCK_CLOEXEC));
    std::vector<std::byte> message;
    REQUIRE(accepted.receive(message, 5s) == RawSocket::Got::Message);
    CHECK(protocol::message_type(message) == protocol::MessageType::Hello);
    REQUIRE(accepted.receive(message, 5s) == RawSocket::Got::Message);
    CHECK(protocol::message_type(message) == protocol::MessageType::Signals);
    std::vector<std::pair<std::uint64_t, std::string>> carried;
    CHECK(protocol::for_each_signal(message, [&](std::uint64_t id, std::string_view json) {
      carried.emplace_back(id, std::string(json));
    }));
    CHECK(carried == std::vector<std::pair<std::uint64_t, std::string>>{{9, json_for(9)}});
    REQUIRE(::unlink(options.socket_path.c_str()) == 0);
  }
  REQUIRE(pump({&link}, [&] { return !link.connected(); }));
  CHECK(link.pending() == 1);

  SignalHub hub(options);
  hub.start();
  REQUIRE(pump({&link}, [&] { return link.pending() == 0; }));
  CHECK(link.resent() >= 1);
  CHECK(ids_in_file(options.jsonl_path) == std::vector<std::uint64_t>{9});
}

TEST_CASE("Signals queued while the daemon is away leave in as few messages as hold them, in order") {
  TempDir dir;
  const SignalHubOptions options = hub_options(dir);
  DaemonLink link(link_options(dir));
  constexpr std::uint64_t kSignals = 200;
  for (std::uint64_t id = 1; id <= kSignals; ++id) link.send_signal(id, json_for(id, static_cast<int>(id)));
  RawSocket fake = RawSocket::listen_on(options.socket_path);
  REQUIRE(pump({&link}, [&] { return link.connected(); }));
  RawSocket accepted(::accept4(fake.fd(), nullptr, nullptr, SOCK_CLOEXEC));
  std::vector<std::byte> message;
  REQUIRE(accepted.receive(message, 5s) == RawSocket::Got::Message);
  REQUIRE(protocol::message_type(message) == protocol::MessageType::Hello);
  std::size_t bytes = 0;
  for (std::uint64_t id = 1; id <= kSignals; ++id) bytes += sizeof(protocol::SignalRecord) + json_for(id, static_cast<int>(id)).size();
  const std::size_t fewest = (bytes + protocol::kMaxSignalJsonBytes - 1) / protocol::kMaxSignalJsonBytes;
  std::vector<std::uint64_t> ids;
  std::size_t messages = 0;
  while (ids.size() < kSignals) {
    link.service();
    REQUIRE(accepted.receive(message, 5s) == RawSocket::Got::Message);
    REQUIRE(protocol::message_type(message) == protocol::MessageType::Signals);
    ++messages;
    REQUIRE(protocol::for_each_signal(message, [&](std::uint64_t id, std::string_view json) {
      CHECK(json == json_for(id, static_cast<int>(id)));
      ids.push_back(id);
    }));
  }
  std::vector<std::uint64_t> expected(kSignals);
  for (std::uint64_t id = 1; id <= kSignals; ++id) expected[id - 1] = id;
  CHECK(ids == expected);
  CHECK(messages <= fewest + 1);
  CHECK(messages < kSignals / 10);
}

TEST_CASE("A Signals message cut short has its whole records written and its connection closed") {
  TempDir dir;
  const SignalHubOptions options = hub_options(dir);
  SignalHub hub(options);
  hub.start();
  const RawSocket worker = RawSocket::connect_to(options.socket_path);
  worker.send_hello(1);
  std::array<std::byte, 1024> buffer{};
  protocol::SignalsWriter message(buffer);
  REQUIRE(message.add(11, json_for(11)));
  REQUIRE(message.add(12, json_for(12)));
  const auto bytes = message.bytes();
  worker.send_bytes(bytes.first(bytes.size() - 3));  // the second record's JSON is missing its end
  // No ack on a connection closed for a protocol fault: the worker sends both again after it
  // reconnects, and the hub then acks 11 without writing it twice.
  CHECK(worker.closed_within(5s));
  CHECK(ids_in_file(options.jsonl_path) == std::vector<std::uint64_t>{11});
}

TEST_CASE("Acks and signal records round-trip through their encodings, and a wrong length is refused") {
  std::array<std::byte, protocol::kMaxMessageBytes> buffer{};
  std::vector<std::uint64_t> ids(protocol::kAcksPerMessage + 5);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = 1000 + i;
  const auto [length, count] = protocol::encode_acks(ids, buffer);
  CHECK(count == protocol::kAcksPerMessage);
  CHECK(length <= protocol::kMaxMessageBytes);
  std::vector<std::uint64_t> decoded;
  const std::span<const std::byte> acks(buffer.data(), length);
  CHECK(protocol::for_each_ack(acks, [&](std::uint64_t id) { decoded.push_back(id); }));
  CHECK(decoded == std::vector<std::uint64_t>(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(count)));
  CHECK_FALSE(protocol::for_each_ack(acks.first(length - 1), [](std::uint64_t) {}));

  protocol::SignalsWriter signals(buffer);
  const std::string big(protocol::kMaxSignalJsonBytes, 'x');
  CHECK(signals.add(1, big));
  CHECK_FALSE(signals.add(2, "{}"));  // full: nothing changes
  CHECK(signals.count() == 1);
  CHECK(signals.bytes().size() == protocol::kMaxMessageBytes);
  signals.clear();
  CHECK_FALSE(signals.add(3, big + "y"));  // too long for any message
  CHECK(signals.count() == 0);
}

TEST_CASE("A sink that cannot write leaves the signal unacked in the link until a reopen lets it be written once") {
  TempDir dir;
  const SignalHubOptions options = hub_options(dir);
  REQUIRE(::symlink("/dev/full", options.jsonl_path.c_str()) == 0);
  SignalHub hub(options);
  hub.start();
  DaemonLink link(link_options(dir));
  link.send_signal(5, json_for(5));
  // Several failures: the link sends the unacked signal again while the sink is broken.
  REQUIRE(pump({&link}, [&] { return hub.stats().write_errors >= 2; }));
  CHECK(link.pending() == 1);
  CHECK(hub.stats().signals_written == 0);

  REQUIRE(::unlink(options.jsonl_path.c_str()) == 0);
  hub.reopen_sinks();
  REQUIRE(pump({&link}, [&] { return link.pending() == 0; }));
  CHECK(read_lines(options.jsonl_path) == std::vector<std::string>{json_for(5)});
  CHECK(hub.stats().signals_written == 1);
}

TEST_CASE("on_workers_changed follows connects and disconnects, and the newer connection for an index wins") {
  TempDir dir;
  std::mutex mutex;
  std::vector<std::vector<WorkerInfo>> changes;
  SignalHubOptions options = hub_options(dir);
  options.on_workers_changed = [&](std::vector<WorkerInfo> workers) {
    const std::lock_guard lock(mutex);
    changes.push_back(std::move(workers));
  };
  const auto change_count = [&] {
    const std::lock_guard lock(mutex);
    return changes.size();
  };
  const auto change = [&](std::size_t index) {
    const std::lock_guard lock(mutex);
    std::vector<std::pair<std::uint32_t, std::uint64_t>> workers;  // index, epoch
    for (const WorkerInfo& info : changes.at(index)) workers.emplace_back(info.worker_index, info.segment_epoch);
    return workers;
  };
  using Workers = std::vector<std::pair<std::uint32_t, std::uint64_t>>;
  SignalHub hub(options);
  hub.start();

  DaemonLink link0(link_options(dir, 0));
  REQUIRE(pump({&link0}, [&] { return change_count() == 1; }));
  CHECK(change(0) == Workers{{0, 1}});

  auto link1 = std::make_unique<DaemonLink>(link_options(dir, 1));
  REQUIRE(pump({&link0, link1.get()}, [&] { return change_count() == 2; }));
  CHECK(change(1) == Workers{{0, 1}, {1, 1}});
  CHECK(hub.stats().workers_connected == 2);

  link1.reset();
  REQUIRE(pump({&link0}, [&] { return change_count() == 3; }));
  CHECK(change(2) == Workers{{0, 1}});

  // A restarted worker 0 (new segment epoch) whose predecessor's connection is still open.
  LinkOptions newer_options = link_options(dir, 0);
  newer_options.segment_epoch = 2;
  DaemonLink newer(newer_options);
  REQUIRE(pump({&newer}, [&] { return change_count() == 4; }));
  CHECK(change(3) == Workers{{0, 2}});
  CHECK(hub.stats().workers_connected == 1);
  // The older link finds its connection closed; it is not serviced again, or it would take over.
  REQUIRE(pump({&link0}, [&] { return !link0.connected(); }));

  newer.send_signal(1, json_for(1));
  REQUIRE(pump({&newer}, [&] { return newer.pending() == 0; }));
  pump_for({&newer}, 100ms);
  CHECK(change_count() == 4);
}

TEST_CASE("Connections that send garbage, skip Hello or send short messages are closed while the hub keeps serving") {
  TempDir dir;
  const SignalHubOptions options = hub_options(dir);
  SignalHub hub(options);
  hub.start();

  const RawSocket garbage = RawSocket::connect_to(options.socket_path);
  const std::string text = "hello world, not the protocol";
  garbage.send_bytes(std::as_bytes(std::span(text)));
  CHECK(garbage.closed_within(5s));

  const RawSocket no_hello = RawSocket::connect_to(options.socket_path);
  std::array<std::byte, 256> buffer{};
  protocol::SignalsWriter signal(buffer);
  REQUIRE(signal.add(1, json_for(1)));
  no_hello.send_bytes(signal.bytes());
  CHECK(no_hello.closed_within(5s));

  const RawSocket short_hello = RawSocket::connect_to(options.socket_path);
  const protocol::MessageHeader header = protocol::make_header(protocol::MessageType::Hello);
  short_hello.send_bytes(std::as_bytes(std::span(&header, 1)));
  CHECK(short_hello.closed_within(5s));

  // A worker whose JSON is not a signal line: refused without an ack, the connection stays.
  const RawSocket sloppy = RawSocket::connect_to(options.socket_path);
  sloppy.send_hello(2);
  REQUIRE(sloppy.try_send_signal(7, "not json"));
  REQUIRE(sloppy.try_send_signal(8, R"({"id":"0000000000000009"})"));
  CHECK_FALSE(sloppy.receive_acks(300ms).has_value());
  REQUIRE(sloppy.try_send_signal(8, json_for(8)));
  CHECK(sloppy.receive_acks(5s) == std::vector<std::uint64_t>{8});
  CHECK(hub.stats().rejected == 2);

  DaemonLink link(link_options(dir));
  link.send_signal(1, json_for(1));
  REQUIRE(pump({&link}, [&] { return link.pending() == 0; }));
  CHECK(ids_in_file(options.jsonl_path) == std::vector<std::uint64_t>{8, 1});
  CHECK(hub.stats().signals_written == 2);
  CHECK(hub.stats().workers_connected == 2);
}

TEST_CASE("Acks a worker is slow to read wait in the hub and all of them arrive") {
  TempDir dir;
  const SignalHubOptions options = hub_options(dir);
  SignalHub hub(options);
  hub.start();
  const RawSocket worker = RawSocket::connect_to(options.socket_path);
  worker.send_hello(0);

  // Far more signals than the socket buffers hold acks for, sent before reading a single ack.
  constexpr std::uint64_t kSignals = 3000;
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  for (std::uint64_t id = 1; id <= kSignals;) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    if (worker.try_send_signal(id, json_for(id))) {
      ++id;
    } else {
      pollfd entry{worker.fd(), POLLOUT, 0};
      ::poll(&entry, 1, 10);
    }
  }
  REQUIRE(eventually([&] { return hub.stats().signals_written == kSignals; }, kDeadline));
  std::set<std::uint64_t> acked;
  while (acked.size() < kSignals) {
    const auto acks = worker.receive_acks(5s);
    REQUIRE(acks.has_value());
    acked.insert(acks->begin(), acks->end());
  }
  CHECK(*acked.begin() == 1);
  CHECK(*acked.rbegin() == kSignals);
  CHECK(read_lines(options.jsonl_path).size() == kSignals);
}

TEST_CASE("Heartbeats reach on_heartbeat with the worker's Hello") {
  TempDir dir;
  std::mutex mutex;
  std::vector<std::pair<WorkerInfo, protocol::HeartbeatBody>> beats;
  SignalHubOptions options = hub_options(dir);
  options.on_heartbeat = [&](const WorkerInfo& info, const protocol::HeartbeatBody& body) {
    const std::lock_guard lock(mutex);
    beats.emplace_back(info, body);
  };
  SignalHub hub(options);
  hub.start();
  DaemonLink link(link_options(dir, 3));
  link.send_heartbeat(protocol::HeartbeatBody{});  // not connected yet: dropped
  REQUIRE(pump({&link}, [&] { return link.connected(); }));
  protocol::HeartbeatBody body{};
  body.worker_index = 3;
  body.traders = 7;
  body.pending_signals = link.pending();
  link.send_heartbeat(body);
  REQUIRE(pump({&link}, [&] {
    const std::lock_guard lock(mutex);
    return !beats.empty();
  }));
  const std::lock_guard lock(mutex);
  REQUIRE(beats.size() == 1);
  CHECK(beats[0].first.worker_index == 3);
  CHECK(beats[0].second.traders == 7);
}

TEST_CASE("The link's queue is bounded: the oldest pending signals are dropped and counted") {
  TempDir dir;
  LinkOptions options = link_options(dir);
  options.max_pending = 3;
  DaemonLink link(options);
  for (std::uint64_t id = 1; id <= 5; ++id) {
    link.send_signal(id, json_for(id));
    link.service();
  }
  CHECK(link.pending() == 3);
  CHECK(link.dropped() == 2);

  link.send_signal(6, "{\"no id\":1}");
  CHECK(link.invalid() == 1);
  CHECK(link.pending() == 3);

  SignalHub hub(hub_options(dir));
  hub.start();
  REQUIRE(pump({&link}, [&] { return link.pending() == 0; }));
  CHECK(ids_in_file(dir.file("signals.jsonl")) == std::vector<std::uint64_t>{3, 4, 5});
}

TEST_CASE("The link never blocks: no daemon, or a daemon that accepts nothing and reads nothing") {
  TempDir dir;
  const auto timed = [](auto&& call) {
    const auto start = std::chrono::steady_clock::now();
    call();
    return std::chrono::steady_clock::now() - start;
  };
  {
    DaemonLink link(link_options(dir));
    for (std::uint64_t id = 1; id <= 20; ++id) {
      CHECK(timed([&] {
              link.send_signal(id, json_for(id));
              link.service();
            }) < 100ms);
      std::this_thread::sleep_for(10ms);
    }
    CHECK_FALSE(link.connected());
    CHECK(link.fd() == -1);
    CHECK(link.pending() == 20);
  }

  // The kernel completes connects into the backlog and buffers sends until the buffer is full.
  const RawSocket stuck = RawSocket::listen_on(dir.file("hub.sock"));
  DaemonLink link(link_options(dir));
  const std::string padding(400, 'x');
  const auto slowest_allowed = 100ms;
  auto slowest = std::chrono::steady_clock::duration::zero();
  for (std::uint64_t id = 1; id <= 3000; ++id) {
    slowest = std::max(slowest, timed([&] {
                         link.send_signal(id, "{\"id\":\"" + format_signal_id(id) + "\",\"pad\":\"" + padding + "\"}");
                         link.service();
                       }));
  }
  CHECK(slowest < slowest_allowed);
  CHECK(link.connected());
  CHECK(link.wants_write());
  CHECK(link.pending() == 3000);
}

TEST_CASE("start() refuses a live listener and a path that is not a socket, and replaces a stale socket file") {
  TempDir dir;
  const SignalHubOptions options = hub_options(dir);
  {
    // A socket file left behind by a crashed daemon: bound, then closed without unlink.
    RawSocket crashed = RawSocket::listen_on(options.socket_path);
  }
  SignalHub hub(options);
  hub.start();

  SignalHub second(options);
  try {
    second.start();
    FAIL("a second hub started on a live socket");
  } catch (const std::runtime_error& error) {
    CHECK_THAT(error.what(), Catch::Contains("another process is listening") && Catch::Contains(options.socket_path));
  }
  second.stop();
  DaemonLink link(link_options(dir));
  link.send_signal(1, json_for(1));
  REQUIRE(pump({&link}, [&] { return link.pending() == 0; }));

  SignalHubOptions not_a_socket = options;
  not_a_socket.socket_path = dir.write("plain-file", "keep me");
  SignalHub third(not_a_socket);
  CHECK_THROWS_WITH(third.start(), Catch::Contains("is not a socket") && Catch::Contains("plain-file"));
  CHECK(read_lines(not_a_socket.socket_path) == std::vector<std::string>{"keep me"});

  SignalHubOptions bad_jsonl = options;
  bad_jsonl.socket_path = dir.file("other.sock");
  bad_jsonl.jsonl_path = dir.file("missing/signals.jsonl");
  SignalHub fourth(bad_jsonl);
  CHECK_THROWS_WITH(fourth.start(), Catch::Contains("missing/signals.jsonl"));
  CHECK(::access(bad_jsonl.socket_path.c_str(), F_OK) != 0);
}
