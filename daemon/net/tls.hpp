// SPDX-License-Identifier: Apache-2.0
#pragma once

// The client TLS context: peer verification always on, against the system CA store or a
// configured CA file. Host-name checks and SNI are set per connection by the clients.

#include <expected>
#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}
namespace boost::system {
class error_code;
}
struct ssl_st;

namespace screener::net {

struct TlsSettings {
  std::string ca_file;   ///< PEM bundle to trust instead of the system store; empty: system store
};

[[nodiscard]] std::expected<std::shared_ptr<boost::asio::ssl::context>, std::string> make_client_tls_context(
    const TlsSettings& settings);

/// Names `host` in the handshake (SNI), unless it is an IP literal, which RFC 6066 does not
/// allow there. False if OpenSSL refuses the name.
[[nodiscard]] bool set_server_name(ssl_st* ssl, const std::string& host);

/// The error's text, plus what to do when it is a certificate the client does not trust.
[[nodiscard]] std::string describe_tls_error(const boost::system::error_code& error);

}  // namespace screener::net
