// SPDX-License-Identifier: Apache-2.0
#pragma once

// A configuration error: where (file:line:column), which key, and what was wrong with the value.
// Configuration is start-up code, so it reports by exception; main() prints what() and exits.

#include <cstdint>
#include <stdexcept>
#include <string>

namespace screener::config {

class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, std::uint32_t line, std::uint32_t column, std::string key, std::string problem);

  [[nodiscard]] const std::string& file() const noexcept { return file_; }
  [[nodiscard]] std::uint32_t line() const noexcept { return line_; }
  [[nodiscard]] std::uint32_t column() const noexcept { return column_; }
  [[nodiscard]] const std::string& key() const noexcept { return key_; }

 private:
  std::string file_;
  std::uint32_t line_;
  std::uint32_t column_;
  std::string key_;
};

}  // namespace screener::config
