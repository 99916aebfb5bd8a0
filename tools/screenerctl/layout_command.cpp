// SPDX-License-Identifier: Apache-2.0
// `screenerctl layout`: the segment's regions for a configuration, from the same arithmetic the
// writer uses (compute_regions), so the documented sizes are the sizes.

#include <fmt/format.h>

#include <charconv>
#include <cstdio>
#include <string>
#include <vector>

#include "common/segment_geometry.hpp"
#include "common/segment_layout.hpp"
#include "config/config_error.hpp"
#include "config/screener_config.hpp"
#include "tools/screenerctl/commands.hpp"

namespace screener::ctl {

namespace {

bool parse_u32(std::string_view text, std::uint32_t& out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc{} && end == text.data() + text.size();
}

std::string mib(std::uint64_t bytes) { return fmt::format("{:.2f} MiB", static_cast<double>(bytes) / 1048576.0); }

void print_row(std::string_view region, std::uint64_t offset, std::uint64_t bytes, std::string_view shape) {
  fmt::print("{:<14} {:>12} {:>12} {:>12}  {}\n", region, offset, bytes, mib(bytes), shape);
}

}  // namespace

int run_layout(std::span<const std::string_view> args) {
  config::ScreenerConfig config = config::parse_config("", "<defaults>");
  std::vector<std::string_view> overrides;
  try {
    for (std::size_t i = 0; i < args.size(); ++i) {
      if (args[i] == "--config" && i + 1 < args.size()) {
        config = config::load_config(std::string(args[++i]));
      } else {
        overrides.push_back(args[i]);
      }
    }
  } catch (const config::ConfigError& error) {
    std::fprintf(stderr, "screenerctl layout: %s\n", error.what());
    return 2;
  }
  for (std::size_t i = 0; i < overrides.size(); ++i) {
    const std::string_view flag = overrides[i];
    if (i + 1 >= overrides.size()) {
      fmt::print(stderr, "screenerctl layout: {} needs a value\n", flag);
      return 2;
    }
    const std::string_view value = overrides[++i];
    bool ok = true;
    if (flag == "--symbols") {
      ok = parse_u32(value, config.segment.max_symbols);
    } else if (flag == "--depth") {
      ok = parse_u32(value, config.market.depth);
    } else if (flag == "--journal") {
      ok = parse_u32(value, config.segment.journal_capacity);
    } else if (flag == "--traders") {
      ok = parse_u32(value, config.segment.max_traders);
    } else if (flag == "--trader-text") {
      ok = parse_u32(value, config.segment.trader_text_bytes);
    } else if (flag == "--intervals") {
      config.market.intervals.clear();
      for (std::size_t start = 0; start <= value.size();) {
        const std::size_t comma = std::min(value.find(',', start), value.size());
        const auto interval = parse_interval(value.substr(start, comma - start));
        if (!interval) {
          fmt::print(stderr, "screenerctl layout: unknown interval '{}' in --intervals {}\n",
                     value.substr(start, comma - start), value);
          return 2;
        }
        config.market.intervals.push_back(*interval);
        start = comma + 1;
      }
    } else {
      fmt::print(stderr, "screenerctl layout: unknown argument '{}'\n", flag);
      return 2;
    }
    if (!ok) {
      fmt::print(stderr, "screenerctl layout: {} expects a non-negative integer, got '{}'\n", flag, value);
      return 2;
    }
  }

  const auto geometry = shm::make_geometry(config.segment.max_symbols, config.market.intervals, config.market.depth,
                                           config.segment.journal_capacity, config.segment.max_traders,
                                           config.segment.trader_text_bytes);
  if (!geometry) {
    fmt::print(stderr, "screenerctl layout: {}\n", geometry.error().message);
    return 2;
  }
  const shm::SegmentGeometry& g = *geometry;
  const shm::RegionTable r = shm::compute_regions(g);
  const std::uint64_t rings = std::uint64_t{g.max_symbols} * g.interval_count;
  std::string intervals;
  for (std::uint32_t i = 0; i < g.interval_count; ++i)
    intervals += (i ? "," : "") + std::string(interval_name(static_cast<Interval>(g.interval_codes[i])));

  fmt::print("geometry: {} symbols x {} intervals ({}) x {} bars, journal {} records; layout v{} hash {:#018x}\n",
             g.max_symbols, g.interval_count, intervals, g.ring_capacity, g.journal_capacity, shm::kLayoutVersion,
             shm::kLayoutHash);
  fmt::print("{:<14} {:>12} {:>12} {:>12}  {}\n", "region", "offset", "bytes", "", "shape");
  print_row("header", 0, shm::kHeaderSize, "1 page");
  print_row("symbols", r.symbols_offset, r.symbols_bytes, fmt::format("{} x {} B", g.max_symbols, sizeof(shm::SymbolSlot)));
  print_row("tickers", r.tickers_offset, r.tickers_bytes, fmt::format("{} x {} B", g.max_symbols, sizeof(shm::TickerSlot)));
  print_row("ring controls", r.ring_controls_offset, r.ring_controls_bytes,
            fmt::format("{} rings x {} B", rings, sizeof(shm::RingControl)));
  print_row("ring columns", r.ring_columns_offset, r.ring_columns_bytes,
            fmt::format("{} rings x {} columns x {} B", rings, shm::kColumnCount, r.column_stride));
  print_row("journal", r.journal_offset, r.journal_bytes,
            fmt::format("{} x {} B", g.journal_capacity, sizeof(shm::JournalRecord)));
  print_row("trader table", r.trader_table_offset, r.trader_table_bytes,
            fmt::format("1 page + {} x {} B + {} B of trader text", g.trader_capacity, sizeof(shm::TraderEntry),
                        g.trader_text_bytes));
  print_row("status", r.status_offset, r.status_bytes,
            fmt::format("1 page + {} x {} B + {} x {} B + {} x {} B + {} x {} B", shm::kStatusMaxConnections,
                        sizeof(shm::ConnectionStatus), shm::kStatusMaxWorkers, sizeof(shm::WorkerStatus),
                        g.trader_capacity, sizeof(shm::TraderStatus), shm::kStatusRecentSignals,
                        sizeof(shm::RecentSignal)));
  print_row("total", 0, shm::total_size(r), "posix_fallocate'd in /dev/shm at start");
  return 0;
}

}  // namespace screener::ctl
