// SPDX-License-Identifier: Apache-2.0
#include "daemon/net/ws_server.hpp"

#include "daemon/net/http_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <optional>

namespace screener::net {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

struct Shared {
  WsServerOptions options;
  WsAdmit admit;
  WsServerStats stats;
};

class Client : public std::enable_shared_from_this<Client> {
 public:
  Client(tcp::socket socket, std::shared_ptr<Shared> shared)
      : ws_(std::move(socket)), shared_(std::move(shared)), close_timer_(ws_.get_executor()) {
    peer_ = fmt::format("{}", beast::get_lowest_layer(ws_).socket().remote_endpoint(ignored_).address().to_string());
  }

  void start() {
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(10));
    request_parser_.header_limit(8 * 1024);
    request_parser_.body_limit(0);
    http::async_read(beast::get_lowest_layer(ws_), buffer_, request_parser_,
                     [self = shared_from_this()](beast::error_code error, std::size_t) { self->on_request(error); });
  }

  [[nodiscard]] bool open() const noexcept { return open_; }

  [[nodiscard]] bool wants(std::string_view tag) const {
    return tags_.empty() || std::ranges::find(tags_, tag) != tags_.end();
  }

  void send(std::shared_ptr<const std::string> text) {
    if (!open_ || closing_) return;
    if (queue_.size() >= shared_->options.max_queued_messages) {
      ++shared_->stats.dropped_slow;
      spdlog::warn("websocket client {}: dropped, {} signals waiting for it (too slow)", peer_, queue_.size());
      close(fmt::format("too slow: {} messages queued", queue_.size()), websocket::close_code::policy_error);
      return;
    }
    queue_.push_back(std::move(text));
    write_next();
  }

  void close(std::string reason, websocket::close_code code = websocket::close_code::going_away) {
    if (closing_) return;
    closing_ = true;
    if (!open_) {
      hard_close();
      return;
    }
    queue_.clear();
    close_timer_.expires_after(std::chrono::seconds(2));
    close_timer_.async_wait([self = shared_from_this()](beast::error_code error) {
      if (!error) self->hard_close();
    });
    ws_.async_close(websocket::close_reason(code, reason), [self = shared_from_this()](beast::error_code) {
      self->hard_close();
    });
  }

 private:
  void hard_close() {
    close_timer_.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).close();
    open_ = false;
  }

  void on_request(beast::error_code error) {
    if (error || closing_) return hard_close();
    auto& request = request_parser_.get();
    const std::string_view target(request.target().data(), request.target().size());
    std::expected<std::vector<std::string>, std::string> admitted =
        websocket::is_upgrade(request) ? shared_->admit(target)
                                       : std::unexpected(std::string("expected a WebSocket upgrade"));
    if (!admitted) {
      auto response = std::make_shared<http::response<http::string_body>>(
          websocket::is_upgrade(request) ? http::status::not_found : http::status::bad_request, request.version());
      response->set(http::field::content_type, "text/plain; charset=utf-8");
      response->keep_alive(false);
      response->body() = admitted.error() + "\n";
      response->prepare_payload();
      http::async_write(beast::get_lowest_layer(ws_), *response,
                        [self = shared_from_this(), response](beast::error_code, std::size_t) { self->hard_close(); });
      return;
    }
    tags_ = std::move(*admitted);
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& response) { response.set(http::field::server, "screenerd"); }));
    ws_.read_message_max(64 * 1024);
    ws_.async_accept(request, [self = shared_from_this()](beast::error_code accept_error) {
      if (accept_error) return self->hard_close();
      self->open_ = true;
      ++self->shared_->stats.accepted;
      self->read_loop();
      if (!self->queue_.empty()) self->write_next();
    });
  }

  /// Keeps one read outstanding so that pings and the client's close are processed.
  void read_loop() {
    ws_.async_read(incoming_, [self = shared_from_this()](beast::error_code error, std::size_t) {
      if (error) {
        self->open_ = false;
        self->queue_.clear();
        if (!self->closing_) {
          self->closing_ = true;
          self->hard_close();
        }
        return;
      }
      self->incoming_.clear();
      self->read_loop();
    });
  }

  void write_next() {
    if (writing_ || queue_.empty() || !open_ || closing_) return;
    writing_ = true;
    in_flight_ = std::move(queue_.front());
    queue_.pop_front();
    ws_.text(true);
    ws_.async_write(asio::buffer(*in_flight_), [self = shared_from_this()](beast::error_code error, std::size_t) {
      self->writing_ = false;
      self->in_flight_.reset();
      if (error) {
        self->queue_.clear();
        return;
      }
      ++self->shared_->stats.messages_sent;
      self->write_next();
    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  std::shared_ptr<Shared> shared_;
  asio::steady_timer close_timer_;
  beast::flat_buffer buffer_;
  beast::flat_buffer incoming_;
  http::request_parser<http::empty_body> request_parser_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::shared_ptr<const std::string> in_flight_;  ///< the message being written: its buffer must outlive the write
  bool writing_ = false;
  std::vector<std::string> tags_;
  std::string peer_;
  beast::error_code ignored_;
  bool open_ = false;
  bool closing_ = false;
};

class Server final : public WsServer, public std::enable_shared_from_this<Server> {
 public:
  Server(tcp::acceptor acceptor, std::shared_ptr<Shared> shared)
      : acceptor_(std::move(acceptor)), shared_(std::move(shared)), port_(acceptor_.local_endpoint().port()) {}

  void start() override { accept(); }

  void stop() override {
    beast::error_code ignored;
    acceptor_.close(ignored);
    for (auto& client : clients_) client->close("server shutting down");
    clients_.clear();
  }

  void broadcast(std::string_view tag, std::shared_ptr<const std::string> text) override {
    sweep();
    for (auto& client : clients_)
      if (client->open() && client->wants(tag)) client->send(text);
  }

  [[nodiscard]] std::uint16_t port() const noexcept override { return port_; }

  [[nodiscard]] WsServerStats stats() const noexcept override {
    WsServerStats stats = shared_->stats;
    stats.clients = static_cast<std::uint64_t>(
        std::ranges::count_if(clients_, [](const auto& client) { return client->open(); }));
    return stats;
  }

 private:
  void sweep() {
    // A client that is neither open nor still handshaking is gone; the handshake holds its own
    // reference, so dropping ours never ends one early.
    std::erase_if(clients_, [](const std::shared_ptr<Client>& client) { return client.use_count() == 1; });
  }

  void accept() {
    acceptor_.async_accept([self = shared_from_this()](beast::error_code error, tcp::socket socket) {
      if (error == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
      if (!error) {
        self->sweep();
        if (self->clients_.size() >= self->shared_->options.max_clients) {
          beast::error_code ignored;
          socket.close(ignored);
        } else {
          auto client = std::make_shared<Client>(std::move(socket), self->shared_);
          self->clients_.push_back(client);
          client->start();
        }
      }
      self->accept();
    });
  }

  tcp::acceptor acceptor_;
  std::shared_ptr<Shared> shared_;
  std::uint16_t port_;
  std::vector<std::shared_ptr<Client>> clients_;
};

}  // namespace

std::expected<std::shared_ptr<WsServer>, std::string> WsServer::create(asio::io_context& io, std::string_view listen,
                                                                       WsServerOptions options, WsAdmit admit) {
  auto address = parse_listen_address(listen);
  if (!address) return std::unexpected(address.error());
  beast::error_code error;
  const auto ip = asio::ip::make_address(address->host, error);
  if (error) return std::unexpected(fmt::format("'{}': '{}' is not an IP address", listen, address->host));
  tcp::acceptor acceptor(io);
  const tcp::endpoint endpoint(ip, address->port);
  if (acceptor.open(endpoint.protocol(), error); !error) {
    acceptor.set_option(asio::socket_base::reuse_address(true), error);
    if (acceptor.bind(endpoint, error); !error) acceptor.listen(asio::socket_base::max_listen_connections, error);
  }
  if (error) return std::unexpected(fmt::format("cannot listen on {}: {}", listen, error.message()));
  auto shared = std::make_shared<Shared>();
  shared->options = options;
  shared->admit = std::move(admit);
  return std::make_shared<Server>(std::move(acceptor), std::move(shared));
}

}  // namespace screener::net
