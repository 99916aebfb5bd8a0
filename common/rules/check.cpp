// SPDX-License-Identifier: Apache-2.0
// Type checker, name resolution, warm-up and canonical keys of the rule language.
#include <algorithm>
#include <cmath>
#include <array>
#include <map>

#include <fmt/format.h>

#include "common/indicators/indicators.hpp"
#include "common/rules/rules.hpp"

namespace screener::rules {

namespace {

constexpr std::array<std::pair<std::string_view, BarField>, 7> kBarFields{{
    {"open", BarField::Open},
    {"high", BarField::High},
    {"low", BarField::Low},
    {"close", BarField::Close},
    {"volume", BarField::Volume},
    {"quote_volume", BarField::QuoteVolume},
    {"trades", BarField::Trades},
}};

constexpr std::array<std::pair<std::string_view, TickerField>, 3> kTickerFields{{
    {"last_price", TickerField::LastPrice},
    {"change_pct_24h", TickerField::ChangePct24h},
    {"quote_volume_24h", TickerField::QuoteVolume24h},
}};

struct FunctionSpec {
  std::string_view name;
  std::size_t params;     ///< number of numeric parameters
  bool source;            ///< takes an optional source bar field as first argument (default close)
  std::array<std::string_view, 5> outputs;  ///< empty first entry: a single output
  bool recursive;         ///< gets the convergence margin
};

constexpr std::array<FunctionSpec, 22> kFunctions{{
    {"sma", 1, true, {}, false},
    {"ema", 1, true, {}, true},
    {"wma", 1, true, {}, false},
    {"rsi", 1, true, {}, true},
    {"macd", 3, false, {"line", "signal", "hist"}, true},
    {"bbands", 2, true, {"upper", "middle", "lower", "width", "percent_b"}, false},
    {"atr", 1, false, {}, true},
    {"natr", 1, false, {}, true},
    {"stoch", 3, false, {"k", "d"}, false},
    {"stochrsi", 3, true, {"k", "d"}, true},
    {"adx", 1, false, {}, true},
    {"plus_di", 1, false, {}, true},
    {"minus_di", 1, false, {}, true},
    {"cci", 1, false, {}, false},
    {"mfi", 1, false, {}, false},
    {"willr", 1, false, {}, false},
    {"obv", 0, false, {}, false},
    {"roc", 1, true, {}, false},
    {"change_pct", 1, true, {}, false},
    {"vwap", 0, false, {}, false},
    {"highest", 1, true, {}, false},
    {"lowest", 1, true, {}, false},
}};

const FunctionSpec* find_function(std::string_view name) {
  for (const FunctionSpec& f : kFunctions)
    if (f.name == name) return &f;
  return nullptr;
}

std::optional<BarField> find_bar_field(std::string_view name) {
  for (const auto& [n, f] : kBarFields)
    if (n == name) return f;
  return std::nullopt;
}

std::optional<TickerField> find_ticker_field(std::string_view name) {
  for (const auto& [n, f] : kTickerFields)
    if (n == name) return f;
  return std::nullopt;
}

std::size_t output_count(const FunctionSpec& f) {
  return static_cast<std::size_t>(std::count_if(f.outputs.begin(), f.outputs.end(),
                                                [](std::string_view o) { return !o.empty(); }));
}

std::string output_list(const FunctionSpec& f) {
  std::string out;
  const std::size_t n = output_count(f);
  for (std::size_t i = 0; i < n; ++i) {
    if (i != 0) out += i + 1 == n ? " or " : ", ";
    out += fmt::format(".{}", f.outputs[i]);
  }
  return out;
}

/// " (did you mean 'x'?)" for the closest candidate within distance 2 (1 for short names), or "".
std::string suggest(std::string_view name, const std::vector<std::string_view>& candidates) {
  std::string_view best;
  std::size_t best_d = std::string_view::npos;
  for (std::string_view c : candidates) {
    const std::size_t d = edit_distance(name, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  const std::size_t limit = name.size() <= 3 ? 1 : 2;
  if (best_d == 0 || best_d > limit) return {};
  return fmt::format(" (did you mean '{}'?)", best);
}

std::vector<std::string_view> all_names() {
  std::vector<std::string_view> names;
  for (const FunctionSpec& f : kFunctions) names.push_back(f.name);
  names.push_back("crosses_above");
  names.push_back("crosses_below");
  for (const auto& f : kBarFields) names.push_back(f.first);
  for (const auto& f : kTickerFields) names.push_back(f.first);
  for (const FunctionSpec& f : kFunctions)
    for (std::string_view o : f.outputs)
      if (!o.empty()) names.push_back(o);
  return names;
}

int lookback(std::string_view fn, const std::vector<double>& p) {
  auto i = [&](std::size_t k) { return static_cast<int>(p[k]); };
  if (fn == "sma") return ta::sma_lookback(i(0));
  if (fn == "ema") return ta::ema_lookback(i(0));
  if (fn == "wma") return ta::wma_lookback(i(0));
  if (fn == "rsi") return ta::rsi_lookback(i(0));
  if (fn == "macd") return ta::macd_lookback(i(0), i(1), i(2));
  if (fn == "bbands") return ta::bbands_lookback(i(0));
  if (fn == "atr") return ta::atr_lookback(i(0));
  if (fn == "natr") return ta::natr_lookback(i(0));
  if (fn == "stoch") return ta::stoch_lookback(i(0), i(1), i(2));
  if (fn == "stochrsi") return ta::stochrsi_lookback(i(0), i(1), i(2));
  if (fn == "adx") return ta::adx_lookback(i(0));
  if (fn == "plus_di") return ta::plus_di_lookback(i(0));
  if (fn == "minus_di") return ta::minus_di_lookback(i(0));
  if (fn == "cci") return ta::cci_lookback(i(0));
  if (fn == "mfi") return ta::mfi_lookback(i(0));
  if (fn == "willr") return ta::willr_lookback(i(0));
  if (fn == "obv") return ta::obv_lookback();
  if (fn == "roc") return ta::roc_lookback(i(0));
  if (fn == "change_pct") return ta::change_pct_lookback(i(0));
  if (fn == "vwap") return ta::vwap_lookback();
  if (fn == "highest") return ta::highest_lookback(i(0));
  return ta::lowest_lookback(i(0));  // lowest
}

/// The smoothing period the convergence margin is a multiple of.
/// Bars for the seed's weight to fall by e^-T: T / k, with k the smoothing factor, 2/(n+1) for
/// the EMA family (ema, macd's slow EMA) and 1/n for Wilder's smoothing (rsi, atr, natr, the
/// directional indicators, stochrsi's RSI).
int convergence_bars(std::string_view fn, const std::vector<double>& p, int time_constants) {
  const bool ema_family = fn == "ema" || fn == "macd";
  const double n = fn == "macd" ? std::max(p[0], p[1]) : p[0];
  const double bars_per_time_constant = ema_family ? (n + 1) / 2 : n;
  return static_cast<int>(std::ceil(time_constants * bars_per_time_constant));
}

std::string_view type_name(Type t) { return t == Type::Number ? "a number" : "a condition"; }

bool is_comparison(BinaryOp op) {
  return op == BinaryOp::Lt || op == BinaryOp::Le || op == BinaryOp::Gt || op == BinaryOp::Ge ||
         op == BinaryOp::Eq || op == BinaryOp::Ne;
}

struct Context {
  Interval interval;
  bool forming = false;
  int offset = 0;       ///< [k] applied to the series being checked
  int warm_extra = 0;   ///< crosses_*: one more past bar is needed
};

class Checker {
 public:
  explicit Checker(const CheckOptions& options) : options_(options) { rule_.trader_interval = options.trader_interval; }

  std::expected<CheckedRule, std::vector<Diagnostic>> run(const Expr& expr) {
    std::optional<Node> root = check(expr, Context{options_.trader_interval});
    if (root && root->type != Type::Condition) {
      error(expr.span, "a rule must be a condition, but this is a number; compare it, e.g. '... > 0'");
    }
    if (!errors_.empty()) return std::unexpected(std::move(errors_));
    rule_.root = std::move(*root);
    for (const auto& [iv, bars] : warmup_) rule_.warmup.push_back({iv, bars});
    return std::move(rule_);
  }

 private:
  void error(const Span& at, std::string message) { errors_.push_back({at, std::move(message)}); }

  void need(Interval iv, int bars) {
    int& b = warmup_[iv];
    b = std::max(b, bars);
  }

  static bool is_series(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::Name:
      case Expr::Kind::Call:
      case Expr::Kind::Member: return true;
      case Expr::Kind::Index:
      case Expr::Kind::Qualify: return is_series(*e.children[0]);
      default: return false;
    }
  }

  std::optional<Node> check(const Expr& e, const Context& ctx) {
    switch (e.kind) {
      case Expr::Kind::Number: {
        Node n;
        n.kind = Node::Kind::Constant;
        n.span = e.span;
        n.value = e.number;
        return n;
      }
      case Expr::Kind::Name: return check_name(e, ctx);
      case Expr::Kind::Call: return check_call(e, ctx, nullptr);
      case Expr::Kind::Member: {
        const Expr& target = *e.children[0];
        if (target.kind != Expr::Kind::Call) {
          error(e.name_span, fmt::format("output selector '.{}' applies only to an indicator call", e.name));
          return std::nullopt;
        }
        return check_call(target, ctx, &e);
      }
      case Expr::Kind::Index: {
        if (!is_series(*e.children[0])) {
          error(e.span, "an offset [k] applies only to a bar field or an indicator");
          return std::nullopt;
        }
        Context inner = ctx;
        inner.offset += e.offset;
        return check(*e.children[0], inner);
      }
      case Expr::Kind::Qualify: return check_qualify(e, ctx);
      case Expr::Kind::Unary: return check_unary(e, ctx);
      case Expr::Kind::Binary: return check_binary(e, ctx);
    }
    return std::nullopt;
  }

  std::optional<Node> check_qualify(const Expr& e, const Context& ctx) {
    Context inner = ctx;
    inner.forming = e.forming;
    bool ok = true;
    if (!e.name.empty()) {
      const std::optional<Interval> iv = parse_interval(e.name);
      if (!iv) {
        std::vector<std::string_view> names;
        for (const IntervalInfo& info : kIntervals) names.push_back(info.name);
        error(e.name_span, fmt::format("unknown interval '{}'{}", e.name, suggest(e.name, names)));
        ok = false;
      } else if (static_cast<int>(*iv) < static_cast<int>(options_.trader_interval)) {
        error(e.name_span, fmt::format("interval '{}' is finer than the trader's interval '{}'", e.name,
                                       interval_name(options_.trader_interval)));
        ok = false;
      } else if (std::find(options_.held.begin(), options_.held.end(), *iv) == options_.held.end()) {
        std::string held;
        for (Interval h : options_.held) held += fmt::format("{}{}", held.empty() ? "" : ", ", interval_name(h));
        error(e.name_span, fmt::format("interval '{}' is not held (held: {})", e.name, held.empty() ? "none" : held));
        ok = false;
      } else {
        inner.interval = *iv;
      }
    }
    std::optional<Node> child = check(*e.children[0], inner);
    if (!ok) return std::nullopt;
    return child;
  }

  std::optional<Node> check_unary(const Expr& e, const Context& ctx) {
    std::optional<Node> child = check(*e.children[0], ctx);
    const Type want = e.unary_op == UnaryOp::Not ? Type::Condition : Type::Number;
    if (!child) return std::nullopt;
    if (child->type != want) {
      error(e.children[0]->span, fmt::format("'{}' needs {}, got {}", e.unary_op == UnaryOp::Not ? "not" : "-",
                                             type_name(want), type_name(child->type)));
      return std::nullopt;
    }
    if (e.unary_op == UnaryOp::Negate && child->kind == Node::Kind::Constant) {
      child->value = -child->value;
      child->span = e.span;
      return child;
    }
    Node n;
    n.kind = Node::Kind::Unary;
    n.type = want;
    n.span = e.span;
    n.unary_op = e.unary_op;
    n.children.push_back(std::move(*child));
    return n;
  }

  std::optional<Node> check_binary(const Expr& e, const Context& ctx) {
    std::optional<Node> lhs = check(*e.children[0], ctx);
    std::optional<Node> rhs = check(*e.children[1], ctx);
    const BinaryOp op = e.binary_op;
    const bool logical = op == BinaryOp::And || op == BinaryOp::Or;
    const Type operand = logical ? Type::Condition : Type::Number;
    const std::string_view what = logical ? "" : is_comparison(op) ? "comparison " : "arithmetic ";
    bool ok = lhs && rhs;
    if (lhs && lhs->type != operand) {
      error(e.children[0]->span, fmt::format("{}'{}' needs {} on the left, got {}", what, op_text(op),
                                             type_name(operand), type_name(lhs->type)));
      ok = false;
    }
    if (rhs && rhs->type != operand) {
      error(e.children[1]->span, fmt::format("{}'{}' needs {} on the right, got {}", what, op_text(op),
                                             type_name(operand), type_name(rhs->type)));
      ok = false;
    }
    if (!ok) return std::nullopt;
    Node n;
    n.kind = Node::Kind::Binary;
    n.type = logical || is_comparison(op) ? Type::Condition : Type::Number;
    n.span = e.span;
    n.binary_op = op;
    n.children.push_back(std::move(*lhs));
    n.children.push_back(std::move(*rhs));
    return n;
  }

  std::optional<Node> check_name(const Expr& e, const Context& ctx) {
    if (const auto field = find_bar_field(e.name)) {
      Node n;
      n.kind = Node::Kind::Bar;
      n.span = e.span;
      n.bar = *field;
      n.offset = ctx.offset;
      n.interval = ctx.interval;
      n.forming = ctx.forming;
      need(ctx.interval, ctx.offset + ctx.warm_extra + 1);
      return n;
    }
    if (const auto ticker = find_ticker_field(e.name)) {
      if (ctx.offset != 0) {
        error(e.span, fmt::format("'{}' is a 24 h ticker value, not a series: it takes no offset [k]", e.name));
        return std::nullopt;
      }
      Node n;
      n.kind = Node::Kind::Ticker;
      n.span = e.span;
      n.ticker = *ticker;
      return n;
    }
    if (const FunctionSpec* f = find_function(e.name); f != nullptr && f->params == 0 && output_count(*f) == 0) {
      return check_call(e, ctx, nullptr);  // obv, vwap without parentheses
    }
    if (find_function(e.name) != nullptr || e.name == "crosses_above" || e.name == "crosses_below") {
      error(e.span, fmt::format("'{}' is a function: write {}(...)", e.name, e.name));
      return std::nullopt;
    }
    error(e.span, fmt::format("unknown name '{}'{}", e.name, suggest(e.name, all_names())));
    return std::nullopt;
  }

  std::optional<Node> check_crosses(const Expr& e, const Context& ctx) {
    if (e.children.size() != 2) {
      error(e.span, fmt::format("{} takes 2 arguments (a, b), got {}", e.name, e.children.size()));
      return std::nullopt;
    }
    Context inner = ctx;
    inner.warm_extra += 1;
    bool ok = true;
    Node n;
    n.kind = Node::Kind::Crosses;
    n.type = Type::Condition;
    n.span = e.span;
    n.above = e.name == "crosses_above";
    for (const auto& arg : e.children) {
      std::optional<Node> a = check(*arg, inner);
      if (a && a->type != Type::Number) {
        error(arg->span, fmt::format("{} needs a number, got a condition", e.name));
        a.reset();
      }
      if (!a) {
        ok = false;
        continue;
      }
      n.children.push_back(std::move(*a));
    }
    if (!ok) return std::nullopt;
    return n;
  }

  /// `e` is a Call (or a Name for obv / vwap); `member` the output selector around it, if any.
  std::optional<Node> check_call(const Expr& e, const Context& ctx, const Expr* member) {
    if (e.name == "crosses_above" || e.name == "crosses_below") {
      if (member != nullptr) {
        error(member->name_span, fmt::format("{} has no outputs", e.name));
        return std::nullopt;
      }
      if (ctx.offset != 0) {
        error(e.span, fmt::format("{} is a condition: it takes no offset [k]", e.name));
        return std::nullopt;
      }
      return check_crosses(e, ctx);
    }
    const FunctionSpec* f = find_function(e.name);
    if (f == nullptr) {
      std::vector<std::string_view> names;
      for (const FunctionSpec& s : kFunctions) names.push_back(s.name);
      names.push_back("crosses_above");
      names.push_back("crosses_below");
      std::string hint = suggest(e.name, names);
      if (hint.empty()) hint = suggest(e.name, all_names());
      const bool field = find_bar_field(e.name) || find_ticker_field(e.name);
      error(e.name_span, field ? fmt::format("'{}' is a field, not a function", e.name)
                               : fmt::format("unknown function '{}'{}", e.name, hint));
      return std::nullopt;
    }
    bool ok = true;
    // Source and parameters.
    std::size_t first = 0;
    std::optional<BarField> source;
    if (f->source) source = BarField::Close;
    const bool field_first = !e.children.empty() && e.children[0]->kind == Expr::Kind::Name &&
                             find_bar_field(e.children[0]->name).has_value();
    if (field_first && !f->source) {
      error(e.children[0]->span, fmt::format("{} takes no source series argument", f->name));
      ok = false;
      first = 1;
    } else if (field_first) {
      source = find_bar_field(e.children[0]->name);
      first = 1;
    } else if (f->source && e.children.size() == f->params + 1 && e.children[0]->kind != Expr::Kind::Number) {
      error(e.children[0]->span, fmt::format("the source of {} must be a bar field (open, high, low, close, "
                                             "volume, quote_volume or trades)", f->name));
      ok = false;
      first = 1;
    }
    std::vector<double> params;
    for (std::size_t i = first; i < e.children.size(); ++i) {
      const Expr& arg = *e.children[i];
      if (arg.kind == Expr::Kind::Number) {
        params.push_back(arg.number);
      } else if (arg.kind == Expr::Kind::Unary && arg.unary_op == UnaryOp::Negate &&
                 arg.children[0]->kind == Expr::Kind::Number) {
        params.push_back(-arg.children[0]->number);
      } else {
        error(arg.span, fmt::format("a parameter of {} must be a number literal", f->name));
        ok = false;
        params.push_back(0);
      }
    }
    if (ok) {
      if (auto message = ta::validate_params(f->name, params)) {
        std::string form;
        if (params.size() != f->params && f->source) form = " (an optional source bar field may come first)";
        error(e.span, *message + form);
        ok = false;
      }
    }
    // Output selector.
    std::string output;
    if (member != nullptr) {
      if (output_count(*f) == 0) {
        error(member->name_span, fmt::format("{} has a single output: remove '.{}'", f->name, member->name));
        ok = false;
      } else if (std::find(f->outputs.begin(), f->outputs.end(), member->name) == f->outputs.end()) {
        std::vector<std::string_view> outs(f->outputs.begin(), f->outputs.begin() + static_cast<std::ptrdiff_t>(output_count(*f)));
        error(member->name_span, fmt::format("{} has no output '{}'{}; its outputs are {}", f->name, member->name,
                                             suggest(member->name, outs), output_list(*f)));
        ok = false;
      } else {
        output = member->name;
      }
    } else if (output_count(*f) != 0) {
      error(e.span, fmt::format("{} has several outputs: select one with {}", f->name, output_list(*f)));
      ok = false;
    }
    if (!ok) return std::nullopt;

    IndicatorKey key{std::string(f->name), params, source, ctx.interval, ctx.forming};
    std::size_t index = 0;
    while (index < rule_.keys.size() && !(rule_.keys[index] == key)) ++index;
    if (index == rule_.keys.size()) {
      rule_.keys.push_back(std::move(key));
      rule_.key_bars.push_back(0);
    }
    int bars = lookback(f->name, params) + 1 + ctx.offset + ctx.warm_extra;
    if (f->recursive) bars += convergence_bars(f->name, params, options_.warmup.convergence_time_constants);
    rule_.key_bars[index] = std::max(rule_.key_bars[index], bars);
    need(ctx.interval, bars);

    Node n;
    n.kind = Node::Kind::Indicator;
    n.span = member != nullptr ? join_span(e.span, member->span) : e.span;
    n.key = index;
    n.output = std::move(output);
    n.offset = ctx.offset;
    n.interval = ctx.interval;
    n.forming = ctx.forming;
    return n;
  }

  static Span join_span(const Span& a, const Span& b) {
    Span s = a;
    s.length = std::max(a.offset + a.length, b.offset + b.length) - a.offset;
    return s;
  }

  const CheckOptions& options_;
  CheckedRule rule_;
  std::map<Interval, int> warmup_;
  std::vector<Diagnostic> errors_;
};

std::string number_text(double v) { return fmt::format("{}", v); }

int print_prec(const Node& n) {
  if (n.kind == Node::Kind::Binary) {
    switch (n.binary_op) {
      case BinaryOp::Or: return 1;
      case BinaryOp::And: return 2;
      case BinaryOp::Add:
      case BinaryOp::Sub: return 5;
      case BinaryOp::Mul:
      case BinaryOp::Div: return 6;
      default: return 4;
    }
  }
  if (n.kind == Node::Kind::Unary) return n.unary_op == UnaryOp::Not ? 3 : 7;
  if (n.kind == Node::Kind::Constant && n.value < 0) return 7;
  return 8;
}

void print(const CheckedRule& rule, const Node& n, std::string& out);

void print_child(const CheckedRule& rule, const Node& child, int min_prec, std::string& out) {
  if (print_prec(child) < min_prec) {
    out += '(';
    print(rule, child, out);
    out += ')';
  } else {
    print(rule, child, out);
  }
}

void print_suffix(const CheckedRule& rule, const Node& n, std::string& out) {
  if (n.offset != 0) out += fmt::format("[{}]", n.offset);
  if (n.interval != rule.trader_interval) {
    out += fmt::format("@{}{}", interval_name(n.interval), n.forming ? ".forming" : "");
  } else if (n.forming) {
    out += "@forming";
  }
}

void print(const CheckedRule& rule, const Node& n, std::string& out) {
  switch (n.kind) {
    case Node::Kind::Constant: out += number_text(n.value); return;
    case Node::Kind::Bar:
      out += field_name(n.bar);
      print_suffix(rule, n, out);
      return;
    case Node::Kind::Ticker: out += field_name(n.ticker); return;
    case Node::Kind::Indicator: {
      const IndicatorKey& k = rule.keys[n.key];
      out += k.function;
      const FunctionSpec* f = find_function(k.function);
      if (f->params != 0 || (k.source && *k.source != BarField::Close)) {
        out += '(';
        bool first = true;
        if (k.source && *k.source != BarField::Close) {
          out += field_name(*k.source);
          first = false;
        }
        for (double p : k.params) {
          out += first ? "" : ", ";
          out += number_text(p);
          first = false;
        }
        out += ')';
      }
      if (!n.output.empty()) out += fmt::format(".{}", n.output);
      print_suffix(rule, n, out);
      return;
    }
    case Node::Kind::Unary:
      if (n.unary_op == UnaryOp::Not) {
        out += "not ";
        print_child(rule, n.children[0], 4, out);
      } else {
        out += '-';
        print_child(rule, n.children[0], 7, out);
      }
      return;
    case Node::Kind::Binary: {
      const int p = print_prec(n);
      // Left-associative: the left operand may share the level (not for comparisons), the right not.
      print_child(rule, n.children[0], p == 4 ? p + 1 : p, out);
      out += fmt::format(" {} ", op_text(n.binary_op));
      print_child(rule, n.children[1], p + 1, out);
      return;
    }
    case Node::Kind::Crosses:
      out += n.above ? "crosses_above(" : "crosses_below(";
      print(rule, n.children[0], out);
      out += ", ";
      print(rule, n.children[1], out);
      out += ')';
      return;
  }
}

}  // namespace

std::string_view field_name(BarField f) noexcept { return kBarFields[static_cast<std::size_t>(f)].first; }
std::string_view field_name(TickerField f) noexcept { return kTickerFields[static_cast<std::size_t>(f)].first; }

std::string to_string(const IndicatorKey& key) {
  std::string args;
  if (key.source) args += field_name(*key.source);
  for (double p : key.params) args += fmt::format("{}{}", args.empty() ? "" : ", ", p);
  return fmt::format("{}({})@{}{}", key.function, args, interval_name(key.interval), key.forming ? ".forming" : "");
}

std::expected<CheckedRule, std::vector<Diagnostic>> check(const Expr& expr, const CheckOptions& options) {
  return Checker(options).run(expr);
}

std::expected<CheckedRule, std::string> load_rule(std::string_view text, const Origin& origin,
                                                  const CheckOptions& options) {
  ParseResult parsed = parse(text);
  if (!parsed.expr) return std::unexpected(format_diagnostics(text, origin, parsed.errors));
  auto checked = check(*parsed.expr, options);
  if (!checked) return std::unexpected(format_diagnostics(text, origin, checked.error()));
  return std::move(*checked);
}

std::optional<std::string> check_history(const CheckedRule& rule, int history_bars) {
  std::string message;
  for (const IntervalBars& w : rule.warmup) {
    if (w.bars <= history_bars) continue;
    message += fmt::format("{}rule needs {} bars of {} history, {} are held", message.empty() ? "" : "; ", w.bars,
                           interval_name(w.interval), history_bars);
  }
  if (message.empty()) return std::nullopt;
  return message;
}

std::string to_string(const CheckedRule& rule, const Node& node) {
  std::string out;
  print(rule, node, out);
  return out;
}

}  // namespace screener::rules
