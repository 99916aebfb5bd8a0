// SPDX-License-Identifier: Apache-2.0
#pragma once

// A throw-away certificate authority and a server certificate it signed, valid for 127.0.0.1 and
// localhost, made with the openssl command-line tool (scripts/install-deps.sh installs it). Tests
// point a server at the certificate and a client at the CA, or at nothing to see it refused.

#include <cstdlib>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace screener::test {

struct TestCertificates {
  std::string ca_pem;       ///< the CA a client must trust
  std::string server_pem;   ///< the server's certificate (CN=localhost, SAN DNS:localhost, IP:127.0.0.1)
  std::string server_key;   ///< its private key, unencrypted
};

/// Writes ca.pem, ca.key, server.pem, server.key (and the CSR and SAN files on the way) into
/// `directory`. Throws std::runtime_error when openssl fails; each step is limited to 60 s.
inline TestCertificates make_test_certificates(const std::string& directory) {
  const std::string script = fmt::format(
      "cd '{0}' && timeout 60 openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=screener-test-ca "
      "-keyout ca.key -out ca.pem >/dev/null 2>&1 && timeout 60 openssl req -newkey rsa:2048 -nodes "
      "-subj /CN=localhost -keyout server.key -out server.csr >/dev/null 2>&1 && "
      "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext && timeout 60 openssl x509 -req "
      "-in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.pem "
      ">/dev/null 2>&1",
      directory);
  if (std::system(script.c_str()) != 0)
    throw std::runtime_error("openssl could not make the test certificates in " + directory);
  return {directory + "/ca.pem", directory + "/server.pem", directory + "/server.key"};
}

}  // namespace screener::test
