// SPDX-License-Identifier: Apache-2.0
#pragma once

// Plain-socket HTTP helpers for tests, loopback only and every wait bounded: a one-request
// client, and a server that records each request and answers it as a callback says (after an
// optional delay, to play a slow or hung peer), over plain TCP or over TLS (OpenSSL directly,
// with a certificate such as make_test_certificates() makes).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace screener::test {

struct RecordedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  ///< names lower-cased
  std::string body;
  std::chrono::steady_clock::time_point at;
};

struct CannedReply {
  int status = 200;
  std::string extra_headers;  ///< "Retry-After: 1\r\n"
  std::string body = "ok";
  std::chrono::milliseconds delay{0};
};

inline std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return text;
}

/// Reads some bytes into `buffer`, waiting at most `wait`: how many, or <= 0 on EOF, timeout or error.
using ByteReader = std::function<long(char* buffer, std::size_t size, std::chrono::milliseconds wait)>;

/// Reads one request (headers and Content-Length body) through `read` within `timeout`; false on
/// EOF/timeout.
inline bool read_request(const ByteReader& read, RecordedRequest& out, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string data;
  std::size_t header_end = std::string::npos;
  std::size_t need = 0;
  for (;;) {
    if (header_end == std::string::npos) {
      header_end = data.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        const std::string head = data.substr(0, header_end);
        std::size_t line_end = head.find("\r\n");
        const std::string first = head.substr(0, line_end);
        out.method = first.substr(0, first.find(' '));
        out.target = first.substr(first.find(' ') + 1, first.rfind(' ') - first.find(' ') - 1);
        while (line_end != std::string::npos) {
          const std::size_t next = head.find("\r\n", line_end + 2);
          const std::string line = head.substr(line_end + 2, next == std::string::npos ? std::string::npos : next - line_end - 2);
          const auto colon = line.find(':');
          if (colon != std::string::npos) {
            std::string value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.erase(0, 1);
            out.headers[lower(line.substr(0, colon))] = value;
          }
          line_end = next;
        }
        need = out.headers.contains("content-length") ? std::stoul(out.headers["content-length"]) : 0;
      }
    }
    if (header_end != std::string::npos && data.size() >= header_end + 4 + need) {
      out.body = data.substr(header_end + 4, need);
      out.at = std::chrono::steady_clock::now();
      return true;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    char buffer[4096];
    const long got = read(buffer, sizeof buffer, left);
    if (got <= 0) return false;
    data.append(buffer, static_cast<std::size_t>(got));
  }
}

/// Waits at most `wait` for `fd` to become readable.
inline bool readable(int fd, std::chrono::milliseconds wait) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(wait.count())) > 0;
}

/// A ByteReader of a plain socket.
inline ByteReader socket_reader(int fd) {
  return [fd](char* buffer, std::size_t size, std::chrono::milliseconds wait) -> long {
    if (!readable(fd, wait)) return 0;
    return ::recv(fd, buffer, size, 0);
  };
}

/// A ByteReader of a TLS connection. Bytes OpenSSL already decrypted are not visible to poll(),
/// so they are taken first; a record that arrives only in part is bounded by the socket's
/// SO_RCVTIMEO.
inline ByteReader tls_reader(SSL* ssl, int fd) {
  return [ssl, fd](char* buffer, std::size_t size, std::chrono::milliseconds wait) -> long {
    if (::SSL_pending(ssl) == 0 && !readable(fd, wait)) return 0;
    return ::SSL_read(ssl, buffer, static_cast<int>(size));
  };
}

/// Reads one request from a plain socket within `timeout`; false on EOF/timeout.
inline bool read_request(int fd, RecordedRequest& out, std::chrono::milliseconds timeout) {
  return read_request(socket_reader(fd), out, timeout);
}

inline int listen_loopback(std::uint16_t& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, 64) != 0)
    throw std::runtime_error("cannot listen on 127.0.0.1");
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  port = ntohs(address.sin_port);
  return fd;
}

/// The certificate and key a TLS TinyHttpServer presents (PEM files).
struct TlsIdentity {
  std::string certificate;
  std::string key;
};

/// Serves on 127.0.0.1:<port()>, one thread per connection; `reply` decides each answer from
/// the request's index (0-based) and the request. With `tls`, every connection starts with a TLS
/// handshake presenting that identity; handshakes the client aborts are counted, not recorded.
class TinyHttpServer {
 public:
  explicit TinyHttpServer(std::function<CannedReply(std::size_t, const RecordedRequest&)> reply,
                          std::optional<TlsIdentity> tls = std::nullopt)
      : reply_(std::move(reply)) {
    if (tls) tls_ = make_tls_context(*tls);
    listener_ = listen_loopback(port_);
    thread_ = std::thread([this] { run(); });
  }
  ~TinyHttpServer() {
    stop_.store(true);
    thread_.join();
    for (auto& t : connections_) t.join();
    ::close(listener_);
  }
  TinyHttpServer(const TinyHttpServer&) = delete;
  TinyHttpServer& operator=(const TinyHttpServer&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::vector<RecordedRequest> requests() const {
    const std::lock_guard lock(mutex_);
    return requests_;
  }
  /// Waits until `count` requests arrived; false at the deadline.
  bool wait_for(std::size_t count, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (requests().size() >= count) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return requests().size() >= count;
  }
  /// TLS handshakes that failed, e.g. because the client did not trust the certificate.
  [[nodiscard]] std::size_t failed_handshakes() const noexcept { return failed_handshakes_.load(); }

 private:
  using TlsContext = std::unique_ptr<SSL_CTX, decltype(&::SSL_CTX_free)>;
  using TlsConnection = std::unique_ptr<SSL, decltype(&::SSL_free)>;
  static constexpr std::chrono::milliseconds kIoTimeout{5000};

  static TlsContext make_tls_context(const TlsIdentity& identity) {
    TlsContext context(::SSL_CTX_new(::TLS_server_method()), &::SSL_CTX_free);
    if (!context || ::SSL_CTX_use_certificate_chain_file(context.get(), identity.certificate.c_str()) != 1 ||
        ::SSL_CTX_use_PrivateKey_file(context.get(), identity.key.c_str(), SSL_FILETYPE_PEM) != 1)
      throw std::runtime_error("TinyHttpServer: cannot load " + identity.certificate + " / " + identity.key);
    return context;
  }

  /// Blocking calls on `fd` (the TLS handshake, a partial record, a write to a peer that does not
  /// read) give up after kIoTimeout instead of hanging the test.
  static void bound_blocking_calls(int fd) {
    timeval limit{};
    limit.tv_sec = kIoTimeout.count() / 1000;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  }

  void run() {
    while (!stop_.load()) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      connections_.emplace_back([this, fd] { serve(fd); });
    }
  }

  void serve(int fd) {
    // OpenSSL writes without MSG_NOSIGNAL: a client that hangs up mid-handshake must give this
    // thread EPIPE, not kill the test binary with SIGPIPE.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    bound_blocking_calls(fd);
    TlsConnection ssl(nullptr, &::SSL_free);
    if (tls_) {
      ssl.reset(::SSL_new(tls_.get()));
      if (!ssl || ::SSL_set_fd(ssl.get(), fd) != 1 || ::SSL_accept(ssl.get()) != 1) {
        ++failed_handshakes_;
        ::ERR_clear_error();  // the error queue is per thread; leave it clean for the next test
        ::close(fd);
        return;
      }
    }
    const ByteReader read = ssl ? tls_reader(ssl.get(), fd) : socket_reader(fd);
    RecordedRequest request;
    if (read_request(read, request, kIoTimeout)) {
      std::size_t index = 0;
      {
        const std::lock_guard lock(mutex_);
        index = requests_.size();
        requests_.push_back(request);
      }
      const CannedReply answer = reply_(index, request);
      const auto until = std::chrono::steady_clock::now() + answer.delay;
      while (!stop_.load() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      const std::string text = "HTTP/1.1 " + std::to_string(answer.status) + " X\r\nContent-Length: " +
                               std::to_string(answer.body.size()) + "\r\nConnection: close\r\n" +
                               answer.extra_headers + "\r\n" + answer.body;
      if (ssl) {
        [[maybe_unused]] const int sent = ::SSL_write(ssl.get(), text.data(), static_cast<int>(text.size()));
      } else {
        [[maybe_unused]] const auto sent = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
      }
    }
    if (ssl) ::SSL_shutdown(ssl.get());  // close_notify: the reply ends cleanly, not truncated
    ssl.reset();
    ::ERR_clear_error();
    ::close(fd);
  }

  std::function<CannedReply(std::size_t, const RecordedRequest&)> reply_;
  TlsContext tls_{nullptr, &::SSL_CTX_free};
  std::atomic<std::size_t> failed_handshakes_{0};
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> connections_;
  mutable std::mutex mutex_;
  std::vector<RecordedRequest> requests_;
};

struct SimpleReply {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
};

/// One request to 127.0.0.1:port on a fresh connection, read until the server closes.
inline SimpleReply simple_request(std::uint16_t port, const std::string& method, const std::string& target,
                                  std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    throw std::runtime_error("connect failed");
  }
  const std::string text = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  [[maybe_unused]] const auto sent = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string data;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buffer[4096];
    const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got <= 0) break;
    data.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(fd);
  SimpleReply reply;
  const auto header_end = data.find("\r\n\r\n");
  if (data.size() < 12 || header_end == std::string::npos) throw std::runtime_error("no complete reply: " + data);
  reply.status = std::stoi(data.substr(9, 3));
  std::size_t line_end = data.find("\r\n");
  while (line_end < header_end) {
    const std::size_t next = data.find("\r\n", line_end + 2);
    const std::string line = data.substr(line_end + 2, next - line_end - 2);
    if (const auto colon = line.find(':'); colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      reply.headers[lower(line.substr(0, colon))] = value;
    }
    line_end = next;
  }
  reply.body = data.substr(header_end + 4);
  return reply;
}

}  // namespace screener::test
