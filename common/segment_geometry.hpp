// SPDX-License-Identifier: Apache-2.0
#pragma once

// Building and checking a SegmentGeometry from configured values.

#include <cstdint>
#include <expected>
#include <span>
#include <string>

#include "common/interval.hpp"
#include "common/segment_error.hpp"
#include "common/segment_layout.hpp"

namespace screener::shm {

/// Accepted ranges; the journal must also be a power of two.
inline constexpr std::uint32_t kMaxSymbolsLimit = 65'536;
inline constexpr std::uint32_t kRingCapacityLimit = 1U << 20;
inline constexpr std::uint32_t kMinJournalCapacity = 1U << 8;
inline constexpr std::uint32_t kMaxJournalCapacity = 1U << 24;

/// Defaults: 400 symbols x 6 intervals x 1440 bars, and a journal of 64 Ki records.
inline constexpr std::uint32_t kDefaultMaxSymbols = 400;
inline constexpr std::uint32_t kDefaultRingCapacity = 1440;
inline constexpr std::uint32_t kDefaultJournalCapacity = 1U << 16;
/// The trader table: up to 4096 traders and 4 MiB of trader file text by default.
inline constexpr std::uint32_t kDefaultTraderCapacity = 4096;
inline constexpr std::uint32_t kMaxTraderCapacity = 65'536;
inline constexpr std::uint32_t kDefaultTraderTextBytes = 4U << 20;
inline constexpr std::uint32_t kMinTraderTextBytes = 4096;
inline constexpr std::uint32_t kMaxTraderTextBytes = 256U << 20;
inline constexpr Interval kDefaultIntervals[] = {Interval::m1, Interval::m5, Interval::m15,
                                                 Interval::h1, Interval::h4, Interval::d1};

/// Checks every dimension; the error names the offending value and the accepted range.
[[nodiscard]] std::expected<SegmentGeometry, SegmentError> make_geometry(std::uint32_t max_symbols,
                                                                         std::span<const Interval> intervals,
                                                                         std::uint32_t ring_capacity,
                                                                         std::uint32_t journal_capacity,
                                                                         std::uint32_t trader_capacity = kDefaultTraderCapacity,
                                                                         std::uint32_t trader_text_bytes = kDefaultTraderTextBytes);

/// Interval of a ring's interval index.
[[nodiscard]] inline Interval geometry_interval(const SegmentGeometry& g, std::uint32_t interval_index) noexcept {
  return static_cast<Interval>(g.interval_codes[interval_index]);
}

/// Index of an interval in the geometry, or -1 when the segment does not hold it.
[[nodiscard]] int geometry_interval_index(const SegmentGeometry& g, Interval interval) noexcept;

}  // namespace screener::shm
