// SPDX-License-Identifier: Apache-2.0
// The only translation unit of screener-replay that includes Asio and Beast.
//
// Shape: one io_context on one thread. An acceptor hands each TCP connection to an HttpSession
// (after a TLS handshake when configured). An HttpSession answers REST and /replay/ requests and,
// on a WebSocket upgrade, gives its stream to a WsSession. The Core owns the model, the clock,
// the rate limiter, the fault rules and the registry of WebSocket connections; it pushes each
// step's frames into per-connection queues, and each connection drains its own queue with one
// write in flight at a time.

#include "tools/replay/server/replay_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <future>
#include <map>
#include <optional>
#include <unordered_set>
#include <variant>

#include "tools/replay/server/rest_limiter.hpp"
#include "tools/replay/server/ws_protocol.hpp"

namespace screener::replay {

namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using beast::error_code;

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------------------------------------
// GatedStream: the TCP socket with a gate on writes. A stall fault closes the gate, which holds
// back everything the WebSocket layer writes, pongs included: from outside the server simply
// goes silent, which is what a client's watchdog must notice. Reads pass through.

template <class NextLayer>
class GatedStream {
 public:
  using executor_type = typename NextLayer::executor_type;
  using next_layer_type = NextLayer;
  using lowest_layer_type = typename NextLayer::lowest_layer_type;

  explicit GatedStream(NextLayer next) : next_(std::move(next)), timer_(next_.get_executor()) {}

  executor_type get_executor() noexcept { return next_.get_executor(); }
  next_layer_type& next_layer() noexcept { return next_; }
  lowest_layer_type& lowest_layer() noexcept { return next_.lowest_layer(); }

  void hold_writes_until(Clock::time_point until) noexcept { held_until_ = until; }
  /// Opens the gate and fails a write waiting at it (the connection is being closed).
  void release() noexcept {
    held_until_ = {};
    timer_.cancel();
  }
  [[nodiscard]] bool held() const noexcept { return Clock::now() < held_until_; }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return next_.async_read_some(buffers, std::forward<Token>(token));
  }

  // The layers above (WebSocket, TLS) never have two writes in flight on their next layer, so
  // one timer is enough.
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return net::async_compose<Token, void(error_code, std::size_t)>(WriteOp<ConstBuffers>{*this, buffers}, token,
                                                                     next_);
  }

 private:
  template <class ConstBuffers>
  struct WriteOp {
    GatedStream& stream;
    ConstBuffers buffers;

    template <class Self>
    void operator()(Self& self) {
      wait_or_write(self);
    }
    template <class Self>
    void operator()(Self& self, error_code ec) {   // the gate timer fired
      if (ec) {
        self.complete(ec, 0);
        return;
      }
      wait_or_write(self);
    }
    template <class Self>
    void operator()(Self& self, error_code ec, std::size_t bytes) {
      self.complete(ec, bytes);
    }
    template <class Self>
    void wait_or_write(Self& self) {
      if (stream.held()) {   // the gate may be moved later while we wait: check again on wake-up
        stream.timer_.expires_at(stream.held_until_);
        stream.timer_.async_wait(std::move(self));
        return;
      }
      stream.next_.async_write_some(buffers, std::move(self));
    }
  };

  NextLayer next_;
  net::steady_timer timer_;
  Clock::time_point held_until_{};
};

using PlainStream = GatedStream<tcp::socket>;
using TlsStream = ssl::stream<PlainStream>;

// Beast tears a WebSocket down through these, found by argument-dependent lookup.
template <class NextLayer>
void teardown(beast::role_type role, GatedStream<NextLayer>& stream, error_code& ec) {
  using websocket::teardown;
  teardown(role, stream.next_layer(), ec);
}

template <class NextLayer, class Handler>
void async_teardown(beast::role_type role, GatedStream<NextLayer>& stream, Handler&& handler) {
  using websocket::async_teardown;
  async_teardown(role, stream.next_layer(), std::forward<Handler>(handler));
}

PlainStream& gate_of(PlainStream& stream) noexcept { return stream; }
PlainStream& gate_of(TlsStream& stream) noexcept { return stream.next_layer(); }

// ---------------------------------------------------------------------------------------------

/// A frame of one step, shared by every connection that receives it.
struct SharedFrame {
  std::string stream;
  std::string payload;
  std::string combined;   // the /stream form, made on first use

  const std::string& wire(bool as_combined) {
    if (!as_combined) return payload;
    if (combined.empty()) combined = wrap_combined(stream, payload);
    return combined;
  }
};
using FramePtr = std::shared_ptr<SharedFrame>;

class Core;

/// The part of a WebSocket connection that does not depend on the stream type: subscriptions,
/// the send queue, fault counters, the incoming-message limit and the ping bookkeeping.
class WsConnection : public std::enable_shared_from_this<WsConnection> {
 public:
  WsConnection(Core& core, std::uint64_t id, std::string remote, std::string target, StreamRequest request);
  virtual ~WsConnection();
  WsConnection(const WsConnection&) = delete;
  WsConnection& operator=(const WsConnection&) = delete;

  [[nodiscard]] std::uint64_t id() const noexcept { return id_; }
  [[nodiscard]] bool wants(std::string_view stream) const {
    return stream == kServerShutdownStream || subscribed_.contains(stream);
  }
  [[nodiscard]] std::size_t subscription_count() const noexcept { return order_.size(); }
  [[nodiscard]] bool drained() const noexcept { return closed_ || (queue_.empty() && !writing_); }
  [[nodiscard]] bool closed() const noexcept { return closed_; }

  void enqueue_frame(FramePtr frame);
  /// Closes the TCP connection at once, without a WebSocket close: the network failed.
  void drop(const std::string& reason);
  void stall_for(std::chrono::milliseconds duration);
  void arm_drop(std::uint64_t frames) noexcept { drop_at_ = frames ? frames_sent_ + frames : 0; }
  void arm_stall(std::uint64_t frames, std::uint64_t ms) noexcept {
    stall_at_ = frames ? frames_sent_ + frames : 0;
    stall_ms_ = ms;
  }
  void arm_server_shutdown(std::uint64_t frames) noexcept { shutdown_at_ = frames ? frames_sent_ + frames : 0; }
  [[nodiscard]] std::string describe_json() const;

 protected:
  /// Registers with the core and starts everything once the handshake is done.
  void opened();
  /// Logs once and unregisters; `reason` says why the connection ended.
  void finish(const std::string& reason);

  /// A text message arrived.
  void on_text(std::string_view text);
  /// Any message or ping/pong frame arrived; false when that breaks the incoming limit.
  bool count_incoming();
  void on_pong(std::string_view payload);
  void on_write_done(error_code ec);
  void on_ping_sent(error_code ec);
  /// The ping timer fired: ping, or give up on a client that stopped answering.
  void on_ping_timer();
  [[nodiscard]] Clock::time_point next_ping_wake() const;

  // The stream-type half.
  virtual void write_text(std::string_view text) = 0;   // one at a time; calls on_write_done
  virtual void send_ping(std::string payload) = 0;      // one at a time; calls on_ping_sent
  virtual void close_socket() = 0;
  virtual void close_politely(websocket::close_code code, std::string reason) = 0;
  virtual void hold_writes_until(Clock::time_point until) = 0;
  virtual void arm_ping_timer(Clock::time_point at) = 0;

  Core& core_;
  const std::uint64_t id_;
  const std::string remote_;
  const std::string target_;
  bool combined_ = false;
  bool closed_ = false;
  bool closing_ = false;   // a close frame is on its way; send nothing else

 private:
  void pump();
  void handle_control(const ControlRequest& request);
  void reply(std::string text);

  struct Outgoing {
    FramePtr frame;     // a market frame, or
    std::string text;   // a control reply
  };
  // Looked up once per frame and connection: by string_view, without building a string.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const noexcept { return std::hash<std::string_view>{}(name); }
  };
  std::unordered_set<std::string, NameHash, std::equal_to<>> subscribed_;
  std::vector<std::string> order_;   // subscription order, for LIST_SUBSCRIPTIONS
  std::deque<Outgoing> queue_;
  bool writing_ = false;
  bool writing_frame_ = false;
  FramePtr current_frame_;
  std::string current_text_;
  std::uint64_t frames_sent_ = 0;
  std::uint64_t drop_at_ = 0;
  std::uint64_t stall_at_ = 0;
  std::uint64_t stall_ms_ = 0;
  std::uint64_t shutdown_at_ = 0;
  Clock::time_point stalled_until_{};
  std::deque<Clock::time_point> recent_incoming_;
  bool ping_in_flight_ = false;
  std::uint64_t pings_sent_ = 0;
  Clock::time_point last_ping_at_{};
  std::optional<Clock::time_point> unanswered_since_;   // first ping without its pong
  std::deque<std::string> unanswered_payloads_;
};

// ---------------------------------------------------------------------------------------------

class Core {
 public:
  Core(ServerOptions options, std::unique_ptr<ExchangeModel> model);
  ~Core();

  void start();
  void run();
  void stop();
  ServerStatus status();
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

  // For the sessions.
  [[nodiscard]] const ServerOptions& options() const noexcept { return options_; }
  [[nodiscard]] const FaultOptions& faults() const noexcept { return faults_; }
  [[nodiscard]] net::io_context& io() noexcept { return *io_; }
  [[nodiscard]] std::uint64_t next_connection_id() noexcept { return ++connection_ids_; }
  void register_connection(const std::shared_ptr<WsConnection>& connection);
  void unregister_connection(std::uint64_t id);
  void on_subscriptions_changed();
  void on_drained();
  void count_frame_sent() noexcept { ++frames_sent_; }
  MalformedKind next_malformed_kind() noexcept {
    ++malformed_sent_;
    return static_cast<MalformedKind>(malformed_rotation_++ % kMalformedKinds);
  }
  [[nodiscard]] FramePtr server_shutdown_frame() const;
  [[nodiscard]] bool max_speed() const noexcept { return options_.speed.mode == Speed::Mode::AsFastAsRead; }

  using Request = http::request<http::string_body>;
  using Response = http::response<http::string_body>;
  /// The answer to a plain HTTP request.
  [[nodiscard]] Response handle_http(const Request& request, const std::string& client_ip);
  /// An error response when a WebSocket upgrade must be refused; the parsed target otherwise.
  [[nodiscard]] std::variant<StreamRequest, Response> check_upgrade(const Request& request) const;
  template <class Stream>
  void accept_websocket(Stream stream, Request request, StreamRequest streams, std::string remote);

 private:
  void do_accept();
  void kick_clock();
  void step_once();
  void distribute(StreamFrame frame);
  [[nodiscard]] bool any_subscribed() const;
  [[nodiscard]] bool all_drained() const;
  void shutdown(const std::string& why);
  void write_port_file() const;
  /// Arms the timers of options_.status_changes; called once, when the clock starts.
  void arm_status_changes();
  /// Applies one status change to the model and logs it; false when the model does not list the symbol.
  bool apply_status_change(const StatusChange& change, std::string_view why);

  [[nodiscard]] std::string status_json() const;
  [[nodiscard]] std::string connections_json() const;
  [[nodiscard]] Response rest_answer(const Request& request, std::string_view path, std::string_view query,
                                     const std::string& client_ip);
  [[nodiscard]] Response fault_answer(std::string_view query);
  [[nodiscard]] ServerStatus snapshot() const;

  ServerOptions options_;
  std::unique_ptr<ExchangeModel> model_;
  // Torn down first in ~Core (see there), so the I/O objects below are optional/unique.
  std::unique_ptr<net::io_context> io_;
  std::unique_ptr<ssl::context> tls_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::unique_ptr<net::steady_timer> clock_timer_;
  std::vector<std::unique_ptr<net::steady_timer>> status_timers_;   // --status-after-ms
  std::unique_ptr<net::signal_set> signals_;
  std::uint16_t port_ = 0;
  std::atomic<bool> running_{false};

  RestLimiter limiter_;
  FaultOptions faults_;
  std::map<std::uint64_t, std::shared_ptr<WsConnection>> connections_;
  std::uint64_t connection_ids_ = 0;
  std::vector<std::shared_ptr<WsConnection>> targets_;   // reused by distribute()

  bool clock_pending_ = false;
  bool started_ = false;
  bool finished_ = false;
  bool stopping_ = false;
  Clock::time_point anchor_wall_{};
  std::int64_t anchor_market_ = 0;
  std::uint64_t steps_ = 0;
  std::uint64_t frames_sent_ = 0;
  std::uint64_t frames_skipped_ = 0;
  std::uint64_t malformed_sent_ = 0;
  std::uint64_t malformed_rotation_ = 0;
  std::uint64_t rest_requests_ = 0;
};

// ---------------------------------------------------------------------------------------------
// WsConnection

WsConnection::WsConnection(Core& core, std::uint64_t id, std::string remote, std::string target, StreamRequest request)
    : core_(core), id_(id), remote_(std::move(remote)), target_(std::move(target)), combined_(request.combined) {
  for (auto& stream : request.streams)
    if (subscribed_.insert(stream).second) order_.push_back(std::move(stream));
}

WsConnection::~WsConnection() = default;

void WsConnection::opened() {
  const FaultOptions& rules = core_.faults();
  arm_drop(rules.drop_after_frames);
  arm_stall(rules.stall_after_frames, rules.stall_ms);
  arm_server_shutdown(rules.server_shutdown_after_frames);
  spdlog::info("ws #{} open from {} {} ({}, {} streams)", id_, remote_, target_, combined_ ? "combined" : "raw",
               order_.size());
  core_.register_connection(shared_from_this());
  last_ping_at_ = Clock::now();
  arm_ping_timer(next_ping_wake());
  core_.on_subscriptions_changed();
}

void WsConnection::finish(const std::string& reason) {
  if (closed_) return;
  closed_ = true;
  spdlog::info("ws #{} closed {}: {} ({} frames sent)", id_, remote_, reason, frames_sent_);
  queue_.clear();
  close_socket();
  core_.unregister_connection(id_);
}

void WsConnection::drop(const std::string& reason) { finish(reason); }

void WsConnection::stall_for(std::chrono::milliseconds duration) {
  stalled_until_ = Clock::now() + duration;
  hold_writes_until(stalled_until_);
  spdlog::info("ws #{} stalled for {} ms after {} frames", id_, duration.count(), frames_sent_);
}

void WsConnection::enqueue_frame(FramePtr frame) {
  if (closed_ || closing_) return;
  // At max speed the clock waits for every queue to drain, so a queue holds one step at most;
  // otherwise a client that cannot keep up must not hold back the others.
  if (!core_.max_speed() && queue_.size() >= core_.options().max_queued_frames) {
    drop(fmt::format("send queue overflow ({} frames waiting): client too slow", queue_.size()));
    return;
  }
  queue_.push_back(Outgoing{std::move(frame), {}});
  pump();
}

void WsConnection::reply(std::string text) {
  if (closed_ || closing_) return;
  queue_.push_back(Outgoing{nullptr, std::move(text)});
  pump();
}

void WsConnection::pump() {
  if (closed_ || closing_ || writing_ || queue_.empty()) return;
  Outgoing item = std::move(queue_.front());
  queue_.pop_front();
  writing_ = true;
  writing_frame_ = item.frame != nullptr;
  if (!item.frame) {
    current_text_ = std::move(item.text);
    write_text(current_text_);
    return;
  }
  ++frames_sent_;
  core_.count_frame_sent();
  const std::string& wire = item.frame->wire(combined_);
  const std::uint64_t every = core_.faults().malformed_every;
  if (every > 0 && frames_sent_ % every == 0 && item.frame->stream != kServerShutdownStream) {
    const MalformedKind kind = core_.next_malformed_kind();
    current_text_ = make_malformed(wire, kind);
    spdlog::debug("ws #{} frame {} sent malformed ({})", id_, frames_sent_, malformed_kind_name(kind));
    write_text(current_text_);
    return;
  }
  current_frame_ = std::move(item.frame);
  write_text(wire);
}

void WsConnection::on_write_done(error_code ec) {
  writing_ = false;
  current_frame_.reset();
  current_text_.clear();
  if (closed_) return;
  if (ec) {
    finish(fmt::format("write failed: {}", ec.message()));
    return;
  }
  if (writing_frame_) {
    if (drop_at_ != 0 && frames_sent_ >= drop_at_) {
      drop(fmt::format("fault: dropped after {} frames", frames_sent_));
      return;
    }
    if (shutdown_at_ != 0 && frames_sent_ >= shutdown_at_) {
      shutdown_at_ = 0;
      queue_.push_front(Outgoing{core_.server_shutdown_frame(), {}});
    }
    if (stall_at_ != 0 && frames_sent_ >= stall_at_) {
      stall_at_ = 0;
      stall_for(std::chrono::milliseconds(stall_ms_));
    }
  }
  if (queue_.empty())
    core_.on_drained();
  else
    pump();
}

bool WsConnection::count_incoming() {
  const auto now = Clock::now();
  while (!recent_incoming_.empty() && now - recent_incoming_.front() >= std::chrono::seconds(1))
    recent_incoming_.pop_front();
  if (recent_incoming_.size() >= static_cast<std::size_t>(core_.options().max_messages_per_second)) {
    if (!closing_ && !closed_) {
      spdlog::info("ws #{} {}: more than {} incoming messages in one second", id_, remote_,
                   core_.options().max_messages_per_second);
      closing_ = true;
      queue_.clear();
      close_politely(websocket::close_code::policy_error, "Too many requests");
    }
    return false;
  }
  recent_incoming_.push_back(now);
  return true;
}

void WsConnection::on_text(std::string_view text) {
  auto parsed = parse_control_message(text);
  if (auto* error = std::get_if<ControlError>(&parsed)) {
    reply(control_error_reply(*error));
    return;
  }
  handle_control(std::get<ControlRequest>(parsed));
}

void WsConnection::handle_control(const ControlRequest& request) {
  switch (request.method) {
    case ControlMethod::Subscribe: {
      std::size_t added = 0;
      for (const auto& stream : request.streams) added += subscribed_.contains(stream) ? 0 : 1;
      const std::size_t limit = core_.options().max_streams_per_connection;
      if (order_.size() + added > limit) {
        reply(control_error_reply(ControlError{
            2, fmt::format("Invalid request: too many streams; at most {} per connection", limit), request.id_json}));
        return;
      }
      for (const auto& stream : request.streams)
        if (subscribed_.insert(stream).second) order_.push_back(stream);
      reply(control_result_null(request.id_json));
      core_.on_subscriptions_changed();
      return;
    }
    case ControlMethod::Unsubscribe:
      for (const auto& stream : request.streams)
        if (subscribed_.erase(stream) > 0) std::erase(order_, stream);
      reply(control_result_null(request.id_json));
      core_.on_subscriptions_changed();
      return;
    case ControlMethod::ListSubscriptions: reply(control_result_list(order_, request.id_json)); return;
    case ControlMethod::SetProperty:
      combined_ = request.combined;
      reply(control_result_null(request.id_json));
      return;
    case ControlMethod::GetProperty: reply(control_result_bool(combined_, request.id_json)); return;
  }
}

void WsConnection::on_pong(std::string_view payload) {
  // Only a pong that echoes one of our pings counts: Binance says unsolicited pongs are allowed
  // but do not prevent disconnection.
  const auto match = std::find(unanswered_payloads_.begin(), unanswered_payloads_.end(), payload);
  if (match == unanswered_payloads_.end()) return;
  unanswered_payloads_.clear();
  unanswered_since_.reset();
}

Clock::time_point WsConnection::next_ping_wake() const {
  auto wake = std::max(last_ping_at_ + core_.options().ping_interval, stalled_until_);
  if (unanswered_since_) wake = std::min(wake, *unanswered_since_ + core_.options().pong_timeout);
  return wake;
}

void WsConnection::on_ping_timer() {
  if (closed_ || closing_) return;
  const auto now = Clock::now();
  if (unanswered_since_ && now - *unanswered_since_ >= core_.options().pong_timeout) {
    drop(fmt::format("no pong within {} ms", core_.options().pong_timeout.count()));
    return;
  }
  // A stalled connection sends nothing, pings included; and Beast allows one ping in flight.
  if (now >= last_ping_at_ + core_.options().ping_interval && now >= stalled_until_ && !ping_in_flight_) {
    std::string payload = fmt::format("{}", ++pings_sent_);
    if (!unanswered_since_) unanswered_since_ = now;
    unanswered_payloads_.push_back(payload);
    if (unanswered_payloads_.size() > 64) unanswered_payloads_.pop_front();
    last_ping_at_ = now;
    ping_in_flight_ = true;
    send_ping(std::move(payload));
  }
  arm_ping_timer(std::max(next_ping_wake(), now + std::chrono::milliseconds(1)));
}

void WsConnection::on_ping_sent(error_code ec) {
  ping_in_flight_ = false;
  if (ec && !closed_) finish(fmt::format("ping failed: {}", ec.message()));
}

std::string WsConnection::describe_json() const {
  const bool stalled = Clock::now() < stalled_until_;
  return fmt::format(
      R"({{"id":{},"remote":"{}","target":"{}","combined":{},"subscriptions":{},"queued":{},"frames_sent":{},)"
      R"("stalled":{},"closing":{}}})",
      id_, json_escape(remote_), json_escape(target_), combined_, order_.size(), queue_.size(), frames_sent_, stalled,
      closing_);
}

// ---------------------------------------------------------------------------------------------
// WsSession: the Beast half of a connection.

template <class Stream>
class WsSession final : public WsConnection {
 public:
  WsSession(Core& core, Stream stream, std::string remote, std::string target, StreamRequest request)
      : WsConnection(core, core.next_connection_id(), std::move(remote), std::move(target), std::move(request)),
        ws_(std::move(stream)),
        ping_timer_(ws_.get_executor()) {}

  void start(Core::Request request) {
    ws_.set_option(websocket::stream_base::timeout{std::chrono::seconds(10), websocket::stream_base::none(), false});
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& response) { response.set(http::field::server, "screener-replay"); }));
    ws_.read_message_max(1 << 20);
    ws_.text(true);
    ws_.async_accept(request, [self = self()](error_code ec) { self->on_accept(ec); });
  }

 private:
  std::shared_ptr<WsSession> self() { return std::static_pointer_cast<WsSession>(shared_from_this()); }

  void on_accept(error_code ec) {
    if (ec) {
      spdlog::info("ws upgrade from {} failed: {}", remote_, ec.message());
      close_socket();
      return;
    }
    // Beast answers pings itself while a read is pending; this only counts them.
    ws_.control_callback([this](websocket::frame_type kind, beast::string_view payload) {
      if (kind == websocket::frame_type::close || closed_) return;
      if (!count_incoming()) return;
      if (kind == websocket::frame_type::pong) on_pong(std::string_view(payload.data(), payload.size()));
    });
    opened();
    do_read();
  }

  void do_read() {
    ws_.async_read(read_buffer_, [self = self()](error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    if (ec) {
      if (closing_)
        finish("closed by server: more incoming messages than allowed");
      else if (ec == websocket::error::closed)
        finish(fmt::format("client closed ({} {})", static_cast<int>(ws_.reason().code),
                           std::string_view(ws_.reason().reason.data(), ws_.reason().reason.size())));
      else
        finish(fmt::format("read failed: {}", ec.message()));
      return;
    }
    const bool text = ws_.got_text();
    const std::string message = beast::buffers_to_string(read_buffer_.data());
    read_buffer_.consume(read_buffer_.size());
    if (closed_) return;
    if (count_incoming() && text) on_text(message);
    do_read();
  }

  void write_text(std::string_view text) override {
    ws_.async_write(net::buffer(text.data(), text.size()),
                    [self = self()](error_code ec, std::size_t) { self->on_write_done(ec); });
  }

  void send_ping(std::string payload) override {
    ws_.async_ping(websocket::ping_data(payload.data(), payload.size()),
                   [self = self()](error_code ec) { self->on_ping_sent(ec); });
  }

  void close_socket() override {
    error_code ignored;
    ping_timer_.cancel();
    gate_of(ws_.next_layer()).release();
    beast::get_lowest_layer(ws_).close(ignored);
  }

  // Posted: this is called from the control callback, inside Beast's read operation.
  void close_politely(websocket::close_code code, std::string reason) override {
    net::post(ws_.get_executor(), [self = self(), code, reason = std::move(reason)] {
      if (self->closed_) return;
      self->ws_.async_close(websocket::close_reason(code, reason), [self, reason](error_code) {
        self->finish(fmt::format("closed by server ({})", reason));
      });
    });
  }

  void hold_writes_until(Clock::time_point until) override { gate_of(ws_.next_layer()).hold_writes_until(until); }

  void arm_ping_timer(Clock::time_point at) override {
    ping_timer_.expires_at(at);
    ping_timer_.async_wait([self = self()](error_code ec) {
      if (!ec) self->on_ping_timer();
    });
  }

  websocket::stream<Stream> ws_;
  beast::flat_buffer read_buffer_;
  net::steady_timer ping_timer_;
};

// ---------------------------------------------------------------------------------------------
// HttpSession: REST, /replay/ control, and the door to WebSocket.

template <class Stream>
class HttpSession final : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  HttpSession(Core& core, Stream stream, std::string remote, std::string client_ip)
      : core_(core), stream_(std::move(stream)), remote_(std::move(remote)), client_ip_(std::move(client_ip)) {}

  void start() {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](error_code ec) {
        if (ec) {
          spdlog::info("TLS handshake with {} failed: {}", self->remote_, ec.message());
          return;
        }
        self->do_read();
      });
    } else {
      do_read();
    }
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->header_limit(64 * 1024);
    parser_->body_limit(1 << 20);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    if (ec) {
      if (ec != http::error::end_of_stream && ec != net::error::eof && ec != net::error::connection_reset &&
          ec != ssl::error::stream_truncated)
        spdlog::debug("http {}: read failed: {}", remote_, ec.message());
      close();
      return;
    }
    Core::Request request = parser_->release();
    if (websocket::is_upgrade(request)) {
      auto checked = core_.check_upgrade(request);
      if (auto* streams = std::get_if<StreamRequest>(&checked)) {
        core_.accept_websocket(std::move(stream_), std::move(request), std::move(*streams), remote_);
        return;
      }
      respond(std::move(std::get<Core::Response>(checked)), false);
      return;
    }
    respond(core_.handle_http(request, client_ip_), request.keep_alive());
  }

  void respond(Core::Response response, bool keep_alive) {
    response.keep_alive(keep_alive);
    response.prepare_payload();
    response_ = std::make_shared<Core::Response>(std::move(response));
    http::async_write(stream_, *response_,
                      [self = this->shared_from_this(), keep_alive](error_code ec, std::size_t) {
                        if (ec || !keep_alive) {
                          self->close();
                          return;
                        }
                        self->do_read();
                      });
  }

  void close() {
    error_code ignored;
    auto& socket = beast::get_lowest_layer(stream_);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  Core& core_;
  Stream stream_;
  std::string remote_;
  std::string client_ip_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Core::Response> response_;
};

// ---------------------------------------------------------------------------------------------
// Core

Core::Core(ServerOptions options, std::unique_ptr<ExchangeModel> model)
    : options_(std::move(options)),
      model_(std::move(model)),
      io_(std::make_unique<net::io_context>(1)),
      limiter_(RestLimits{options_.weight_limit.value_or(model_ ? model_->request_weight_limit() : 6000),
                          options_.ban_after_429s,
                          std::chrono::duration_cast<std::chrono::milliseconds>(options_.ban_duration).count()}),
      faults_(options_.faults) {
  if (!model_) throw std::invalid_argument("screener-replay: no exchange model");
  clock_timer_ = std::make_unique<net::steady_timer>(*io_);
}

Core::~Core() {
  // Pending handlers own the sessions, and sessions call back into this object while they are
  // destroyed; so the I/O objects and the io_context go first, while everything else still lives.
  connections_.clear();
  signals_.reset();
  acceptor_.reset();
  clock_timer_.reset();
  status_timers_.clear();
  io_.reset();
}

void Core::start() {
  for (const auto& scheduled : options_.status_changes) {
    const auto& listings = model_->listings();
    if (std::none_of(listings.begin(), listings.end(),
                     [&](const Listing& l) { return l.symbol == scheduled.change.symbol; }))
      throw std::runtime_error(fmt::format("screener-replay: status change for '{}': the market does not list it",
                                           scheduled.change.symbol));
  }
  if (options_.tls_cert_file.empty() != options_.tls_key_file.empty())
    throw std::runtime_error("screener-replay: --tls-cert and --tls-key go together");
  if (!options_.tls_cert_file.empty()) {
    tls_ = std::make_unique<ssl::context>(ssl::context::tls_server);
    tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                      ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    error_code ec;
    tls_->use_certificate_chain_file(options_.tls_cert_file, ec);
    if (ec)
      throw std::runtime_error(
          fmt::format("screener-replay: TLS certificate {}: {}", options_.tls_cert_file, ec.message()));
    tls_->use_private_key_file(options_.tls_key_file, ssl::context::pem, ec);
    if (ec)
      throw std::runtime_error(fmt::format("screener-replay: TLS key {}: {}", options_.tls_key_file, ec.message()));
  }
  error_code ec;
  const auto address = net::ip::make_address(options_.listen_host == "localhost" ? "127.0.0.1" : options_.listen_host, ec);
  if (ec) throw std::runtime_error(fmt::format("screener-replay: bad listen address '{}'", options_.listen_host));
  const tcp::endpoint endpoint(address, options_.listen_port);
  acceptor_ = std::make_unique<tcp::acceptor>(*io_);
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error(fmt::format("screener-replay: cannot listen on {}:{}: {}", options_.listen_host,
                                         options_.listen_port, ec.message()));
  port_ = acceptor_->local_endpoint().port();
  spdlog::info("listening on {}:{} ({}), speed {}", address.to_string(), port_, tls_ ? "TLS" : "plain",
               options_.speed.mode == Speed::Mode::RealTime       ? std::string("realtime")
               : options_.speed.mode == Speed::Mode::AsFastAsRead ? std::string("max")
                                                                  : fmt::format("x{}", options_.speed.multiple));
  if (options_.handle_signals) {
    signals_ = std::make_unique<net::signal_set>(*io_, SIGINT, SIGTERM);
    signals_->async_wait([this](error_code ec2, int signal) {
      if (!ec2) shutdown(fmt::format("signal {}", signal));
    });
  }
  do_accept();
  net::post(*io_, [this] { kick_clock(); });
  write_port_file();
}

void Core::write_port_file() const {
  if (options_.port_file.empty()) return;
  // Readers poll for the file: rename makes it appear complete or not at all.
  const std::string temporary = fmt::format("{}.tmp.{}", options_.port_file, ::getpid());
  std::FILE* file = std::fopen(temporary.c_str(), "w");
  if (file == nullptr) throw std::runtime_error(fmt::format("screener-replay: cannot write {}", temporary));
  const bool written = std::fprintf(file, "%u\n", static_cast<unsigned>(port_)) > 0;
  if (std::fclose(file) != 0 || !written || std::rename(temporary.c_str(), options_.port_file.c_str()) != 0) {
    std::remove(temporary.c_str());
    throw std::runtime_error(fmt::format("screener-replay: cannot write port file {}", options_.port_file));
  }
}

void Core::run() {
  running_ = true;
  io_->run();
  running_ = false;
}

void Core::stop() {
  net::post(*io_, [this] { shutdown("stop requested"); });
}

void Core::shutdown(const std::string& why) {
  if (stopping_) return;
  stopping_ = true;
  spdlog::info("stopping: {}", why);
  error_code ignored;
  if (acceptor_) acceptor_->close(ignored);
  if (signals_) signals_->cancel(ignored);
  clock_timer_->cancel();
  for (auto& timer : status_timers_) timer->cancel();
  auto open = connections_;
  for (auto& [id, connection] : open) connection->drop("server stopping");
  io_->stop();
}

ServerStatus Core::status() {
  if (!running_) return snapshot();
  auto promise = std::make_shared<std::promise<ServerStatus>>();
  auto future = promise->get_future();
  net::post(*io_, [this, promise] { promise->set_value(snapshot()); });
  if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready)
    throw std::runtime_error("screener-replay: server thread did not answer");
  return future.get();
}

ServerStatus Core::snapshot() const {
  ServerStatus status;
  status.market_time_ms = model_->now_ms();
  status.started = started_;
  status.finished = finished_;
  status.steps = steps_;
  status.frames_sent = frames_sent_;
  status.frames_skipped = frames_skipped_;
  status.malformed_sent = malformed_sent_;
  status.connections = connections_.size();
  status.connections_total = connection_ids_;
  for (const auto& [id, connection] : connections_) status.subscriptions += connection->subscription_count();
  status.rest_requests = rest_requests_;
  status.weight_used = limiter_.total_used_weight(wall_ms());
  status.weight_limit = limiter_.limits().weight_per_minute;
  status.faults_pending = faults_;
  return status;
}

void Core::do_accept() {
  acceptor_->async_accept([this](error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec != net::error::operation_aborted) spdlog::warn("accept failed: {}", ec.message());
      if (!stopping_ && acceptor_->is_open()) do_accept();
      return;
    }
    error_code endpoint_error;
    const auto peer = socket.remote_endpoint(endpoint_error);
    const std::string client_ip = endpoint_error ? std::string("?") : peer.address().to_string();
    const std::string remote = endpoint_error ? client_ip : fmt::format("{}:{}", client_ip, peer.port());
    socket.set_option(tcp::no_delay(true), endpoint_error);
    if (tls_)
      std::make_shared<HttpSession<TlsStream>>(*this, TlsStream(PlainStream(std::move(socket)), *tls_), remote,
                                               client_ip)
          ->start();
    else
      std::make_shared<HttpSession<PlainStream>>(*this, PlainStream(std::move(socket)), remote, client_ip)->start();
    do_accept();
  });
}

std::variant<StreamRequest, Core::Response> Core::check_upgrade(const Request& request) const {
  const auto refuse = [&request](http::status status, std::string body) {
    Response response(status, request.version());
    response.set(http::field::content_type, "application/json");
    response.set(http::field::server, "screener-replay");
    response.body() = std::move(body);
    return response;
  };
  auto streams = parse_stream_target(std::string_view(request.target().data(), request.target().size()));
  if (!streams) return refuse(http::status::not_found, R"({"code":-1000,"msg":"Unknown stream path."})");
  for (const auto& name : streams->streams)
    if (!is_valid_stream_name(name)) return refuse(http::status::bad_request, R"({"code":2,"msg":"Invalid request: invalid stream"})");
  if (streams->streams.size() > options_.max_streams_per_connection)
    return refuse(http::status::bad_request,
                  fmt::format(R"({{"code":2,"msg":"Invalid request: too many streams; at most {} per connection"}})",
                              options_.max_streams_per_connection));
  return std::move(*streams);
}

template <class Stream>
void Core::accept_websocket(Stream stream, Request request, StreamRequest streams, std::string remote) {
  if (stopping_) return;
  const std::string target(request.target().data(), request.target().size());
  auto session =
      std::make_shared<WsSession<Stream>>(*this, std::move(stream), std::move(remote), target, std::move(streams));
  session->start(std::move(request));
}

void Core::register_connection(const std::shared_ptr<WsConnection>& connection) {
  connections_.emplace(connection->id(), connection);
}

void Core::unregister_connection(std::uint64_t id) {
  if (connections_.erase(id) > 0 && !stopping_ && max_speed()) kick_clock();   // it may have been the slowest
}

void Core::on_subscriptions_changed() { kick_clock(); }

void Core::on_drained() {
  if (max_speed()) kick_clock();
}

bool Core::any_subscribed() const {
  for (const auto& [id, connection] : connections_)
    if (connection->subscription_count() > 0) return true;
  return false;
}

bool Core::all_drained() const {
  for (const auto& [id, connection] : connections_)
    if (!connection->drained()) return false;
  return true;
}

void Core::kick_clock() {
  if (clock_pending_ || finished_ || stopping_) return;
  const bool anyone = any_subscribed();
  if (!started_) {
    if (!anyone && !options_.run_without_clients) return;   // the first subscription calls again
    started_ = true;
    anchor_wall_ = Clock::now();
    anchor_market_ = model_->now_ms();
    spdlog::info("market clock started at {} ms", anchor_market_);
    arm_status_changes();
  }
  const auto next = model_->next_step_ms();
  if (!next) {
    finished_ = true;
    spdlog::info("market finished after {} steps at {} ms; still serving REST", steps_, model_->now_ms());
    return;
  }
  if (max_speed()) {
    // Step only when every client has taken everything: nobody is ever overrun, and the slowest
    // client sets the pace.
    if (!anyone && !options_.run_without_clients) return;
    if (!all_drained()) return;
    clock_pending_ = true;
    net::post(*io_, [this] {
      clock_pending_ = false;
      if (stopping_) return;
      step_once();
      kick_clock();
    });
    return;
  }
  const double wall_per_market_ms = options_.speed.mode == Speed::Mode::RealTime ? 1.0 : 1.0 / options_.speed.multiple;
  const auto offset = std::chrono::duration<double, std::milli>(static_cast<double>(*next - anchor_market_) *
                                                                wall_per_market_ms);
  clock_pending_ = true;
  clock_timer_->expires_at(anchor_wall_ + std::chrono::duration_cast<Clock::duration>(offset));
  clock_timer_->async_wait([this](error_code ec) {
    clock_pending_ = false;
    if (ec || stopping_) return;
    step_once();
    kick_clock();
  });
}

void Core::arm_status_changes() {
  for (const auto& scheduled : options_.status_changes) {
    if (scheduled.after <= std::chrono::milliseconds::zero()) {
      // Due at once: before the first step, which a timer could not guarantee.
      (void)apply_status_change(scheduled.change, "scheduled at clock start");
      continue;
    }
    auto& timer = status_timers_.emplace_back(std::make_unique<net::steady_timer>(*io_));
    timer->expires_at(anchor_wall_ + scheduled.after);
    timer->async_wait([this, change = scheduled.change, after = scheduled.after](error_code ec) {
      if (ec || stopping_) return;
      (void)apply_status_change(change, fmt::format("scheduled {} ms after clock start", after.count()));
    });
  }
}

bool Core::apply_status_change(const StatusChange& change, std::string_view why) {
  if (!model_->set_listing_status(change.symbol, change.status)) {
    spdlog::warn("status: {} is not listed; {}:{} ignored ({})", change.symbol, change.symbol, change.status, why);
    return false;
  }
  spdlog::info("status: {} is now {} at market time {} ms ({}){}", change.symbol, change.status, model_->now_ms(),
               why, change.status == "TRADING" ? "" : "; its klines stop streaming");
  return true;
}

void Core::step_once() {
  if (!model_->next_step_ms()) return;
  std::vector<StreamFrame> frames;
  try {
    frames = model_->step();
  } catch (const std::exception& error) {
    // A broken source ends the market, not the server: REST and the connections stay up.
    spdlog::error("model step failed at {} ms: {}; market stopped", model_->now_ms(), error.what());
    finished_ = true;
    return;
  }
  ++steps_;
  for (auto& frame : frames) distribute(std::move(frame));
}

void Core::distribute(StreamFrame frame) {
  targets_.clear();
  for (const auto& [id, connection] : connections_)
    if (connection->wants(frame.stream)) targets_.push_back(connection);
  if (targets_.empty()) return;
  // Counted only among frames somebody would receive, so that the gap is always observable.
  if (faults_.skip_closed > 0 && is_closed_kline(frame.stream, frame.payload)) {
    --faults_.skip_closed;
    ++frames_skipped_;
    spdlog::info("fault: skipped closed kline on {} ({} more to skip)", frame.stream, faults_.skip_closed);
    return;
  }
  auto shared = std::make_shared<SharedFrame>(SharedFrame{std::move(frame.stream), std::move(frame.payload), {}});
  for (const auto& connection : targets_) connection->enqueue_frame(shared);
  targets_.clear();
}

FramePtr Core::server_shutdown_frame() const {
  return std::make_shared<SharedFrame>(SharedFrame{
      std::string(kServerShutdownStream), fmt::format(R"({{"e":"serverShutdown","E":{}}})", model_->now_ms()), {}});
}

Core::Response Core::handle_http(const Request& request, const std::string& client_ip) {
  const std::string_view target(request.target().data(), request.target().size());
  const std::size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query = question == std::string_view::npos ? std::string_view() : target.substr(question + 1);

  Response response(http::status::ok, request.version());
  response.set(http::field::server, "screener-replay");
  response.set(http::field::content_type, "application/json");
  if (path.starts_with("/replay/")) {
    if (path == "/replay/status" && request.method() == http::verb::get) {
      response.body() = status_json();
    } else if (path == "/replay/connections" && request.method() == http::verb::get) {
      response.body() = connections_json();
    } else if (path == "/replay/fault" && request.method() == http::verb::post) {
      Response answer = fault_answer(query);
      answer.version(request.version());
      return answer;
    } else {
      response.result(http::status::not_found);
      response.body() = R"({"error":"unknown /replay/ endpoint"})";
    }
    return response;
  }
  return rest_answer(request, path, query, client_ip);
}

Core::Response Core::rest_answer(const Request& request, std::string_view path, std::string_view query,
                                 const std::string& client_ip) {
  ++rest_requests_;
  const std::int64_t now = wall_ms();
  Response response(http::status::ok, request.version());
  response.set(http::field::server, "screener-replay");
  response.set(http::field::content_type, "application/json");
  const auto refuse = [&](const RestVerdict& verdict) {
    // Beast has no name for 418.
    response.result(verdict.kind == RestVerdict::Kind::Banned ? 418U : 429U);
    response.set("Retry-After", fmt::format("{}", verdict.retry_after_s));
    response.set("X-MBX-USED-WEIGHT-1M", fmt::format("{}", verdict.used_weight));
    response.body() = limiter_.error_body(verdict);
    spdlog::info("REST {} {} -> {} (Retry-After {} s)", client_ip, path, response.result_int(), verdict.retry_after_s);
    return response;
  };
  if (faults_.rest_418 > 0 || faults_.rest_429 > 0) {
    RestVerdict verdict;
    verdict.used_weight = limiter_.used_weight(client_ip, now);
    if (faults_.rest_418 > 0) {
      --faults_.rest_418;
      verdict.kind = RestVerdict::Kind::Banned;
      verdict.retry_after_s = options_.ban_duration.count();
      verdict.banned_until_ms = now + options_.ban_duration.count() * 1000;
    } else {
      --faults_.rest_429;
      verdict.kind = RestVerdict::Kind::TooMany;
      verdict.retry_after_s = RestLimiter::seconds_to_minute_end(now);
    }
    return refuse(verdict);
  }
  if (request.method() != http::verb::get) {
    response.result(http::status::method_not_allowed);
    response.set("X-MBX-USED-WEIGHT-1M", fmt::format("{}", limiter_.used_weight(client_ip, now)));
    response.body() = R"({"code":-1000,"msg":"Only GET is served by screener-replay."})";
    return response;
  }
  RestAnswer answer;
  try {
    answer = model_->rest(path, query);
  } catch (const std::exception& error) {
    spdlog::error("REST {}?{} failed in the model: {}", path, query, error.what());
    answer = RestAnswer{500, R"({"code":-1000,"msg":"An unknown error occurred while processing the request."})", 1};
  }
  const RestVerdict verdict = limiter_.admit(client_ip, answer.weight, now);
  if (verdict.kind != RestVerdict::Kind::Serve) return refuse(verdict);
  response.result(static_cast<unsigned>(answer.status));
  response.set("X-MBX-USED-WEIGHT-1M", fmt::format("{}", verdict.used_weight));
  response.body() = std::move(answer.body);
  return response;
}

Core::Response Core::fault_answer(std::string_view query) {
  Response response(http::status::ok, 11);
  response.set(http::field::server, "screener-replay");
  response.set(http::field::content_type, "application/json");
  FaultOptions rules = faults_;
  FaultActions actions;
  std::vector<std::string> applied;
  bool arm_drop = false;
  bool arm_stall = false;
  bool arm_shutdown = false;
  const auto refuse = [&response](std::string_view why) {
    response.result(http::status::bad_request);
    response.body() = fmt::format(R"({{"error":"{}"}})", json_escape(why));
    return response;
  };
  for (const auto& [name, value] : query_params(query)) {
    if (auto error = apply_fault_param(name, value, rules, actions)) return refuse(*error);
    applied.push_back(fmt::format(R"("{}":"{}")", json_escape(name), json_escape(value)));
    arm_drop = arm_drop || name == "drop_after_frames";
    arm_stall = arm_stall || name == "stall_after_frames" || name == "stall_ms";
    arm_shutdown = arm_shutdown || name == "server_shutdown_after_frames";
  }
  if ((actions.stall_now || rules.stall_after_frames > 0) && rules.stall_ms == 0)
    return refuse("a stall needs stall_ms > 0");
  // Every symbol is checked before anything changes: a refused request changes nothing.
  for (const StatusChange& change : actions.status_changes) {
    const auto& listings = model_->listings();
    if (std::none_of(listings.begin(), listings.end(), [&](const Listing& l) { return l.symbol == change.symbol; }))
      return refuse(fmt::format("status: unknown symbol '{}' (not listed by this market)", change.symbol));
  }
  for (const StatusChange& change : actions.status_changes)
    if (!apply_status_change(change, "POST /replay/fault"))
      return refuse(fmt::format("status: unknown symbol '{}' (not listed by this market)", change.symbol));
  // Rules about frames count from now on every open connection (each time one is posted, even
  // with the same value); new connections arm at opening.
  faults_ = rules;
  auto open = connections_;
  for (auto& [id, connection] : open) {
    if (arm_drop) connection->arm_drop(rules.drop_after_frames);
    if (arm_stall) connection->arm_stall(rules.stall_after_frames, rules.stall_ms);
    if (arm_shutdown) connection->arm_server_shutdown(rules.server_shutdown_after_frames);
  }
  if (actions.server_shutdown_now) {
    const FramePtr frame = server_shutdown_frame();
    for (auto& [id, connection] : open) connection->enqueue_frame(frame);
  }
  if (actions.stall_now)
    for (auto& [id, connection] : open) connection->stall_for(std::chrono::milliseconds(rules.stall_ms));
  if (actions.drop_now)
    for (auto& [id, connection] : open) connection->drop("fault: drop=now");
  spdlog::info("fault switches set: {}", fmt::join(applied, ","));
  response.body() = fmt::format(R"({{"applied":{{{}}},"faults_pending":{}}})", fmt::join(applied, ","),
                                faults_json(faults_));
  return response;
}

std::string Core::status_json() const {
  const ServerStatus s = snapshot();
  const auto next = model_->next_step_ms();
  return fmt::format(
      R"({{"market_time_ms":{},"next_step_ms":{},"started":{},"finished":{},"steps":{},"frames_sent":{},)"
      R"("frames_skipped":{},"malformed_sent":{},"connections":{},"connections_total":{},"subscriptions":{},)"
      R"("rest_requests":{},"weight_used":{},"weight_limit":{},"tls":{},"faults_pending":{}}})",
      s.market_time_ms, next ? fmt::format("{}", *next) : std::string("null"), s.started, s.finished, s.steps,
      s.frames_sent, s.frames_skipped, s.malformed_sent, s.connections, s.connections_total, s.subscriptions,
      s.rest_requests, s.weight_used, s.weight_limit, tls_ != nullptr, faults_json(s.faults_pending));
}

std::string Core::connections_json() const {
  std::string out = "[";
  for (const auto& [id, connection] : connections_) {
    if (out.size() > 1) out += ',';
    out += connection->describe_json();
  }
  out += ']';
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

class ReplayServer::Impl {
 public:
  Impl(ServerOptions options, std::unique_ptr<ExchangeModel> model) : core(std::move(options), std::move(model)) {}
  Core core;
};

ReplayServer::ReplayServer(ServerOptions options, std::unique_ptr<ExchangeModel> model)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(model))) {}
ReplayServer::~ReplayServer() = default;
void ReplayServer::start() { impl_->core.start(); }
std::uint16_t ReplayServer::port() const noexcept { return impl_->core.port(); }
void ReplayServer::run() { impl_->core.run(); }
void ReplayServer::stop() { impl_->core.stop(); }
ServerStatus ReplayServer::status() { return impl_->core.status(); }

}  // namespace screener::replay
