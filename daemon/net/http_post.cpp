// SPDX-License-Identifier: Apache-2.0
#include "daemon/net/http_post.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>
#include <openssl/ssl.h>

#include <charconv>
#include <optional>

namespace screener::net {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Done = std::function<void(std::expected<PostReply, std::string>)>;

class Post : public std::enable_shared_from_this<Post> {
 public:
  Post(asio::io_context& io, std::shared_ptr<asio::ssl::context> tls_context, PostRequest request, Done done)
      : io_(io), tls_context_(std::move(tls_context)), request_(std::move(request)), done_(std::move(done)),
        resolver_(io), deadline_(io) {}

  void start() {
    if (request_.url.tls) {
      if (!tls_context_) return finish(std::unexpected(std::string("an https:// URL needs a TLS context")));
      tls_.emplace(io_, *tls_context_);
    } else {
      plain_.emplace(io_);
    }
    deadline_.expires_after(request_.timeout);
    deadline_.async_wait([self = shared_from_this()](beast::error_code error) {
      if (error) return;
      self->finish(std::unexpected(fmt::format("no reply within {} ms", self->request_.timeout.count())));
    });
    resolver_.async_resolve(request_.url.host, request_.url.port,
                            [self = shared_from_this()](beast::error_code error, tcp::resolver::results_type results) {
                              if (self->finished_) return;
                              if (error)
                                return self->finish(std::unexpected(
                                    fmt::format("resolve {}: {}", self->request_.url.host, error.message())));
                              self->lowest().async_connect(results, [self](beast::error_code connect_error,
                                                                           const tcp::endpoint&) {
                                self->on_connected(connect_error);
                              });
                            });
  }

 private:
  beast::tcp_stream& lowest() { return plain_ ? *plain_ : beast::get_lowest_layer(*tls_); }

  void on_connected(beast::error_code error) {
    if (finished_) return;
    if (error)
      return finish(std::unexpected(
          fmt::format("connect {}:{}: {}", request_.url.host, request_.url.port, error.message())));
    if (!tls_) return send();
    if (!set_server_name(tls_->native_handle(), request_.url.host))
      return finish(std::unexpected(fmt::format("TLS: cannot set SNI host name {}", request_.url.host)));
    tls_->set_verify_callback(asio::ssl::host_name_verification(request_.url.host));
    tls_->async_handshake(asio::ssl::stream_base::client, [self = shared_from_this()](beast::error_code tls_error) {
      if (self->finished_) return;
      if (tls_error)
        return self->finish(std::unexpected(
            fmt::format("TLS handshake with {}: {}", self->request_.url.host, describe_tls_error(tls_error))));
      self->send();
    });
  }

  void send() {
    message_.method(http::verb::post);
    message_.target(request_.url.target);
    message_.version(11);
    const auto& url = request_.url;
    const bool default_port = (url.tls && url.port == "443") || (!url.tls && url.port == "80");
    message_.set(http::field::host, default_port ? url.host : url.host + ":" + url.port);
    message_.set(http::field::user_agent, "screenerd");
    message_.set(http::field::content_type, request_.content_type);
    for (const auto& [name, value] : request_.headers) message_.set(name, value);
    message_.keep_alive(false);
    message_.body() = request_.body;
    message_.prepare_payload();
    auto on_written = [self = shared_from_this()](beast::error_code error, std::size_t) {
      if (self->finished_) return;
      if (error) return self->finish(std::unexpected(fmt::format("send: {}", error.message())));
      self->receive();
    };
    if (tls_) http::async_write(*tls_, message_, on_written);
    else http::async_write(*plain_, message_, on_written);
  }

  void receive() {
    parser_.emplace();
    parser_->body_limit(64 * 1024);
    auto on_read = [self = shared_from_this()](beast::error_code error, std::size_t) {
      if (self->finished_) return;
      if (error) return self->finish(std::unexpected(fmt::format("receive: {}", error.message())));
      const auto& response = self->parser_->get();
      PostReply reply;
      reply.status = static_cast<int>(response.result_int());
      if (const auto field = response.find(http::field::retry_after); field != response.end()) {
        const auto value = field->value();
        std::int64_t seconds = -1;
        const auto [end, parse_error] = std::from_chars(value.data(), value.data() + value.size(), seconds);
        if (parse_error == std::errc{} && end == value.data() + value.size() && seconds >= 0) reply.retry_after_s = seconds;
      }
      reply.body = response.body();
      self->finish(std::move(reply));
    };
    if (tls_) http::async_read(*tls_, buffer_, *parser_, on_read);
    else http::async_read(*plain_, buffer_, *parser_, on_read);
  }

  void finish(std::expected<PostReply, std::string> result) {
    if (finished_) return;
    finished_ = true;
    deadline_.cancel();
    resolver_.cancel();
    if (plain_ || tls_) {
      beast::error_code ignored;
      lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
      lowest().close();
    }
    auto done = std::move(done_);
    done(std::move(result));
  }

  asio::io_context& io_;
  std::shared_ptr<asio::ssl::context> tls_context_;
  PostRequest request_;
  Done done_;
  tcp::resolver resolver_;
  asio::steady_timer deadline_;
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> message_;
  std::optional<http::response_parser<http::string_body>> parser_;
  bool finished_ = false;
};

}  // namespace

void http_post(asio::io_context& io, std::shared_ptr<asio::ssl::context> tls_context, PostRequest request,
               std::function<void(std::expected<PostReply, std::string>)> done) {
  std::make_shared<Post>(io, std::move(tls_context), std::move(request), std::move(done))->start();
}

}  // namespace screener::net
