// SPDX-License-Identifier: Apache-2.0
#pragma once

// A checked rule flattened into postfix code for a small stack machine over doubles, so that one
// trader-symbol evaluation is a loop over a few instructions instead of a walk over heap nodes.
//
// Values: a number, or for conditions 1.0 (true) / 0.0 (false); NaN means "not ready" and
// propagates exactly as in the batch evaluator (common/rules/evaluate.cpp): any operand not ready
// makes the result not ready (no short-circuit), and an arithmetic result that is not finite, or a
// division by zero, is not ready.

#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/rules/rules.hpp"

namespace screener::worker {

enum class OpCode : std::uint8_t {
  Constant, Bar, Indicator, Ticker,
  Negate, Not,
  Add, Sub, Mul, Div,
  Lt, Le, Gt, Ge, Eq, Ne, And, Or,
  CrossesAbove, CrossesBelow,  ///< pop a, b, a[1], b[1] (pushed in that order)
};

struct Instruction {
  OpCode op = OpCode::Constant;
  std::uint8_t interval = 0;   ///< Bar, Indicator: the segment's interval index
  std::uint8_t field = 0;      ///< Bar: rules::BarField; Ticker: rules::TickerField; Indicator: output index
  bool forming = false;        ///< Bar, Indicator: the forming bar was asked for
  std::uint32_t offset = 0;    ///< Bar, Indicator: bars back ([k], plus one inside crosses_*'s previous side)
  std::uint32_t key = 0;       ///< Indicator: the key's slot among its interval's keys
  double constant = 0;         ///< Constant
};

struct Program {
  std::vector<Instruction> code;
  std::uint32_t max_stack = 0;
};

/// How the compiler names things that belong to the engine: the segment's index of an interval,
/// and the slot of an indicator key (forming flag cleared) among the keys of its interval.
struct ProgramSymbols {
  std::function<std::uint8_t(Interval)> interval_index;
  std::function<std::uint32_t(const rules::IndicatorKey&)> key_slot;
};

/// Compiles the whole rule, or one sub-expression of it (e.g. an indicator term for a signal's
/// `values`). Throws std::invalid_argument for an output the indicator does not have (the checker
/// rejects those first).
[[nodiscard]] Program compile(const rules::CheckedRule& rule, const rules::Node& node, const ProgramSymbols& symbols);

/// The indicator terms of a rule, each once, in order of appearance: what a signal reports.
struct Term {
  std::string label;  ///< as written back by rules::to_string, e.g. "rsi(14)" or "ema(200)@1h"
  Program program;
};
[[nodiscard]] std::vector<Term> compile_terms(const rules::CheckedRule& rule, const ProgramSymbols& symbols);

namespace program_detail {

[[nodiscard]] inline double ready_or_nan(double v) noexcept { return std::isfinite(v) ? v : std::nan(""); }
[[nodiscard]] inline double truth(bool v) noexcept { return v ? 1.0 : 0.0; }

}  // namespace program_detail

/// Runs a program. `Source` provides
///   double bar(const Instruction&), double indicator(const Instruction&), double ticker(const Instruction&),
/// each returning NaN when the value is not ready. `stack` must hold program.max_stack values.
template <class Source>
[[nodiscard]] double run(const Program& program, Source& source, double* stack) noexcept {
  using namespace program_detail;
  std::size_t top = 0;
  for (const Instruction& in : program.code) {
    switch (in.op) {
      case OpCode::Constant: stack[top++] = in.constant; break;
      case OpCode::Bar: stack[top++] = source.bar(in); break;
      case OpCode::Indicator: stack[top++] = source.indicator(in); break;
      case OpCode::Ticker: stack[top++] = source.ticker(in); break;
      case OpCode::Negate: stack[top - 1] = -stack[top - 1]; break;
      case OpCode::Not: {
        const double a = stack[top - 1];
        stack[top - 1] = std::isnan(a) ? a : truth(a == 0.0);
        break;
      }
      case OpCode::CrossesAbove:
      case OpCode::CrossesBelow: {
        top -= 4;
        const double a = stack[top], b = stack[top + 1], a1 = stack[top + 2], b1 = stack[top + 3];
        if (std::isnan(a) || std::isnan(b) || std::isnan(a1) || std::isnan(b1)) {
          stack[top++] = std::nan("");
        } else if (in.op == OpCode::CrossesAbove) {
          stack[top++] = truth(a1 <= b1 && a > b);
        } else {
          stack[top++] = truth(a1 >= b1 && a < b);
        }
        break;
      }
      default: {
        const double b = stack[--top];
        const double a = stack[top - 1];
        double& r = stack[top - 1];
        if (std::isnan(a) || std::isnan(b)) {
          r = std::nan("");
          break;
        }
        switch (in.op) {
          case OpCode::Add: r = ready_or_nan(a + b); break;
          case OpCode::Sub: r = ready_or_nan(a - b); break;
          case OpCode::Mul: r = ready_or_nan(a * b); break;
          case OpCode::Div: r = b == 0 ? std::nan("") : ready_or_nan(a / b); break;
          case OpCode::Lt: r = truth(a < b); break;
          case OpCode::Le: r = truth(a <= b); break;
          case OpCode::Gt: r = truth(a > b); break;
          case OpCode::Ge: r = truth(a >= b); break;
          case OpCode::Eq: r = truth(a == b); break;
          case OpCode::Ne: r = truth(a != b); break;
          case OpCode::And: r = truth(a != 0.0 && b != 0.0); break;
          case OpCode::Or: r = truth(a != 0.0 || b != 0.0); break;
          default: break;
        }
      }
    }
  }
  return top == 1 ? stack[0] : std::nan("");
}

}  // namespace screener::worker
