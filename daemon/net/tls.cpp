// SPDX-License-Identifier: Apache-2.0
#include "daemon/net/tls.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace screener::net {

std::expected<std::shared_ptr<boost::asio::ssl::context>, std::string> make_client_tls_context(
    const TlsSettings& settings) {
  namespace ssl = boost::asio::ssl;
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  boost::system::error_code error;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                           ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                       error);
  context->set_verify_mode(ssl::verify_peer, error);
  if (settings.ca_file.empty()) {
    context->set_default_verify_paths(error);
    if (error) return std::unexpected(fmt::format("cannot load the system CA store: {}", error.message()));
  } else {
    context->load_verify_file(settings.ca_file, error);
    if (error) return std::unexpected(fmt::format("cannot load CA file '{}': {}", settings.ca_file, error.message()));
  }
  return context;
}

bool set_server_name(ssl_st* ssl, const std::string& host) {
  boost::system::error_code not_an_address;
  (void)boost::asio::ip::make_address(host, not_an_address);
  if (!not_an_address) return true;
  return SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str())) == 1;
}

std::string describe_tls_error(const boost::system::error_code& error) {
  std::string text = error.message();
  if (error.category() == boost::asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(error.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED)
    text += " (the server's certificate is not trusted: set exchange.ca_file to its CA, or check the system CA store)";
  return text;
}

}  // namespace screener::net
