// SPDX-License-Identifier: Apache-2.0
#include "daemon/net/ws_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <fmt/format.h>
#include <openssl/ssl.h>

#include <deque>

namespace screener::net {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kParsePadding = 64;  // simdjson::SIMDJSON_PADDING

using PlainStream = websocket::stream<beast::tcp_stream>;
using TlsStream = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

template <class Stream>
class Session final : public WsConnection, public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <class... StreamArgs>
  Session(asio::io_context& io, Url url, WsOptions options, WsHandlers handlers, StreamArgs&&... stream_args)
      : io_(io),
        url_(std::move(url)),
        options_(options),
        handlers_(std::move(handlers)),
        resolver_(io),
        stream_(std::forward<StreamArgs>(stream_args)...),
        watchdog_(io),
        send_timer_(io) {}

  void start() {
    last_activity_ = Clock::now();
    arm_watchdog();
    beast::get_lowest_layer(stream_).expires_after(options_.connect_timeout);
    resolver_.async_resolve(url_.host, url_.port,
                            [self = this->shared_from_this()](beast::error_code error, tcp::resolver::results_type results) {
                              self->on_resolved(error, std::move(results));
                            });
  }

  void send(std::string text) override {
    if (closed_) return;
    outbox_.push_back(std::move(text));
    if (open_ && !writing_) pump_outbox();
  }

  void close(const std::string& reason) override {
    if (closed_) return;
    if (open_) {
      // Send a close frame, but do not wait on the peer: the socket goes down right after.
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
      stream_.async_close(websocket::close_code::normal, [self = this->shared_from_this(), reason](beast::error_code) {
        self->finish(reason);
      });
      open_ = false;
      return;
    }
    finish(reason);
  }

  [[nodiscard]] bool is_open() const noexcept override { return open_; }
  [[nodiscard]] std::uint64_t frames() const noexcept override { return frames_; }

  /// The TLS stream refers to its context; the session keeps it alive.
  void keep_alive(std::shared_ptr<asio::ssl::context> context) { tls_context_ = std::move(context); }

 private:
  void on_resolved(beast::error_code error, tcp::resolver::results_type results) {
    if (error) return finish(fmt::format("resolve {}: {}", url_.host, error.message()));
    beast::get_lowest_layer(stream_).async_connect(
        results, [self = this->shared_from_this()](beast::error_code connect_error, const tcp::endpoint&) {
          self->on_connected(connect_error);
        });
  }

  void on_connected(beast::error_code error) {
    if (error) return finish(fmt::format("connect {}:{}: {}", url_.host, url_.port, error.message()));
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      auto& tls = stream_.next_layer();
      // SNI, and the certificate must name the host we asked for.
      if (!set_server_name(tls.native_handle(), url_.host))
        return finish(fmt::format("TLS: cannot set SNI host name {}", url_.host));
      tls.set_verify_callback(asio::ssl::host_name_verification(url_.host));
      tls.async_handshake(asio::ssl::stream_base::client, [self = this->shared_from_this()](beast::error_code tls_error) {
        if (tls_error)
          return self->finish(fmt::format("TLS handshake with {}: {}", self->url_.host, describe_tls_error(tls_error)));
        self->websocket_handshake();
      });
    } else {
      websocket_handshake();
    }
  }

  void websocket_handshake() {
    beast::get_lowest_layer(stream_).expires_never();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = options_.connect_timeout;
    timeouts.idle_timeout = websocket::stream_base::none();  // the watchdog decides
    timeouts.keep_alive_pings = false;
    stream_.set_option(timeouts);
    stream_.set_option(websocket::stream_base::decorator([](websocket::request_type& request) {
      request.set(beast::http::field::user_agent, "screenerd");
    }));
    stream_.read_message_max(options_.max_frame_bytes);
    stream_.control_callback([this](websocket::frame_type, beast::string_view) { last_activity_ = Clock::now(); });
    const std::string host = url_.port == "443" || url_.port == "80" ? url_.host : url_.host + ":" + url_.port;
    stream_.async_handshake(host, url_.target, [self = this->shared_from_this()](beast::error_code error) {
      if (error) return self->finish(fmt::format("WebSocket handshake {}{}: {}", self->url_.host, self->url_.target, error.message()));
      self->open_ = true;
      self->last_activity_ = Clock::now();
      if (self->handlers_.on_open) self->handlers_.on_open();
      if (!self->outbox_.empty() && !self->writing_) self->pump_outbox();
      self->read_next();
    });
  }

  void read_next() {
    stream_.async_read(buffer_, [self = this->shared_from_this()](beast::error_code error, std::size_t) {
      self->on_read(error);
    });
  }

  void on_read(beast::error_code error) {
    if (error) {
      if (error == websocket::error::closed)
        return finish(fmt::format("closed by the server: code {} {}", stream_.reason().code,
                                  std::string(stream_.reason().reason.data(), stream_.reason().reason.size())));
      return finish(fmt::format("read: {}", error.message()));
    }
    last_activity_ = Clock::now();
    ++frames_;
    if (stream_.got_text() && handlers_.on_frame) {
      const std::size_t size = buffer_.size();
      buffer_.prepare(kParsePadding);  // room after the message, so the parser need not copy it
      const auto* data = static_cast<const char*>(buffer_.data().data());
      handlers_.on_frame(data, size, size + kParsePadding);
    }
    buffer_.consume(buffer_.size());
    if (!closed_) read_next();
  }

  void pump_outbox() {
    if (outbox_.empty() || closed_ || !open_) {
      writing_ = false;
      return;
    }
    writing_ = true;
    const auto wait = next_send_ - Clock::now();
    if (wait > Clock::duration::zero()) {
      send_timer_.expires_after(wait);
      send_timer_.async_wait([self = this->shared_from_this()](beast::error_code error) {
        if (!error) self->write_front();
      });
      return;
    }
    write_front();
  }

  void write_front() {
    if (closed_ || !open_ || outbox_.empty()) {
      writing_ = false;
      return;
    }
    next_send_ = Clock::now() + options_.send_spacing;
    stream_.text(true);
    stream_.async_write(asio::buffer(outbox_.front()), [self = this->shared_from_this()](beast::error_code error, std::size_t) {
      if (error) return self->finish(fmt::format("write: {}", error.message()));
      self->outbox_.pop_front();
      self->pump_outbox();
    });
  }

  void arm_watchdog() {
    watchdog_.expires_after(std::chrono::seconds(1));
    watchdog_.async_wait([self = this->shared_from_this()](beast::error_code error) {
      if (error || self->closed_) return;
      const auto silent = Clock::now() - self->last_activity_;
      if (self->open_ && silent > self->options_.watchdog_timeout)
        return self->close(fmt::format("watchdog: nothing received for {} ms",
                                       std::chrono::duration_cast<std::chrono::milliseconds>(silent).count()));
      self->arm_watchdog();
    });
  }

  void finish(const std::string& reason) {
    if (closed_) return;
    closed_ = true;
    open_ = false;
    watchdog_.cancel();
    send_timer_.cancel();
    resolver_.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream_).close();
    if (handlers_.on_closed) {
      // Deliver after the current handler returns: callers may destroy or replace us in it.
      asio::post(io_, [self = this->shared_from_this(), reason] { self->handlers_.on_closed(reason); });
    }
  }

  asio::io_context& io_;
  std::shared_ptr<asio::ssl::context> tls_context_;
  Url url_;
  WsOptions options_;
  WsHandlers handlers_;
  tcp::resolver resolver_;
  Stream stream_;
  beast::flat_buffer buffer_;
  asio::steady_timer watchdog_;
  asio::steady_timer send_timer_;
  std::deque<std::string> outbox_;
  Clock::time_point last_activity_{};
  Clock::time_point next_send_{};
  std::uint64_t frames_ = 0;
  bool open_ = false;
  bool writing_ = false;
  bool closed_ = false;
};

}  // namespace

std::shared_ptr<WsConnection> WsConnection::connect(asio::io_context& io, const Url& url,
                                                    std::shared_ptr<asio::ssl::context> tls_context,
                                                    WsOptions options, WsHandlers handlers) {
  if (url.tls) {
    if (!tls_context) throw std::invalid_argument("WsConnection::connect: a wss:// URL needs a TLS context");
    auto session = std::make_shared<Session<TlsStream>>(io, url, options, std::move(handlers), io, *tls_context);
    session->keep_alive(std::move(tls_context));
    session->start();
    return session;
  }
  auto session = std::make_shared<Session<PlainStream>>(io, url, options, std::move(handlers), io);
  session->start();
  return session;
}

}  // namespace screener::net
