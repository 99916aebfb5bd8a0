// SPDX-License-Identifier: Apache-2.0
#include "config/screener_config.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <fstream>
#include <sstream>

#include "common/segment_geometry.hpp"
#include "common/segment_name.hpp"
#include "config/table_reader.hpp"

namespace screener::config {

namespace {

std::string known_interval_names() {
  std::string names;
  for (const auto& info : kIntervals) names += (names.empty() ? "" : " ") + std::string(info.name);
  return names;
}

SegmentConfig read_segment(TableReader table) {
  SegmentConfig segment;
  segment.name = table.string("name", segment.name);
  segment.max_symbols = static_cast<std::uint32_t>(
      table.integer("max_symbols", segment.max_symbols, 1, shm::kMaxSymbolsLimit));
  segment.journal_capacity = static_cast<std::uint32_t>(table.integer(
      "journal_capacity", segment.journal_capacity, shm::kMinJournalCapacity, shm::kMaxJournalCapacity));
  if ((segment.journal_capacity & (segment.journal_capacity - 1)) != 0)
    table.fail("journal_capacity", fmt::format("must be a power of two, got {}", segment.journal_capacity));
  segment.group = table.string("group", segment.group);
  segment.heartbeat_timeout = std::chrono::milliseconds(
      table.integer("heartbeat_timeout_ms", segment.heartbeat_timeout.count(), 100, 600'000));
  if (auto name = shm::parse_segment_name(segment.name); !name) table.fail("name", name.error().message);
  table.reject_unknown_keys();
  return segment;
}

MarketConfig read_market(TableReader table) {
  MarketConfig market;
  std::vector<std::string> defaults;
  for (const Interval interval : market.intervals) defaults.emplace_back(interval_name(interval));
  const auto names = table.strings("intervals", defaults);
  if (names.empty() || names.size() > shm::kMaxIntervals)
    table.fail("intervals", fmt::format("list 1 to {} intervals, got {}", shm::kMaxIntervals, names.size()));
  market.intervals.clear();
  for (const auto& name : names) {
    const auto interval = parse_interval(name);
    if (!interval)
      table.fail("intervals", fmt::format("unknown interval '{}'; Binance's are: {}", name, known_interval_names()));
    for (const Interval seen : market.intervals)
      if (seen == *interval) table.fail("intervals", fmt::format("interval '{}' is listed twice", name));
    market.intervals.push_back(*interval);
  }
  market.depth = static_cast<std::uint32_t>(table.integer("depth", market.depth, 2, shm::kRingCapacityLimit));
  table.reject_unknown_keys();
  return market;
}

}  // namespace

shm::SegmentGeometry ScreenerConfig::geometry() const {
  auto geometry = shm::make_geometry(segment.max_symbols, market.intervals, market.depth, segment.journal_capacity);
  if (!geometry) throw ConfigError(source, 1, 1, "segment", geometry.error().message);
  return *geometry;
}

ScreenerConfig parse_config(std::string_view text, std::string source) {
  toml::table document;
  try {
    document = toml::parse(text, source);
  } catch (const toml::parse_error& error) {
    throw ConfigError(source, error.source().begin.line, error.source().begin.column, "<syntax>",
                      std::string(error.description()));
  }
  ScreenerConfig config;
  config.source = source;
  TableReader root(document, "", source);
  config.segment = read_segment(root.table("segment"));
  config.market = read_market(root.table("market"));
  root.reject_unknown_keys();
  (void)config.geometry();
  return config;
}

ScreenerConfig load_config(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw ConfigError(path, 0, 0, "<file>", "cannot open the configuration file");
  std::ostringstream text;
  text << file.rdbuf();
  return parse_config(text.str(), path);
}

}  // namespace screener::config
