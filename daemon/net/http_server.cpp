// SPDX-License-Identifier: Apache-2.0
#include "daemon/net/http_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <charconv>
#include <map>
#include <set>

namespace screener::net {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr std::size_t kMaxHeaderBytes = 8 * 1024;
constexpr auto kRequestTimeout = std::chrono::seconds(5);
constexpr std::size_t kMaxConnections = 64;

using Routes = std::map<std::string, std::function<HttpReply()>, std::less<>>;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<const Routes> routes, std::shared_ptr<std::size_t> live)
      : stream_(std::move(socket)), routes_(std::move(routes)), live_(std::move(live)) {
    ++*live_;
  }
  ~Session() { --*live_; }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(0);
    stream_.expires_after(kRequestTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code error, std::size_t) { self->on_read(error); });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

 private:
  void on_read(beast::error_code error) {
    if (error) {
      if (error == http::error::header_limit || error == http::error::body_limit || error == http::error::bad_target ||
          error == http::error::bad_method || error == http::error::bad_version) {
        reply(HttpReply{400, "text/plain; charset=utf-8", "bad request\n"}, 11);
      } else {
        close();
      }
      return;
    }
    const auto& request = parser_->get();
    const unsigned version = request.version();
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      reply(HttpReply{405, "text/plain; charset=utf-8", "method not allowed\n"}, version, true);
      return;
    }
    std::string_view target(request.target().data(), request.target().size());
    target = target.substr(0, target.find('?'));
    const auto route = routes_->find(target);
    if (route == routes_->end()) {
      reply(HttpReply{404, "text/plain; charset=utf-8", "not found\n"}, version);
      return;
    }
    HttpReply answer;
    try {
      answer = route->second();
    } catch (const std::exception& failure) {
      answer = HttpReply{500, "text/plain; charset=utf-8", fmt::format("error: {}\n", failure.what())};
    }
    const bool head = request.method() == http::verb::head;
    reply(std::move(answer), version, false, head);
  }

  void reply(HttpReply answer, unsigned version, bool allow_get = false, bool head = false) {
    response_.emplace(static_cast<http::status>(answer.status), version);
    response_->set(http::field::server, "screenerd");
    response_->set(http::field::content_type, answer.content_type);
    response_->set(http::field::connection, "close");
    if (allow_get) response_->set(http::field::allow, "GET, HEAD");
    response_->keep_alive(false);
    const std::size_t length = answer.body.size();
    if (!head) response_->body() = std::move(answer.body);
    response_->content_length(length);
    stream_.expires_after(kRequestTimeout);
    http::async_write(stream_, *response_, [self = shared_from_this()](beast::error_code, std::size_t) {
      self->close();
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  std::shared_ptr<const Routes> routes_;
  std::shared_ptr<std::size_t> live_;
};

class Server final : public HttpServer, public std::enable_shared_from_this<Server> {
 public:
  Server(asio::io_context& io, tcp::acceptor acceptor) : io_(io), acceptor_(std::move(acceptor)) {}

  void route(std::string path, std::function<HttpReply()> handler) override {
    routes_[std::move(path)] = std::move(handler);
  }

  void start() override {
    frozen_ = std::make_shared<const Routes>(routes_);
    accept();
  }

  void stop() override {
    beast::error_code ignored;
    acceptor_.close(ignored);
    for (auto& weak : sessions_)
      if (auto session = weak.lock()) session->close();
    sessions_.clear();
  }

  [[nodiscard]] std::uint16_t port() const noexcept override { return port_; }

  std::uint16_t port_ = 0;

 private:
  void accept() {
    acceptor_.async_accept([self = shared_from_this()](beast::error_code error,
                                                                              tcp::socket socket) {
      if (error == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
      if (!error) {
        if (*self->live_ >= kMaxConnections) {
          beast::error_code ignored;
          socket.close(ignored);
        } else {
          auto session = std::make_shared<Session>(std::move(socket), self->frozen_, self->live_);
          std::erase_if(self->sessions_, [](const std::weak_ptr<Session>& s) { return s.expired(); });
          self->sessions_.push_back(session);
          session->start();
        }
      }
      self->accept();
    });
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  Routes routes_;
  std::shared_ptr<const Routes> frozen_;
  std::shared_ptr<std::size_t> live_ = std::make_shared<std::size_t>(0);
  std::vector<std::weak_ptr<Session>> sessions_;
};

}  // namespace

std::expected<ListenAddress, std::string> parse_listen_address(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return std::unexpected(fmt::format("'{}' is not HOST:PORT (e.g. \"127.0.0.1:9464\")", text));
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string_view::npos)
    return std::unexpected(fmt::format("'{}': write an IPv6 host in brackets, e.g. \"[::1]:9464\"", text));
  unsigned port = 0;
  const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || error != std::errc{} || end != port_text.data() + port_text.size() || port > 65535)
    return std::unexpected(fmt::format("'{}': the port must be a number from 0 to 65535", text));
  if (host.empty()) return std::unexpected(fmt::format("'{}': the host is empty", text));
  return ListenAddress{std::string(host), static_cast<std::uint16_t>(port)};
}

std::expected<std::shared_ptr<HttpServer>, std::string> HttpServer::create(asio::io_context& io,
                                                                           std::string_view listen) {
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
  const std::uint16_t port = acceptor.local_endpoint().port();
  auto server = std::make_shared<Server>(io, std::move(acceptor));
  server->port_ = port;
  return server;
}

}  // namespace screener::net
