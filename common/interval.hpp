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

namespace interval_detail {
// Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard Hinnant's algorithms).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct YearMonth {
  std::int64_t year;
  unsigned month;
};

constexpr YearMonth year_month_from_days(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2), m};
}

constexpr std::int64_t kDayMs = 86'400'000;
constexpr std::int64_t kWeekOffsetMs = 4 * kDayMs;  // Binance weeks start on Monday; 1970-01-01 was a Thursday

constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}
}  // namespace interval_detail

/// Open time of the bar of `interval` that contains `time_ms` (UTC).
[[nodiscard]] constexpr std::int64_t bar_open_time(Interval interval, std::int64_t time_ms) noexcept {
  using namespace interval_detail;
  if (interval == Interval::M1) {
    const YearMonth ym = year_month_from_days(floor_div(time_ms, kDayMs));
    return days_from_civil(ym.year, ym.month, 1) * kDayMs;
  }
  const std::int64_t length = interval_info(interval).duration_ms;
  const std::int64_t offset = interval == Interval::w1 ? kWeekOffsetMs : 0;
  return floor_div(time_ms - offset, length) * length + offset;
}

/// Whether `open_time_ms` is a bar boundary of `interval`.
[[nodiscard]] constexpr bool is_bar_open_time(Interval interval, std::int64_t open_time_ms) noexcept {
  return bar_open_time(interval, open_time_ms) == open_time_ms;
}

/// Open time of the bar after the one opening at `open_time_ms`.
[[nodiscard]] constexpr std::int64_t next_bar_open_time(Interval interval, std::int64_t open_time_ms) noexcept {
  using namespace interval_detail;
  if (interval == Interval::M1) {
    const YearMonth ym = year_month_from_days(floor_div(open_time_ms, kDayMs));
    return ym.month == 12 ? days_from_civil(ym.year + 1, 1, 1) * kDayMs
                          : days_from_civil(ym.year, ym.month + 1, 1) * kDayMs;
  }
  return open_time_ms + interval_info(interval).duration_ms;
}

/// Binance's close time of a bar: the last millisecond before the next bar opens.
[[nodiscard]] constexpr std::int64_t bar_close_time(Interval interval, std::int64_t open_time_ms) noexcept {
  return next_bar_open_time(interval, open_time_ms) - 1;
}

static_assert(interval_info(Interval::M1).name == "1M");
static_assert(bar_open_time(Interval::w1, 1'633'998'523'963) == 1'633'910'400'000);   // Mon 2021-10-11
static_assert(bar_open_time(Interval::M1, 1'633'998'523'963) == 1'633'046'400'000);   // 2021-10-01
static_assert(next_bar_open_time(Interval::M1, 1'638'316'800'000) == 1'640'995'200'000);  // Dec -> Jan
static_assert(bar_close_time(Interval::m1, 1'633'998'480'000) == 1'633'998'539'999);
static_assert(interval_info(Interval::h1).duration_ms == 3'600'000);

}  // namespace screener
