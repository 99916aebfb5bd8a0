// SPDX-License-Identifier: Apache-2.0
#pragma once

// Reads one TOML table key by key, checking each value's type and range, and then rejects any
// key nobody asked for, so a misspelt key is an error instead of a silently ignored default.

#include <toml++/toml.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.hpp"

namespace screener::config {

class TableReader {
 public:
  /// `path` is the table's key path ("segment"); `file` names the source in errors.
  TableReader(const toml::table& table, std::string path, std::string file);

  [[nodiscard]] std::string string(std::string_view key, std::string fallback);
  [[nodiscard]] bool boolean(std::string_view key, bool fallback);
  [[nodiscard]] std::int64_t integer(std::string_view key, std::int64_t fallback, std::int64_t min, std::int64_t max);
  [[nodiscard]] std::vector<std::string> strings(std::string_view key, std::vector<std::string> fallback);
  /// The sub-table `key`, empty if absent.
  [[nodiscard]] TableReader table(std::string_view key);

  /// The table's keys (sorted), for tables whose keys are names (sinks, headers).
  [[nodiscard]] std::vector<std::string> keys() const;

  /// Throws for the first key that was never read.
  void reject_unknown_keys() const;

  /// Throws a ConfigError located at `key` (or at the table itself if the key is absent).
  [[noreturn]] void fail(std::string_view key, const std::string& problem) const;

 private:
  [[nodiscard]] std::string key_path(std::string_view key) const;
  [[noreturn]] void fail_at(const toml::source_region& where, std::string_view key, const std::string& problem) const;

  const toml::table* table_;
  std::string path_;
  std::string file_;
  std::set<std::string, std::less<>> read_;
};

}  // namespace screener::config
