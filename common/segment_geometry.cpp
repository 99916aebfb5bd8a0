// SPDX-License-Identifier: Apache-2.0
#include "common/segment_geometry.hpp"

#include <bit>
#include <fmt/format.h>

namespace screener::shm {

namespace {
std::unexpected<SegmentError> invalid(std::string message) {
  return std::unexpected(SegmentError{SegmentErrc::InvalidGeometry, std::move(message)});
}
}  // namespace

std::expected<SegmentGeometry, SegmentError> make_geometry(std::uint32_t max_symbols,
                                                           std::span<const Interval> intervals,
                                                           std::uint32_t ring_capacity,
                                                           std::uint32_t journal_capacity,
                                                           std::uint32_t trader_capacity,
                                                           std::uint32_t trader_text_bytes) {
  if (max_symbols == 0 || max_symbols > kMaxSymbolsLimit)
    return invalid(fmt::format("max_symbols = {} is out of range [1, {}]", max_symbols, kMaxSymbolsLimit));
  if (intervals.empty() || intervals.size() > kMaxIntervals)
    return invalid(fmt::format("{} intervals configured; between 1 and {} are supported", intervals.size(),
                               kMaxIntervals));
  if (ring_capacity < 2 || ring_capacity > kRingCapacityLimit)
    return invalid(fmt::format("history depth = {} is out of range [2, {}]", ring_capacity, kRingCapacityLimit));
  if (journal_capacity < kMinJournalCapacity || journal_capacity > kMaxJournalCapacity ||
      !std::has_single_bit(journal_capacity))
    return invalid(fmt::format("journal capacity = {} must be a power of two in [{}, {}]", journal_capacity,
                               kMinJournalCapacity, kMaxJournalCapacity));

  if (trader_capacity == 0 || trader_capacity > kMaxTraderCapacity)
    return invalid(fmt::format("max_traders = {} is out of range [1, {}]", trader_capacity, kMaxTraderCapacity));
  if (trader_text_bytes < kMinTraderTextBytes || trader_text_bytes > kMaxTraderTextBytes || trader_text_bytes % 8 != 0)
    return invalid(fmt::format("trader text area = {} bytes must be a multiple of 8 in [{}, {}]", trader_text_bytes,
                               kMinTraderTextBytes, kMaxTraderTextBytes));
  SegmentGeometry g{};
  g.trader_capacity = trader_capacity;
  g.trader_text_bytes = trader_text_bytes;
  g.max_symbols = max_symbols;
  g.interval_count = static_cast<std::uint32_t>(intervals.size());
  g.ring_capacity = ring_capacity;
  g.journal_capacity = journal_capacity;
  for (std::size_t i = 0; i < intervals.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j)
      if (intervals[j] == intervals[i])
        return invalid(fmt::format("interval {} is listed twice", interval_name(intervals[i])));
    g.interval_codes[i] = static_cast<std::uint8_t>(intervals[i]);
  }
  return g;
}

int geometry_interval_index(const SegmentGeometry& g, Interval interval) noexcept {
  for (std::uint32_t i = 0; i < g.interval_count; ++i)
    if (g.interval_codes[i] == static_cast<std::uint8_t>(interval)) return static_cast<int>(i);
  return -1;
}

}  // namespace screener::shm
