// SPDX-License-Identifier: Apache-2.0
// `screenerctl symbols` and `screenerctl klines`: what the daemon holds, read straight from the
// segment. Values print as the shortest decimal that reads back as the same double, so the
// output round-trips exactly.

#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <string>
#include <vector>

#include "common/interval.hpp"
#include "common/kline_ring.hpp"
#include "common/segment_geometry.hpp"
#include "common/segment_reader.hpp"
#include "tools/screenerctl/commands.hpp"

namespace screener::ctl {

namespace {

template <std::size_t N>
std::string_view text_of(const std::array<char, N>& field) {
  return {field.data(), strnlen(field.data(), N)};
}

const char* slot_state_name(std::uint32_t state) {
  switch (static_cast<shm::SlotState>(state)) {
    case shm::SlotState::Free: return "free";
    case shm::SlotState::Active: return "active";
    case shm::SlotState::Retired: return "retired";
  }
  return "?";
}

const char* trading_status_name(std::uint32_t status) {
  static constexpr const char* kNames[] = {"UNKNOWN",       "PRE_TRADING", "TRADING", "POST_TRADING", "END_OF_DAY",
                                           "HALT",          "AUCTION_MATCH", "BREAK", "CANCEL_ONLY", "DELISTED"};
  return status < std::size(kNames) ? kNames[status] : "?";
}

struct Common {
  shm::ReaderOptions reader;
  std::vector<std::string_view> positional;
  std::size_t last = 0;
  bool has_last = false;
};

std::optional<Common> parse_common(std::string_view command, std::span<const std::string_view> args) {
  Common common;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--segment" && i + 1 < args.size()) {
      common.reader.name = std::string(args[++i]);
    } else if (args[i] == "--last" && i + 1 < args.size()) {
      const std::string_view value = args[++i];
      const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), common.last);
      if (error != std::errc{} || end != value.data() + value.size()) {
        fmt::print(stderr, "screenerctl {}: --last expects a non-negative integer, got '{}'\n", command, value);
        return std::nullopt;
      }
      common.has_last = true;
    } else if (args[i].starts_with("--")) {
      fmt::print(stderr, "screenerctl {}: unknown option '{}'\n", command, args[i]);
      return std::nullopt;
    } else {
      common.positional.push_back(args[i]);
    }
  }
  return common;
}

std::optional<shm::SegmentReader> attach(std::string_view command, const shm::ReaderOptions& options) {
  auto reader = shm::SegmentReader::open(options);
  if (!reader) {
    fmt::print(stderr, "screenerctl {}: {}\n", command, reader.error().message);
    return std::nullopt;
  }
  return std::move(*reader);
}

}  // namespace

int run_symbols(std::span<const std::string_view> args) {
  const auto common = parse_common("symbols", args);
  if (!common) return 2;
  auto reader = attach("symbols", common->reader);
  if (!reader) return 1;
  const shm::SegmentView& view = reader->view();
  fmt::print("slot,symbol,base,quote,status,slot_state,tick_size,step_size,complete_rings\n");
  for (std::uint32_t slot = 0; slot < view.max_symbols(); ++slot) {
    const auto info = shm::seqlock_read(&view.symbol_slot(slot)->info);
    if (!info || info->slot_state == static_cast<std::uint32_t>(shm::SlotState::Free)) continue;
    std::uint32_t complete = 0;
    for (std::uint32_t i = 0; i < view.interval_count(); ++i) {
      const auto state = shm::ring_read_state(view, view.ring_index(slot, i));
      if (state && state->complete()) ++complete;
    }
    fmt::print("{},{},{},{},{},{},{},{},{}/{}\n", slot, text_of(info->symbol), text_of(info->base_asset),
               text_of(info->quote_asset), trading_status_name(info->trading_status),
               slot_state_name(info->slot_state), info->tick_size, info->step_size, complete, view.interval_count());
  }
  return 0;
}

int run_klines(std::span<const std::string_view> args) {
  const auto common = parse_common("klines", args);
  if (!common) return 2;
  if (common->positional.size() != 2) {
    fmt::print(stderr, "usage: screenerctl klines SYMBOL INTERVAL [--last N] [--segment NAME]\n");
    return 2;
  }
  const std::string_view symbol = common->positional[0];
  const auto interval = parse_interval(common->positional[1]);
  if (!interval) {
    fmt::print(stderr, "screenerctl klines: unknown interval '{}'\n", common->positional[1]);
    return 2;
  }
  auto reader = attach("klines", common->reader);
  if (!reader) return 1;
  const shm::SegmentView& view = reader->view();
  const int interval_index = shm::geometry_interval_index(view.geometry(), *interval);
  if (interval_index < 0) {
    fmt::print(stderr, "screenerctl klines: the segment does not hold interval {}\n", common->positional[1]);
    return 1;
  }
  std::optional<std::uint32_t> slot;
  for (std::uint32_t s = 0; s < view.max_symbols() && !slot; ++s) {
    const auto info = shm::seqlock_read(&view.symbol_slot(s)->info);
    if (info && info->slot_state != static_cast<std::uint32_t>(shm::SlotState::Free) && text_of(info->symbol) == symbol)
      slot = s;
  }
  if (!slot) {
    fmt::print(stderr, "screenerctl klines: symbol {} is not in the segment (see screenerctl symbols)\n", symbol);
    return 1;
  }
  const std::uint32_t ring = view.ring_index(*slot, static_cast<std::uint32_t>(interval_index));
  std::vector<shm::Bar> bars(common->has_last ? std::min<std::size_t>(common->last, view.ring_capacity())
                                              : view.ring_capacity());
  const auto count = shm::ring_read_closed(view, ring, bars);
  if (!count) {
    fmt::print(stderr, "screenerctl klines: the ring kept changing while being read; try again\n");
    return 1;
  }
  bars.resize(*count);
  const auto forming = shm::ring_read_forming(view, ring);
  if (forming && common->has_last && !bars.empty() && bars.size() == common->last) bars.erase(bars.begin());

  fmt::print("open_time,open,high,low,close,volume,quote_volume,trades,taker_buy_base,taker_buy_quote,closed\n");
  auto print = [](const shm::Bar& bar, bool closed) {
    fmt::print("{},{},{},{},{},{},{},{},{},{},{}\n", bar.open_time_ms, bar.open, bar.high, bar.low, bar.close,
               bar.volume, bar.quote_volume, bar.trades, bar.taker_buy_base_volume, bar.taker_buy_quote_volume,
               closed ? "true" : "false");
  };
  for (const auto& bar : bars) print(bar, true);
  if (forming) print(*forming, false);
  return 0;
}

}  // namespace screener::ctl
