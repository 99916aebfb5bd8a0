// SPDX-License-Identifier: Apache-2.0
#pragma once

// Kline CSV files as per-symbol bar series. Two layouts are read:
//   * the project's 7-column file with header `symbol,open_time_ms,open,high,low,close,volume`,
//     many symbols in one file, rows in (open_time, symbol) order; plain or gzip-compressed;
//   * the 12-column data.binance.vision archive layout (no header; futures files carry one), one
//     symbol per file, open and close times in ms or, from 2025 on, in µs.
// Every decimal keeps its exact source token beside the parsed double: a replay must re-send the
// source's values byte for byte (e.g. the volume `21554875.6999999993`), which a double cannot.

#include <array>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/interval.hpp"
#include "common/segment_layout.hpp"

namespace screener {

/// The decimal fields of a kline, in the order KlineSeries stores their texts.
enum class KlineField : std::uint8_t {
  Open, High, Low, Close, Volume, QuoteVolume, TakerBuyBaseVolume, TakerBuyQuoteVolume,
};
inline constexpr std::size_t kKlineFieldCount = 8;

/// The double of `field` in `bar`.
[[nodiscard]] double field_value(const shm::Bar& bar, KlineField field) noexcept;

/// One symbol's bars at one interval, strictly increasing open times, with the source text of
/// each decimal field. The texts share one buffer per series (16 bytes of index per bar) rather
/// than eight std::strings per bar: the 94-symbol week is 947 520 bars.
class KlineSeries {
 public:
  KlineSeries() = default;
  KlineSeries(std::string symbol, Interval interval) : symbol_(std::move(symbol)), interval_(interval) {}

  [[nodiscard]] const std::string& symbol() const noexcept { return symbol_; }
  [[nodiscard]] Interval interval() const noexcept { return interval_; }
  [[nodiscard]] const std::vector<shm::Bar>& bars() const noexcept { return bars_; }
  [[nodiscard]] std::size_t size() const noexcept { return bars_.size(); }
  [[nodiscard]] bool empty() const noexcept { return bars_.empty(); }

  /// Source text of a field of bar `index`; empty when the source had no such column.
  [[nodiscard]] std::string_view text(std::size_t index, KlineField field) const noexcept;

  /// Appends a bar; `texts` in KlineField order, each at most 255 bytes (empty: no source text).
  /// The caller keeps open times increasing (the loader checks it; append does not).
  void append(const shm::Bar& bar, std::span<const std::string_view, kKlineFieldCount> texts);
  /// Appends every bar of `other` (same symbol and interval, later open times).
  void append_series(const KlineSeries& other);
  void reserve(std::size_t bars, std::size_t text_bytes);
  /// Drops the spare capacity that growing by push_back leaves (up to half of a loaded series).
  void shrink_to_fit();
  void set_interval(Interval interval) noexcept { interval_ = interval; }

 private:
  struct TextRef {
    std::uint64_t offset;
    std::array<std::uint8_t, kKlineFieldCount> length;
  };
  std::string symbol_;
  Interval interval_ = Interval::m1;
  std::vector<shm::Bar> bars_;
  std::vector<TextRef> text_refs_;
  std::string text_;
};

struct KlineCsvOptions {
  /// 12-column files: the symbol of every row. Default: the file name up to the first '-'
  /// (`ADABTC-1m-2021-11-27.csv` is ADABTC). Ignored by the 7-column layout, which names it per row.
  std::optional<std::string> symbol;
  /// The bar interval. Default: detected from the smallest open-time spacing (or, for a single
  /// 12-column row, from its close time), and every open time must lie on its boundary.
  std::optional<Interval> interval;
};

/// Loads one file (plain or .gz: zlib reads both). Errors read `file:line: what (value)`.
/// Series come in order of first appearance; out-of-order or duplicate open times are errors.
[[nodiscard]] std::expected<std::vector<KlineSeries>, std::string> load_kline_csv(const std::string& path,
                                                                                  const KlineCsvOptions& options = {});

/// Loads several files and joins the series of each symbol (e.g. consecutive daily archive files,
/// given in any order). All series must share one interval; overlapping files are an error.
[[nodiscard]] std::expected<std::vector<KlineSeries>, std::string> load_kline_csv_files(
    std::span<const std::string> paths, const KlineCsvOptions& options = {});

/// The interval whose bars are `spacing_ms` apart, if any (1M when the spacing is 28 to 31 days).
[[nodiscard]] std::optional<Interval> interval_from_spacing(std::int64_t spacing_ms) noexcept;

}  // namespace screener
