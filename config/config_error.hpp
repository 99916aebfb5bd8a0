// SPDX-License-Identifier: Apache-2.0
#pragma once

// A configuration error: where (file:line:column), which key, and what was wrong with the value.
// Configuration is start-up code, so it reports by exception; main() prints what() and exits.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

namespace screener::config {

class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, std::uint32_t line, std::uint32_t column, std::string key, std::string problem);

  /// For a problem that already names its position and lays itself out (a rule's diagnostics:
  /// `file:line:column: message`, the source line and a caret): what() is `message` unchanged.
  [[nodiscard]] static ConfigError verbatim(std::string message, std::string file, std::uint32_t line,
                                            std::uint32_t column, std::string key) {
    return ConfigError(Verbatim{}, std::move(message), std::move(file), line, column, std::move(key));
  }

  [[nodiscard]] const std::string& file() const noexcept { return file_; }
  [[nodiscard]] std::uint32_t line() const noexcept { return line_; }
  [[nodiscard]] std::uint32_t column() const noexcept { return column_; }
  [[nodiscard]] const std::string& key() const noexcept { return key_; }

 private:
  struct Verbatim {};
  ConfigError(Verbatim, std::string message, std::string file, std::uint32_t line, std::uint32_t column,
              std::string key)
      : std::runtime_error(std::move(message)),
        file_(std::move(file)),
        line_(line),
        column_(column),
        key_(std::move(key)) {}

  std::string file_;
  std::uint32_t line_;
  std::uint32_t column_;
  std::string key_;
};

}  // namespace screener::config
