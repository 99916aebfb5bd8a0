// SPDX-License-Identifier: Apache-2.0
#include "worker/rule_program.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "worker/indicator_state.hpp"

namespace screener::worker {

namespace {

class Compiler {
 public:
  Compiler(const rules::CheckedRule& rule, const ProgramSymbols& symbols) : rule_(rule), symbols_(symbols) {}

  Program run(const rules::Node& node) {
    emit(node, 0);
    program_.max_stack = static_cast<std::uint32_t>(max_depth_);
    return std::move(program_);
  }

 private:
  void push(Instruction in, int stack_delta) {
    program_.code.push_back(in);
    depth_ += stack_delta;
    max_depth_ = std::max(max_depth_, depth_);
  }

  void emit(const rules::Node& n, std::uint32_t extra) {
    using Kind = rules::Node::Kind;
    switch (n.kind) {
      case Kind::Constant: push(Instruction{.op = OpCode::Constant, .constant = n.value}, 1); return;
      case Kind::Ticker:
        push(Instruction{.op = OpCode::Ticker, .field = static_cast<std::uint8_t>(n.ticker)}, 1);
        return;
      case Kind::Bar:
        push(Instruction{.op = OpCode::Bar,
                         .interval = symbols_.interval_index(n.interval),
                         .field = static_cast<std::uint8_t>(n.bar),
                         .forming = n.forming,
                         .offset = static_cast<std::uint32_t>(n.offset) + extra},
             1);
        return;
      case Kind::Indicator: {
        rules::IndicatorKey key = rule_.keys[n.key];
        key.forming = false;
        const auto output = output_index(key.function, n.output);
        if (!output)
          throw std::invalid_argument(fmt::format("{} has no output '{}'", rules::to_string(key), n.output));
        push(Instruction{.op = OpCode::Indicator,
                         .interval = symbols_.interval_index(n.interval),
                         .field = *output,
                         .forming = n.forming,
                         .offset = static_cast<std::uint32_t>(n.offset) + extra,
                         .key = symbols_.key_slot(key)},
             1);
        return;
      }
      case Kind::Unary:
        emit(n.children[0], extra);
        push(Instruction{.op = n.unary_op == rules::UnaryOp::Not ? OpCode::Not : OpCode::Negate}, 0);
        return;
      case Kind::Binary:
        emit(n.children[0], extra);
        emit(n.children[1], extra);
        push(Instruction{.op = binary_op(n.binary_op)}, -1);
        return;
      case Kind::Crosses:
        emit(n.children[0], extra);
        emit(n.children[1], extra);
        emit(n.children[0], extra + 1);
        emit(n.children[1], extra + 1);
        push(Instruction{.op = n.above ? OpCode::CrossesAbove : OpCode::CrossesBelow}, -3);
        return;
    }
  }

  static OpCode binary_op(rules::BinaryOp op) {
    switch (op) {
      case rules::BinaryOp::Or: return OpCode::Or;
      case rules::BinaryOp::And: return OpCode::And;
      case rules::BinaryOp::Lt: return OpCode::Lt;
      case rules::BinaryOp::Le: return OpCode::Le;
      case rules::BinaryOp::Gt: return OpCode::Gt;
      case rules::BinaryOp::Ge: return OpCode::Ge;
      case rules::BinaryOp::Eq: return OpCode::Eq;
      case rules::BinaryOp::Ne: return OpCode::Ne;
      case rules::BinaryOp::Add: return OpCode::Add;
      case rules::BinaryOp::Sub: return OpCode::Sub;
      case rules::BinaryOp::Mul: return OpCode::Mul;
      case rules::BinaryOp::Div: return OpCode::Div;
    }
    return OpCode::Add;
  }

  const rules::CheckedRule& rule_;
  const ProgramSymbols& symbols_;
  Program program_;
  int depth_ = 0;
  int max_depth_ = 0;
};

void collect_terms(const rules::CheckedRule& rule, const rules::Node& n, const ProgramSymbols& symbols,
                   std::vector<Term>& out) {
  if (n.kind == rules::Node::Kind::Indicator) {
    std::string label = rules::to_string(rule, n);
    const bool seen = std::any_of(out.begin(), out.end(), [&](const Term& t) { return t.label == label; });
    if (!seen) out.push_back(Term{std::move(label), Compiler(rule, symbols).run(n)});
    return;
  }
  for (const rules::Node& c : n.children) collect_terms(rule, c, symbols, out);
}

}  // namespace

Program compile(const rules::CheckedRule& rule, const rules::Node& node, const ProgramSymbols& symbols) {
  return Compiler(rule, symbols).run(node);
}

std::vector<Term> compile_terms(const rules::CheckedRule& rule, const ProgramSymbols& symbols) {
  std::vector<Term> terms;
  collect_terms(rule, rule.root, symbols, terms);
  return terms;
}

}  // namespace screener::worker
