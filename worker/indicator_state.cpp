// SPDX-License-Identifier: Apache-2.0
#include "worker/indicator_state.hpp"

#include <array>
#include <cassert>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

namespace screener::worker {

namespace {

struct FunctionOutputs {
  std::string_view function;
  std::array<std::string_view, kMaxOutputs> outputs;  ///< selector names; {""} for a single output
  std::uint8_t count;
};

// The rule language's functions (common/rules/check.cpp) with the outputs evaluate.cpp computes,
// in the order output_index() numbers them.
constexpr std::array<FunctionOutputs, 22> kFunctions{{
    {"sma", {""}, 1},
    {"ema", {""}, 1},
    {"wma", {""}, 1},
    {"rsi", {""}, 1},
    {"macd", {"line", "signal", "hist"}, 3},
    {"bbands", {"upper", "middle", "lower", "width", "percent_b"}, 5},
    {"atr", {""}, 1},
    {"natr", {""}, 1},
    {"stoch", {"k", "d"}, 2},
    {"stochrsi", {"k", "d"}, 2},
    {"adx", {""}, 1},
    {"plus_di", {""}, 1},
    {"minus_di", {""}, 1},
    {"cci", {""}, 1},
    {"mfi", {""}, 1},
    {"willr", {""}, 1},
    {"obv", {""}, 1},
    {"roc", {""}, 1},
    {"change_pct", {""}, 1},
    {"vwap", {""}, 1},
    {"highest", {""}, 1},
    {"lowest", {""}, 1},
}};

const FunctionOutputs* find_function(std::string_view name) noexcept {
  for (const FunctionOutputs& f : kFunctions)
    if (f.function == name) return &f;
  return nullptr;
}

/// The same conversion as the batch evaluator's bar_value(), so that both feed identical doubles.
double field(const shm::Bar& b, rules::BarField f) noexcept {
  switch (f) {
    case rules::BarField::Open: return b.open;
    case rules::BarField::High: return b.high;
    case rules::BarField::Low: return b.low;
    case rules::BarField::Close: return b.close;
    case rules::BarField::Volume: return b.volume;
    case rules::BarField::QuoteVolume: return b.quote_volume;
    case rules::BarField::Trades: return static_cast<double>(b.trades);
  }
  return ta::kNaN;
}

template <class T, class... Ts>
inline constexpr bool kOneOf = (std::is_same_v<T, Ts> || ...);

/// The indicators fed one series (the key's source field) rather than whole bars.
template <class T>
inline constexpr bool kSingleInput = kOneOf<T, ta::Sma, ta::Ema, ta::Wma, ta::Rsi, ta::Roc, ta::Highest, ta::Lowest,
                                            ta::Macd, ta::Bbands, ta::StochRsi>;

}  // namespace

std::optional<std::uint8_t> output_index(std::string_view function, std::string_view output) noexcept {
  const FunctionOutputs* f = find_function(function);
  if (f == nullptr) return std::nullopt;
  for (std::uint8_t i = 0; i < f->count; ++i)
    if (f->outputs[i] == output) return i;
  return std::nullopt;
}

namespace {

/// `key`, once it is known to describe a state: the batch functions and states assume valid
/// parameters, and reading params[i] assumes their count.
const rules::IndicatorKey& validated(const rules::IndicatorKey& key, std::size_t history) {
  if (find_function(key.function) == nullptr)
    throw std::invalid_argument(fmt::format("indicator state: unknown function '{}'", key.function));
  if (auto message = ta::validate_params(key.function, key.params))
    throw std::invalid_argument("indicator state: " + *message);
  if (history == 0) throw std::invalid_argument("indicator state: history must be at least 1");
  return key;
}

}  // namespace

IndicatorState::Impl IndicatorState::make_impl(const rules::IndicatorKey& key) {
  const std::string& fn = key.function;
  // Periods are validated integers; the batch evaluator converts them the same way.
  auto p = [&](std::size_t i) { return static_cast<int>(key.params[i]); };
  if (fn == "sma") return ta::Sma(p(0));
  if (fn == "ema") return ta::Ema(p(0));
  if (fn == "wma") return ta::Wma(p(0));
  if (fn == "rsi") return ta::Rsi(p(0));
  if (fn == "roc" || fn == "change_pct") return ta::Roc(p(0));
  if (fn == "highest") return ta::Highest(p(0));
  if (fn == "lowest") return ta::Lowest(p(0));
  if (fn == "macd") return ta::Macd(p(0), p(1), p(2));
  if (fn == "bbands") return ta::Bbands(p(0), key.params[1]);
  if (fn == "stochrsi") return ta::StochRsi(p(0), p(1), p(2));
  if (fn == "atr") return ta::Atr(p(0));
  if (fn == "natr") return ta::Natr(p(0));
  if (fn == "adx") return ta::Adx(p(0));
  if (fn == "plus_di") return ta::PlusDi(p(0));
  if (fn == "minus_di") return ta::MinusDi(p(0));
  if (fn == "cci") return ta::Cci(p(0));
  if (fn == "mfi") return ta::Mfi(p(0));
  if (fn == "willr") return ta::Willr(p(0));
  if (fn == "obv") return ta::Obv();
  if (fn == "vwap") return ta::Vwap();
  assert(fn == "stoch");
  return ta::Stoch(p(0), p(1), p(2));
}

IndicatorState::IndicatorState(const rules::IndicatorKey& key, std::size_t history)
    : impl_(make_impl(validated(key, history))),
      initial_(std::make_shared<const Impl>(impl_)),
      source_(key.source.value_or(rules::BarField::Close)),
      outputs_(find_function(key.function)->count),
      history_(history),
      head_(history - 1),
      values_(history * outputs_, ta::kNaN) {}

IndicatorState& IndicatorState::operator=(const IndicatorState& other) {
  if (this == &other) return *this;
  impl_ = other.impl_;
  // Usually the same pointer (scratch states are copies): skip the reference count's atomics.
  if (initial_ != other.initial_) initial_ = other.initial_;
  source_ = other.source_;
  outputs_ = other.outputs_;
  history_ = other.history_;
  head_ = other.head_;
  bars_ = other.bars_;
  values_ = other.values_;
  return *this;
}

void IndicatorState::update(const shm::Bar& bar) noexcept {
  head_ = head_ + 1 == history_ ? 0 : head_ + 1;
  ++bars_;
  double* out = values_.data() + (head_ * outputs_);
  std::visit(
      [&](auto& s) noexcept {
        using T = std::decay_t<decltype(s)>;
        if constexpr (kSingleInput<T>) {
          s.update(field(bar, source_));
        } else {
          s.update(bar);
        }
        const bool ready = s.ready();
        if constexpr (std::is_same_v<T, ta::Macd>) {
          const ta::MacdValue v = s.value();
          out[0] = ready ? v.line : ta::kNaN;
          out[1] = ready ? v.signal : ta::kNaN;
          out[2] = ready ? v.hist : ta::kNaN;
        } else if constexpr (std::is_same_v<T, ta::Bbands>) {
          const ta::BbandsValue v = s.value();
          out[0] = ready ? v.upper : ta::kNaN;
          out[1] = ready ? v.middle : ta::kNaN;
          out[2] = ready ? v.lower : ta::kNaN;
          out[3] = ready ? v.width : ta::kNaN;
          out[4] = ready ? v.percent_b : ta::kNaN;
        } else if constexpr (std::is_same_v<T, ta::Stoch> || std::is_same_v<T, ta::StochRsi>) {
          const ta::StochValue v = s.value();
          out[0] = ready ? v.k : ta::kNaN;
          out[1] = ready ? v.d : ta::kNaN;
        } else {
          out[0] = ready ? s.value() : ta::kNaN;
        }
      },
      impl_);
}

void IndicatorState::reset() noexcept {
  impl_ = *initial_;
  head_ = history_ - 1;
  bars_ = 0;
}

double IndicatorState::peek(const shm::Bar& forming, std::uint8_t output, IndicatorState& scratch) const noexcept {
  assert(&scratch != this);
  scratch = *this;
  scratch.update(forming);
  return scratch.value(output, 0);
}

}  // namespace screener::worker
