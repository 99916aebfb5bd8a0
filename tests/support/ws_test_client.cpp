// SPDX-License-Identifier: Apache-2.0
#include "tests/support/ws_test_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <variant>

namespace screener::test {

namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using beast::error_code;

using PlainWs = websocket::stream<tcp::socket>;
using TlsWs = websocket::stream<ssl::stream<tcp::socket>>;

/// Runs `io` until `done` or the deadline; true when done.
bool wait(net::io_context& io, const bool& done, Clock::time_point deadline) {
  while (!done) {
    if (io.stopped()) io.restart();
    if (io.run_one_until(deadline) == 0 && Clock::now() >= deadline) return done;
  }
  return true;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_ip_literal(const std::string& host) {
  error_code ec;
  (void)net::ip::make_address(host, ec);
  return !ec;
}

std::unique_ptr<ssl::context> client_context(const Endpoint& endpoint) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
  context->set_verify_mode(ssl::verify_peer);
  if (!endpoint.ca_file.empty()) context->load_verify_file(endpoint.ca_file);
  return context;
}

/// Connects `socket` to the endpoint before the deadline, or throws.
void connect(net::io_context& io, tcp::socket& socket, const Endpoint& endpoint, Clock::time_point deadline) {
  tcp::resolver resolver(io);
  const auto results = resolver.resolve(endpoint.host, std::to_string(endpoint.port));
  bool done = false;
  error_code result;
  net::async_connect(socket, results, [&](error_code ec, const tcp::endpoint&) {
    result = ec;
    done = true;
  });
  if (!wait(io, done, deadline)) {
    socket.close();
    throw std::runtime_error("connect timed out");
  }
  if (result) throw std::runtime_error("connect failed: " + result.message());
}

template <class Stream>
void tls_handshake(net::io_context& io, ssl::stream<Stream>& stream, const Endpoint& endpoint,
                   Clock::time_point deadline) {
  const std::string name = endpoint.verify_name.empty() ? endpoint.host : endpoint.verify_name;
  // SSL_set_tlsext_host_name is a macro with a C cast; this is what it expands to.
  if (!is_ip_literal(name))
    SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(name.c_str()));
  stream.set_verify_callback(ssl::host_name_verification(name));
  bool done = false;
  error_code result;
  stream.async_handshake(ssl::stream_base::client, [&](error_code ec) {
    result = ec;
    done = true;
  });
  if (!wait(io, done, deadline)) throw std::runtime_error("TLS handshake timed out");
  if (result) throw std::runtime_error("TLS handshake failed: " + result.message());
}

}  // namespace

std::string HttpReply::header(std::string_view name) const {
  const auto found = headers.find(lower(name));
  return found == headers.end() ? std::string() : found->second;
}

HttpReply http_request(const Endpoint& endpoint, std::string_view method, std::string_view target,
                       std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  net::io_context io;
  std::unique_ptr<ssl::context> context;
  tcp::socket socket(io);
  connect(io, socket, endpoint, deadline);

  http::request<http::string_body> request(http::string_to_verb(method), std::string(target), 11);
  request.set(http::field::host, endpoint.host);
  request.set(http::field::connection, "close");
  request.prepare_payload();
  http::response<http::string_body> response;
  beast::flat_buffer buffer;

  const auto exchange = [&](auto& stream) {
    bool done = false;
    error_code result;
    http::async_write(stream, request, [&](error_code ec, std::size_t) {
      result = ec;
      done = true;
    });
    if (!wait(io, done, deadline)) throw std::runtime_error("HTTP write timed out");
    if (result) throw std::runtime_error("HTTP write failed: " + result.message());
    done = false;
    http::async_read(stream, buffer, response, [&](error_code ec, std::size_t) {
      result = ec;
      done = true;
    });
    if (!wait(io, done, deadline)) throw std::runtime_error("HTTP read timed out");
    if (result) throw std::runtime_error("HTTP read failed: " + result.message());
  };
  if (endpoint.tls) {
    context = client_context(endpoint);
    ssl::stream<tcp::socket&> stream(socket, *context);
    tls_handshake(io, stream, endpoint, deadline);
    exchange(stream);
  } else {
    exchange(socket);
  }
  HttpReply reply;
  reply.status = static_cast<int>(response.result_int());
  for (const auto& field : response) reply.headers[lower(field.name_string())] = std::string(field.value());
  reply.body = std::move(response.body());
  return reply;
}

// ---------------------------------------------------------------------------------------------

struct WsClient::Impl {
  net::io_context io;
  std::unique_ptr<ssl::context> context;
  std::variant<std::monostate, std::unique_ptr<PlainWs>, std::unique_ptr<TlsWs>> ws;
  beast::flat_buffer buffer;
  bool read_pending = false;
  bool read_done = false;
  error_code read_error;
  bool closed = false;
  std::string close_reason;
  std::vector<Clock::time_point> pings;
  std::vector<Clock::time_point> pongs;

  template <class F>
  decltype(auto) with_ws(F&& f) {
    if (auto* plain = std::get_if<std::unique_ptr<PlainWs>>(&ws)) return f(**plain);
    return f(*std::get<std::unique_ptr<TlsWs>>(ws));
  }

  template <class Ws>
  void upgrade(Ws& stream, const Endpoint& endpoint, std::string_view target, Clock::time_point deadline) {
    stream.control_callback([this](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::ping) pings.push_back(Clock::now());
      if (kind == websocket::frame_type::pong) pongs.push_back(Clock::now());
    });
    stream.read_message_max(64 << 20);
    websocket::response_type response;
    bool done = false;
    error_code result;
    stream.async_handshake(response, fmt_host(endpoint), std::string(target), [&](error_code ec) {
      result = ec;
      done = true;
    });
    if (!wait(io, done, deadline)) throw std::runtime_error("WebSocket handshake timed out");
    if (result)
      throw std::runtime_error("WebSocket handshake failed: " + result.message() + " (HTTP " +
                               std::to_string(response.result_int()) + ")");
    stream.text(true);
  }

  static std::string fmt_host(const Endpoint& endpoint) { return endpoint.host + ":" + std::to_string(endpoint.port); }

  void mark_closed(const error_code& ec) {
    closed = true;
    with_ws([&](auto& stream) {
      if (ec == websocket::error::closed)
        close_reason = "close " + std::to_string(static_cast<int>(stream.reason().code)) + " " +
                       std::string(stream.reason().reason.data(), stream.reason().reason.size());
      else
        close_reason = ec.message();
    });
  }
};

WsClient::WsClient(const Endpoint& endpoint, std::string_view target, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  const auto deadline = Clock::now() + timeout;
  if (endpoint.tls) {
    impl_->context = client_context(endpoint);
    auto stream = std::make_unique<TlsWs>(impl_->io, *impl_->context);
    connect(impl_->io, beast::get_lowest_layer(*stream), endpoint, deadline);
    tls_handshake(impl_->io, stream->next_layer(), endpoint, deadline);
    impl_->upgrade(*stream, endpoint, target, deadline);
    impl_->ws = std::move(stream);
  } else {
    auto stream = std::make_unique<PlainWs>(impl_->io);
    connect(impl_->io, stream->next_layer(), endpoint, deadline);
    impl_->upgrade(*stream, endpoint, target, deadline);
    impl_->ws = std::move(stream);
  }
}

WsClient::~WsClient() {
  if (std::holds_alternative<std::monostate>(impl_->ws)) return;
  impl_->with_ws([](auto& stream) {
    error_code ignored;
    beast::get_lowest_layer(stream).close(ignored);
  });
}

WsClient::Read WsClient::read(std::string& message, std::chrono::milliseconds timeout) {
  if (impl_->closed) return Read::Closed;
  if (!impl_->read_pending) {
    impl_->read_pending = true;
    impl_->read_done = false;
    impl_->with_ws([this](auto& stream) {
      stream.async_read(impl_->buffer, [this](error_code ec, std::size_t) {
        impl_->read_error = ec;
        impl_->read_done = true;
      });
    });
  }
  if (!wait(impl_->io, impl_->read_done, Clock::now() + timeout)) return Read::Timeout;
  impl_->read_pending = false;
  if (impl_->read_error) {
    impl_->mark_closed(impl_->read_error);
    return Read::Closed;
  }
  message = beast::buffers_to_string(impl_->buffer.data());
  impl_->buffer.consume(impl_->buffer.size());
  return Read::Message;
}

std::optional<std::string> WsClient::read_until(const std::function<bool(const std::string&)>& match,
                                                std::chrono::milliseconds timeout, std::vector<std::string>* skipped) {
  const auto deadline = Clock::now() + timeout;
  std::string message;
  while (Clock::now() < deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    const Read result = read(message, std::max(left, 1ms));
    if (result != Read::Message) return std::nullopt;
    if (match(message)) return message;
    if (skipped) skipped->push_back(message);
  }
  return std::nullopt;
}

bool WsClient::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string message;
  while (!impl_->closed && Clock::now() < deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    (void)read(message, std::max(left, 1ms));
  }
  return impl_->closed;
}

void WsClient::send(std::string_view text, std::chrono::milliseconds timeout) {
  bool done = false;
  error_code result;
  impl_->with_ws([&](auto& stream) {
    stream.async_write(net::buffer(text.data(), text.size()), [&](error_code ec, std::size_t) {
      result = ec;
      done = true;
    });
  });
  if (!wait(impl_->io, done, Clock::now() + timeout)) throw std::runtime_error("WebSocket write timed out");
  if (result) throw std::runtime_error("WebSocket write failed: " + result.message());
}

void WsClient::send_ping(std::string_view payload, std::chrono::milliseconds timeout) {
  bool done = false;
  error_code result;
  impl_->with_ws([&](auto& stream) {
    stream.async_ping(websocket::ping_data(payload.data(), payload.size()), [&](error_code ec) {
      result = ec;
      done = true;
    });
  });
  if (!wait(impl_->io, done, Clock::now() + timeout)) throw std::runtime_error("WebSocket ping timed out");
  if (result) throw std::runtime_error("WebSocket ping failed: " + result.message());
}

bool WsClient::closed() const noexcept { return impl_->closed; }
std::string WsClient::close_reason() const { return impl_->close_reason; }
std::vector<std::chrono::steady_clock::time_point> WsClient::pings() const { return impl_->pings; }
std::vector<std::chrono::steady_clock::time_point> WsClient::pongs() const { return impl_->pongs; }

}  // namespace screener::test
