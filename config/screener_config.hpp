// SPDX-License-Identifier: Apache-2.0
#pragma once

// The daemon's configuration (screener.toml): the segment and the market data it holds.
// Every key has a default, so an empty file is a valid configuration.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/interval.hpp"
#include "common/segment_geometry.hpp"
#include "common/segment_layout.hpp"

namespace screener::config {

struct SegmentConfig {
  std::string name = "screener";             ///< /dev/shm/<name>
  std::uint32_t max_symbols = 400;
  std::uint32_t journal_capacity = 65536;    ///< records; a power of two
  std::string group;                         ///< group that may read the segment; empty: screenerd's own
  std::chrono::milliseconds heartbeat_timeout{5000};
};

struct MarketConfig {
  std::vector<Interval> intervals{std::begin(shm::kDefaultIntervals), std::end(shm::kDefaultIntervals)};
  std::uint32_t depth = 1440;                ///< closed bars kept per (symbol, interval)
};

struct ScreenerConfig {
  std::string source;                        ///< file it came from, or "<defaults>"
  SegmentConfig segment;
  MarketConfig market;

  /// The segment geometry these settings describe (validated).
  [[nodiscard]] shm::SegmentGeometry geometry() const;
};

/// Parses TOML text; `source` names it in error messages. Throws ConfigError.
[[nodiscard]] ScreenerConfig parse_config(std::string_view text, std::string source);

/// Reads and parses a file. Throws ConfigError (also for a missing or unreadable file).
[[nodiscard]] ScreenerConfig load_config(const std::string& path);

}  // namespace screener::config
