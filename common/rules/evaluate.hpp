// SPDX-License-Identifier: Apache-2.0
#pragma once

// Batch evaluation of a checked rule over closed bars (namespace screener::rules). See the
// "Evaluation" section of docs/rules.md.
//
//   load_expression(text) --> CheckedRule (a Condition, or a Number expression)
//   evaluate_series(rule, {interval, closed bars}...) --> one Value per bar of the trader's interval

#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/interval.hpp"
#include "common/rules/rules.hpp"
#include "common/segment_layout.hpp"

namespace screener::rules {

/// The value of an expression at one bar: a number, true/false, or not ready (`ready == false`:
/// an input before its lookback or offset, a missing higher-timeframe bar, a ticker field, an
/// arithmetic result that is not finite).
struct Value {
  bool ready = false;
  double number = 0;   ///< Number expressions
  bool truth = false;  ///< Condition expressions
};

/// The closed bars of one interval, oldest first, strictly increasing open times.
struct SeriesInput {
  Interval interval = Interval::m1;
  std::span<const shm::Bar> bars;
};

struct SeriesResult {
  Type type = Type::Condition;
  std::vector<Value> values;        ///< parallel to the trader interval's bars
  std::vector<std::string> notes;   ///< e.g. why ticker fields are never ready
};

/// Like load_rule(), but the expression may also be a Number (e.g. `rsi(14)` alone), as
/// `screenerctl eval` prints numbers. Conditions check exactly as with load_rule().
[[nodiscard]] std::expected<CheckedRule, std::string> load_expression(std::string_view text, const Origin& origin,
                                                                      const CheckOptions& options);

/// The intervals whose bars evaluate_series() needs: the trader's and every `@iv`, ascending.
[[nodiscard]] std::vector<Interval> required_intervals(const CheckedRule& rule);

/// Evaluates the rule at every bar of `rule.trader_interval`. `inputs` must hold every interval
/// of required_intervals(); an error names a missing one, or a `.forming` / `@forming` series
/// (not supported in batch evaluation).
[[nodiscard]] std::expected<SeriesResult, std::string> evaluate_series(const CheckedRule& rule,
                                                                       std::span<const SeriesInput> inputs);

/// Binance's aggregation of `base` (oldest first) into `target` bars: grouped by
/// bar_open_time(target, open time); first open, max high, min low, last close, summed volumes,
/// quote volumes, trades and taker volumes. Incomplete groups are dropped: the first if its
/// first base bar does not start at the group's open time, the last if its last base bar does
/// not end at the group's close time. An error if a base bar straddles two target bars (e.g.
/// 3m into 5m).
[[nodiscard]] std::expected<std::vector<shm::Bar>, std::string> aggregate_bars(std::span<const shm::Bar> base,
                                                                               Interval base_interval,
                                                                               Interval target);

/// `true`/`false` for a condition, the shortest round-trip decimal for a number, `nan` when not
/// ready.
[[nodiscard]] std::string format_value(Type type, const Value& value);

}  // namespace screener::rules
