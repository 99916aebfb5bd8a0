// SPDX-License-Identifier: Apache-2.0
#include "daemon/net/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>
#include <openssl/ssl.h>

#include <charconv>
#include <deque>
#include <optional>
#include <variant>

namespace screener::net {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::int64_t header_number(const http::response<http::string_body>& response, std::string_view name) {
  const auto field = response.find(beast::string_view(name.data(), name.size()));
  if (field == response.end()) return -1;
  const auto value = field->value();
  std::int64_t number = -1;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
  return error == std::errc{} ? number : -1;
}

class Client final : public HttpClient, public std::enable_shared_from_this<Client> {
 public:
  Client(asio::io_context& io, Url base, std::shared_ptr<asio::ssl::context> tls_context, HttpOptions options)
      : io_(io), base_(std::move(base)), tls_context_(std::move(tls_context)), options_(options), resolver_(io) {}

  void get(std::string target, std::function<void(HttpResult)> done) override {
    queue_.push_back(Request{std::move(target), std::move(done)});
    if (!busy_) start_next();
  }

  void cancel_all() override {
    ++generation_;
    busy_ = false;
    auto queue = std::move(queue_);
    queue_.clear();
    drop_connection();
    for (auto& request : queue) request.done(std::unexpected(std::string("cancelled")));
  }

  [[nodiscard]] std::size_t pending() const noexcept override { return queue_.size(); }

 private:
  struct Request {
    std::string target;
    std::function<void(HttpResult)> done;
  };
  using TlsStream = beast::ssl_stream<beast::tcp_stream>;

  beast::tcp_stream& lowest() {
    return plain_ ? *plain_ : beast::get_lowest_layer(*tls_);
  }

  void drop_connection() {
    if (plain_ || tls_) {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
      lowest().close();
    }
    plain_.reset();
    tls_.reset();
    connected_ = false;
  }

  /// Handlers issued before a cancel_all() must not touch the requests queued after it.
  [[nodiscard]] bool stale(std::uint64_t generation) const noexcept { return generation != generation_; }

  void start_next() {
    if (queue_.empty()) {
      busy_ = false;
      return;
    }
    busy_ = true;
    reused_connection_ = connected_;
    if (connected_) return send_request();
    drop_connection();
    if (base_.tls) {
      tls_.emplace(io_, *tls_context_);
    } else {
      plain_.emplace(io_);
    }
    lowest().expires_after(options_.timeout);
    resolver_.async_resolve(
        base_.host, base_.port,
        [self = shared_from_this(), generation = generation_](beast::error_code error,
                                                              tcp::resolver::results_type results) {
          if (self->stale(generation)) return;
          if (error) return self->fail(fmt::format("resolve {}: {}", self->base_.host, error.message()));
          self->lowest().async_connect(results, [self, generation](beast::error_code connect_error, const tcp::endpoint&) {
            if (!self->stale(generation)) self->on_connected(connect_error);
          });
        });
  }

  void on_connected(beast::error_code error) {
    if (error) return fail(fmt::format("connect {}:{}: {}", base_.host, base_.port, error.message()));
    if (!tls_) {
      connected_ = true;
      return send_request();
    }
    if (!set_server_name(tls_->native_handle(), base_.host))
      return fail(fmt::format("TLS: cannot set SNI host name {}", base_.host));
    tls_->set_verify_callback(asio::ssl::host_name_verification(base_.host));
    tls_->async_handshake(asio::ssl::stream_base::client,
                          [self = shared_from_this(), generation = generation_](beast::error_code tls_error) {
                            if (self->stale(generation)) return;
                            if (tls_error)
                              return self->fail(fmt::format("TLS handshake with {}: {}", self->base_.host,
                                                            describe_tls_error(tls_error)));
                            self->connected_ = true;
                            self->send_request();
                          });
  }

  void send_request() {
    request_ = {};
    request_.method(http::verb::get);
    request_.target(queue_.front().target);
    request_.version(11);
    request_.set(http::field::host, base_.port == "443" || base_.port == "80" ? base_.host : base_.host + ":" + base_.port);
    request_.set(http::field::user_agent, "screenerd");
    request_.keep_alive(true);
    lowest().expires_after(options_.timeout);
    auto on_written = [self = shared_from_this(), generation = generation_](beast::error_code error, std::size_t) {
      if (self->stale(generation)) return;
      if (error) return self->fail(fmt::format("send {}: {}", self->queue_.front().target, error.message()));
      self->read_response();
    };
    if (tls_) {
      http::async_write(*tls_, request_, on_written);
    } else {
      http::async_write(*plain_, request_, on_written);
    }
  }

  void read_response() {
    buffer_.clear();
    parser_.emplace();
    parser_->body_limit(options_.max_body_bytes);
    auto on_read = [self = shared_from_this(), generation = generation_](beast::error_code error, std::size_t) {
      if (self->stale(generation)) return;
      if (error) return self->fail(fmt::format("receive {}: {}", self->queue_.front().target, error.message()));
      auto response = self->parser_->release();
      HttpResponse result;
      result.status = static_cast<int>(response.result_int());
      result.used_weight_1m = header_number(response, "X-MBX-USED-WEIGHT-1M");
      result.retry_after_s = header_number(response, "Retry-After");
      result.body = std::move(response.body());
      if (!response.keep_alive()) self->drop_connection();
      self->complete(std::move(result));
    };
    if (tls_) {
      http::async_read(*tls_, buffer_, *parser_, on_read);
    } else {
      http::async_read(*plain_, buffer_, *parser_, on_read);
    }
  }

  void fail(std::string error) { complete(std::unexpected(std::move(error))); }

  void complete(HttpResult result) {
    if (!result) drop_connection();  // a failed exchange leaves the connection in an unknown state
    if (queue_.empty()) return;
    if (!result && reused_connection_ && !retried_) {
      // The server may close an idle kept-alive connection at any time: one retry on a new one.
      retried_ = true;
      return start_next();
    }
    retried_ = false;
    Request request = std::move(queue_.front());
    queue_.pop_front();
    request.done(std::move(result));  // may call get(): it only queues, since busy_ is still set
    start_next();
  }

  asio::io_context& io_;
  Url base_;
  std::shared_ptr<asio::ssl::context> tls_context_;
  HttpOptions options_;
  tcp::resolver resolver_;
  std::optional<beast::tcp_stream> plain_;
  std::optional<TlsStream> tls_;
  beast::flat_buffer buffer_;
  http::request<http::empty_body> request_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::deque<Request> queue_;
  std::uint64_t generation_ = 0;
  bool reused_connection_ = false;
  bool retried_ = false;
  bool connected_ = false;
  bool busy_ = false;
};

}  // namespace

std::shared_ptr<HttpClient> HttpClient::create(asio::io_context& io, const Url& base,
                                               std::shared_ptr<asio::ssl::context> tls_context, HttpOptions options) {
  if (base.tls && !tls_context) throw std::invalid_argument("HttpClient::create: an https:// URL needs a TLS context");
  return std::make_shared<Client>(io, base, std::move(tls_context), options);
}

}  // namespace screener::net
