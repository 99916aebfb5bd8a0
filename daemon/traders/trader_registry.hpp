// SPDX-License-Identifier: Apache-2.0
#pragma once

// The traders screenerd runs: every trader file of the traders directory, validated with the
// same code the workers compile them with, and published in the segment's trader table together
// with the worker that owns each (daemon/traders/assignment.hpp).
//
// load() checks the whole directory and changes nothing unless every file is valid: a reload with
// a broken file keeps the traders that run now.

#include <cstdint>
#include <expected>
#include <string>
#include <vector>

#include "common/trader_table.hpp"
#include "config/screener_config.hpp"
#include "config/trader_config.hpp"

namespace screener::traders {

struct LoadedTrader {
  std::string name;
  std::string path;
  std::string text;
  config::TraderSpec spec;
};

class TraderRegistry {
 public:
  explicit TraderRegistry(const config::ScreenerConfig& config);

  /// Reads and validates the traders directory. On success the registry holds the new set and the
  /// result says what changed ("3 traders: +1 -0 ~1"); on failure it is unchanged and the error
  /// lists every problem with file:line:column.
  [[nodiscard]] std::expected<std::string, std::string> load();

  /// The table to publish for these connected workers (indexes).
  [[nodiscard]] shm::TraderTableContent table(std::span<const std::uint32_t> workers) const;

  [[nodiscard]] const std::vector<LoadedTrader>& traders() const noexcept { return traders_; }
  [[nodiscard]] const std::string& dir() const noexcept { return dir_; }

 private:
  std::string dir_;
  bool dir_is_default_;
  std::string socket_path_;
  std::string state_dir_;
  config::TraderCheckOptions check_;
  std::vector<LoadedTrader> traders_;
};

}  // namespace screener::traders
