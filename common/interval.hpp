// SPDX-License-Identifier: Apache-2.0
#pragma once

// Binance kline intervals. The segment stores an interval as its one-byte code, so the table's
// order is part of the segment ABI: append new intervals, never reorder.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace screener {

enum class Interval : std::uint8_t {
  s1 = 1, m1, m3, m5, m15, m30, h1, h2, h4, h6, h8, h12, d1, d3, w1, M1,
};

struct IntervalInfo {
  Interval code;
  std::string_view name;       ///< exactly as Binance spells it, case-sensitive ("1m" != "1M")
  std::int64_t duration_ms;    ///< nominal length; 0 for the calendar month, whose length varies
};

inline constexpr std::array<IntervalInfo, 16> kIntervals{{
    {Interval::s1, "1s", 1'000},
    {Interval::m1, "1m", 60'000},
    {Interval::m3, "3m", 180'000},
    {Interval::m5, "5m", 300'000},
    {Interval::m15, "15m", 900'000},
    {Interval::m30, "30m", 1'800'000},
    {Interval::h1, "1h", 3'600'000},
    {Interval::h2, "2h", 7'200'000},
    {Interval::h4, "4h", 14'400'000},
    {Interval::h6, "6h", 21'600'000},
    {Interval::h8, "8h", 28'800'000},
    {Interval::h12, "12h", 43'200'000},
    {Interval::d1, "1d", 86'400'000},
    {Interval::d3, "3d", 259'200'000},
    {Interval::w1, "1w", 604'800'000},
    {Interval::M1, "1M", 0},
}};

[[nodiscard]] constexpr std::optional<Interval> interval_from_code(std::uint8_t code) noexcept {
  for (const auto& info : kIntervals)
    if (static_cast<std::uint8_t>(info.code) == code) return info.code;
  return std::nullopt;
}

[[nodiscard]] constexpr std::optional<Interval> parse_interval(std::string_view name) noexcept {
  for (const auto& info : kIntervals)
    if (info.name == name) return info.code;
  return std::nullopt;
}

[[nodiscard]] constexpr const IntervalInfo& interval_info(Interval interval) noexcept {
  return kIntervals[static_cast<std::size_t>(interval) - 1];
}

[[nodiscard]] constexpr std::string_view interval_name(Interval interval) noexcept {
  return interval_info(interval).name;
}

static_assert(interval_info(Interval::M1).name == "1M");
static_assert(interval_info(Interval::h1).duration_ms == 3'600'000);

}  // namespace screener
