// SPDX-License-Identifier: Apache-2.0
#pragma once

// The worker's per-key indicator states. Each keeps the last values of every output, so that offsets
// (`rsi(14)[3]`) and crosses_*'s previous value are reads, not recomputations. After k updates,
// value(o, 0) is bit-identical to what rules::evaluate_series() computes at bar k - 1 of the same
// bars (NaN where that is not ready): both run the ta:: library, whose batch and incremental forms
// agree bit for bit.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "common/indicators/indicators.hpp"
#include "common/rules/rules.hpp"
#include "common/segment_layout.hpp"

namespace screener::worker {

/// Index of an output of an indicator function: "" -> 0 for single-output ones; macd line 0 signal 1 hist 2;
/// bbands upper 0 middle 1 lower 2 width 3 percent_b 4; stoch/stochrsi k 0 d 1. nullopt for an unknown pair.
[[nodiscard]] std::optional<std::uint8_t> output_index(std::string_view function, std::string_view output) noexcept;
inline constexpr std::size_t kMaxOutputs = 5;

/// One IndicatorKey's incremental state over one (symbol, interval) series, plus the last `history`
/// values of every output. The key's interval and forming flag do not enter the computation: they
/// tell the caller which bars to feed, and whether to read the forming bar through peek().
class IndicatorState {
 public:
  /// `history` >= 1: values kept per output (1 = only the latest). Throws std::invalid_argument for
  /// an unknown function, parameters ta::validate_params() refuses, or history == 0.
  IndicatorState(const rules::IndicatorKey& key, std::size_t history);

  IndicatorState(const IndicatorState&) = default;
  IndicatorState(IndicatorState&&) noexcept = default;
  /// Allocation-free when `other` has the same key and history (every buffer keeps its capacity).
  IndicatorState& operator=(const IndicatorState& other);
  IndicatorState& operator=(IndicatorState&&) noexcept = default;
  ~IndicatorState() = default;

  /// One closed bar. O(1), except CCI (O(n)) and the rolling extremes (amortised O(1)); no allocation.
  void update(const shm::Bar& bar) noexcept;
  /// Back to the freshly constructed state, keeping every allocation.
  void reset() noexcept;

  /// Value of output `output` `age` bars ago (0 = after the latest update); NaN if not ready then, or
  /// age >= history, or age >= bars(), or output >= outputs().
  [[nodiscard]] double value(std::uint8_t output, std::size_t age) const noexcept {
    if (output >= outputs_ || age >= history_ || age >= bars_) return ta::kNaN;
    const std::size_t slot = head_ >= age ? head_ - age : head_ + history_ - age;
    return values_[(slot * outputs_) + output];
  }
  /// Updates since construction or reset().
  [[nodiscard]] std::uint64_t bars() const noexcept { return bars_; }
  [[nodiscard]] std::uint8_t outputs() const noexcept { return outputs_; }
  [[nodiscard]] std::size_t history() const noexcept { return history_; }

  /// The value output `output` would have after update(forming), without changing this state: the
  /// intrabar value on the forming bar. `scratch` must be another state of the same key and history;
  /// it is assigned from *this and updated, so reusing it between calls makes peek allocation-free.
  /// Afterwards scratch holds that updated state.
  [[nodiscard]] double peek(const shm::Bar& forming, std::uint8_t output, IndicatorState& scratch) const noexcept;

 private:
  using Impl = std::variant<ta::Sma, ta::Ema, ta::Wma, ta::Rsi, ta::Roc, ta::Highest, ta::Lowest, ta::Macd,
                            ta::Bbands, ta::StochRsi, ta::Atr, ta::Natr, ta::Adx, ta::PlusDi, ta::MinusDi, ta::Cci,
                            ta::Mfi, ta::Willr, ta::Obv, ta::Vwap, ta::Stoch>;

  static Impl make_impl(const rules::IndicatorKey& key);

  Impl impl_;
  // The freshly constructed impl, which reset() copies back over impl_: the ta:: states have no
  // reset of their own, and constructing a new one would allocate. Copies of a state share it.
  std::shared_ptr<const Impl> initial_;
  rules::BarField source_ = rules::BarField::Close;
  std::uint8_t outputs_ = 1;
  std::size_t history_ = 1;
  std::size_t head_ = 0;  ///< slot of the latest values
  std::uint64_t bars_ = 0;
  std::vector<double> values_;  ///< history_ slots of outputs_ values, a ring
};

}  // namespace screener::worker
