// SPDX-License-Identifier: Apache-2.0
// Batch evaluation of checked rules over closed bars. See docs/rules.md, "Evaluation".
#include "common/rules/evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "common/indicators/indicators.hpp"

namespace screener::rules {

namespace {

double bar_value(const shm::Bar& b, BarField f) noexcept {
  switch (f) {
    case BarField::Open: return b.open;
    case BarField::High: return b.high;
    case BarField::Low: return b.low;
    case BarField::Close: return b.close;
    case BarField::Volume: return b.volume;
    case BarField::QuoteVolume: return b.quote_volume;
    case BarField::Trades: return static_cast<double>(b.trades);
  }
  return ta::kNaN;
}

std::vector<double> column(std::span<const shm::Bar> bars, BarField f) {
  std::vector<double> out(bars.size());
  for (std::size_t i = 0; i < bars.size(); ++i) out[i] = bar_value(bars[i], f);
  return out;
}

using Outputs = std::map<std::string, std::vector<double>, std::less<>>;

/// Every output of one key over its interval's bars (single output: key "").
Outputs compute_indicator(const IndicatorKey& key, std::span<const shm::Bar> bars) {
  const std::size_t n = bars.size();
  auto p = [&](std::size_t i) { return static_cast<int>(key.params[i]); };
  const std::vector<double> src = column(bars, key.source.value_or(BarField::Close));
  Outputs out;
  auto single = [&]() -> std::vector<double>& { return out[""] = std::vector<double>(n, ta::kNaN); };
  const std::string& fn = key.function;
  if (fn == "sma" || fn == "ema" || fn == "wma" || fn == "rsi" || fn == "roc" || fn == "change_pct" ||
      fn == "highest" || fn == "lowest") {
    std::vector<double>& o = single();
    if (fn == "sma") (void)ta::sma(src, p(0), o);
    else if (fn == "ema") (void)ta::ema(src, p(0), o);
    else if (fn == "wma") (void)ta::wma(src, p(0), o);
    else if (fn == "rsi") (void)ta::rsi(src, p(0), o);
    else if (fn == "roc") (void)ta::roc(src, p(0), o);
    else if (fn == "change_pct") (void)ta::change_pct(src, p(0), o);
    else if (fn == "highest") (void)ta::highest(src, p(0), o);
    else (void)ta::lowest(src, p(0), o);
    return out;
  }
  if (fn == "macd") {
    std::vector<double> line(n), signal(n), hist(n);
    (void)ta::macd(src, p(0), p(1), p(2), line, signal, hist);
    out["line"] = std::move(line);
    out["signal"] = std::move(signal);
    out["hist"] = std::move(hist);
    return out;
  }
  if (fn == "bbands") {
    std::vector<double> upper(n), middle(n), lower(n), width(n), pb(n);
    (void)ta::bbands(src, p(0), key.params[1], upper, middle, lower, width, pb);
    out["upper"] = std::move(upper);
    out["middle"] = std::move(middle);
    out["lower"] = std::move(lower);
    out["width"] = std::move(width);
    out["percent_b"] = std::move(pb);
    return out;
  }
  if (fn == "stochrsi") {
    std::vector<double> k(n), d(n);
    (void)ta::stochrsi(src, p(0), p(1), p(2), k, d);
    out["k"] = std::move(k);
    out["d"] = std::move(d);
    return out;
  }
  const std::vector<double> high = column(bars, BarField::High);
  const std::vector<double> low = column(bars, BarField::Low);
  const std::vector<double> close = column(bars, BarField::Close);
  if (fn == "stoch") {
    std::vector<double> k(n), d(n);
    (void)ta::stoch(high, low, close, p(0), p(1), p(2), k, d);
    out["k"] = std::move(k);
    out["d"] = std::move(d);
    return out;
  }
  std::vector<double>& o = single();
  if (fn == "atr") (void)ta::atr(high, low, close, p(0), o);
  else if (fn == "natr") (void)ta::natr(high, low, close, p(0), o);
  else if (fn == "adx") (void)ta::adx(high, low, close, p(0), o);
  else if (fn == "plus_di") (void)ta::plus_di(high, low, close, p(0), o);
  else if (fn == "minus_di") (void)ta::minus_di(high, low, close, p(0), o);
  else if (fn == "cci") (void)ta::cci(high, low, close, p(0), o);
  else if (fn == "willr") (void)ta::willr(high, low, close, p(0), o);
  else if (fn == "mfi") (void)ta::mfi(high, low, close, column(bars, BarField::Volume), p(0), o);
  else if (fn == "obv") (void)ta::obv(close, column(bars, BarField::Volume), o);
  else if (fn == "vwap") {
    std::vector<std::int64_t> times(n);
    for (std::size_t i = 0; i < n; ++i) times[i] = bars[i].open_time_ms;
    (void)ta::vwap(times, high, low, close, column(bars, BarField::Volume), o);
  }
  return out;
}

bool uses_forming(const Node& n) {
  if ((n.kind == Node::Kind::Bar || n.kind == Node::Kind::Indicator) && n.forming) return true;
  return std::any_of(n.children.begin(), n.children.end(), uses_forming);
}

bool uses_ticker(const Node& n) {
  if (n.kind == Node::Kind::Ticker) return true;
  return std::any_of(n.children.begin(), n.children.end(), uses_ticker);
}

void collect_intervals(const Node& n, std::vector<Interval>& out) {
  if (n.kind == Node::Kind::Bar || n.kind == Node::Kind::Indicator) out.push_back(n.interval);
  for (const Node& c : n.children) collect_intervals(c, out);
}

class Evaluator {
 public:
  Evaluator(const CheckedRule& rule, std::span<const SeriesInput> inputs) : rule_(rule), inputs_(inputs) {}

  std::expected<SeriesResult, std::string> run() {
    if (uses_forming(rule_.root))
      return std::unexpected(std::string(
          "'.forming' / '@forming' is not supported in batch evaluation: only closed bars are evaluated"));
    const std::vector<Interval> needed = required_intervals(rule_);
    for (Interval iv : needed) {
      const SeriesInput* in = find(iv);
      if (in == nullptr) return std::unexpected(fmt::format("no bars given for interval {}", interval_name(iv)));
    }
    trader_ = find(rule_.trader_interval)->bars;
    // Alignment by close time: for each trader bar, the last bar of each interval whose close
    // time <= the trader bar's close time.
    for (Interval iv : needed) {
      const std::span<const shm::Bar> bars = find(iv)->bars;
      std::vector<std::ptrdiff_t> align(trader_.size(), -1);
      std::size_t j = 0;
      for (std::size_t t = 0; t < trader_.size(); ++t) {
        const std::int64_t now = bar_close_time(rule_.trader_interval, trader_[t].open_time_ms);
        while (j < bars.size() && bar_close_time(iv, bars[j].open_time_ms) <= now) ++j;
        align[t] = static_cast<std::ptrdiff_t>(j) - 1;
      }
      align_[iv] = std::move(align);
    }
    for (std::size_t k = 0; k < rule_.keys.size(); ++k)
      indicators_.push_back(compute_indicator(rule_.keys[k], find(rule_.keys[k].interval)->bars));
    SeriesResult result;
    result.type = rule_.root.type;
    result.values = eval(rule_.root, 0);
    if (uses_ticker(rule_.root))
      result.notes.emplace_back(
          "ticker fields (last_price, change_pct_24h, quote_volume_24h) have no history: in batch evaluation "
          "they are never ready");
    return result;
  }

 private:
  const SeriesInput* find(Interval iv) const {
    for (const SeriesInput& in : inputs_)
      if (in.interval == iv) return &in;
    return nullptr;
  }

  /// A series node's values with `extra` more bars of offset (crosses_* evaluate a[1] this way).
  std::vector<Value> series(const Node& n, int extra) {
    std::vector<Value> out(trader_.size());
    const std::vector<std::ptrdiff_t>& align = align_.at(n.interval);
    const std::span<const shm::Bar> bars = find(n.interval)->bars;
    const std::vector<double>* values = nullptr;
    if (n.kind == Node::Kind::Indicator) values = &indicators_[n.key].at(n.output);
    const std::ptrdiff_t offset = n.offset + extra;
    for (std::size_t t = 0; t < trader_.size(); ++t) {
      const std::ptrdiff_t i = align[t] - offset;
      if (i < 0) continue;
      const double v = values != nullptr ? (*values)[static_cast<std::size_t>(i)]
                                         : bar_value(bars[static_cast<std::size_t>(i)], n.bar);
      if (std::isnan(v)) continue;
      out[t] = Value{true, v, false};
    }
    return out;
  }

  static Value arithmetic(BinaryOp op, const Value& a, const Value& b) {
    if (!a.ready || !b.ready) return {};
    double r = 0;
    switch (op) {
      case BinaryOp::Add: r = a.number + b.number; break;
      case BinaryOp::Sub: r = a.number - b.number; break;
      case BinaryOp::Mul: r = a.number * b.number; break;
      case BinaryOp::Div:
        if (b.number == 0) return {};
        r = a.number / b.number;
        break;
      default: return {};
    }
    if (!std::isfinite(r)) return {};
    return Value{true, r, false};
  }

  static Value binary(BinaryOp op, const Value& a, const Value& b) {
    if (!a.ready || !b.ready) return {};  // no short-circuit: `and` / `or` need both sides
    auto cond = [](bool v) { return Value{true, 0, v}; };
    switch (op) {
      case BinaryOp::Or: return cond(a.truth || b.truth);
      case BinaryOp::And: return cond(a.truth && b.truth);
      case BinaryOp::Lt: return cond(a.number < b.number);
      case BinaryOp::Le: return cond(a.number <= b.number);
      case BinaryOp::Gt: return cond(a.number > b.number);
      case BinaryOp::Ge: return cond(a.number >= b.number);
      case BinaryOp::Eq: return cond(a.number == b.number);
      case BinaryOp::Ne: return cond(a.number != b.number);
      default: return arithmetic(op, a, b);
    }
  }

  std::vector<Value> eval(const Node& n, int extra) {
    switch (n.kind) {
      case Node::Kind::Constant: return std::vector<Value>(trader_.size(), Value{true, n.value, false});
      case Node::Kind::Ticker: return std::vector<Value>(trader_.size());
      case Node::Kind::Bar:
      case Node::Kind::Indicator: return series(n, extra);
      case Node::Kind::Unary: {
        std::vector<Value> v = eval(n.children[0], extra);
        for (Value& x : v) {
          if (!x.ready) continue;
          if (n.unary_op == UnaryOp::Not) x.truth = !x.truth;
          else x.number = -x.number;
        }
        return v;
      }
      case Node::Kind::Binary: {
        std::vector<Value> a = eval(n.children[0], extra);
        const std::vector<Value> b = eval(n.children[1], extra);
        for (std::size_t t = 0; t < a.size(); ++t) a[t] = binary(n.binary_op, a[t], b[t]);
        return a;
      }
      case Node::Kind::Crosses: {
        const std::vector<Value> a = eval(n.children[0], extra);
        const std::vector<Value> b = eval(n.children[1], extra);
        const std::vector<Value> a1 = eval(n.children[0], extra + 1);
        const std::vector<Value> b1 = eval(n.children[1], extra + 1);
        std::vector<Value> out(a.size());
        for (std::size_t t = 0; t < a.size(); ++t) {
          if (!a[t].ready || !b[t].ready || !a1[t].ready || !b1[t].ready) continue;
          const bool crossed = n.above ? (a1[t].number <= b1[t].number && a[t].number > b[t].number)
                                       : (a1[t].number >= b1[t].number && a[t].number < b[t].number);
          out[t] = Value{true, 0, crossed};
        }
        return out;
      }
    }
    return std::vector<Value>(trader_.size());
  }

  const CheckedRule& rule_;
  std::span<const SeriesInput> inputs_;
  std::span<const shm::Bar> trader_;
  std::map<Interval, std::vector<std::ptrdiff_t>> align_;
  std::vector<Outputs> indicators_;
};

}  // namespace

std::expected<CheckedRule, std::string> load_expression(std::string_view text, const Origin& origin,
                                                        const CheckOptions& options) {
  ParseResult parsed = parse(text);
  if (!parsed.expr) return std::unexpected(format_diagnostics(text, origin, parsed.errors));
  // A Number expression checks as the rule `(expr) == 0`, whose left side is then taken; anything
  // else (a condition, or errors) checks as it is.
  Expr wrapped;
  wrapped.kind = Expr::Kind::Binary;
  wrapped.binary_op = BinaryOp::Eq;
  wrapped.span = parsed.expr->span;
  auto zero = std::make_unique<Expr>();
  zero->span = parsed.expr->span;
  wrapped.children.push_back(std::move(parsed.expr));
  wrapped.children.push_back(std::move(zero));
  if (auto number = check(wrapped, options)) {
    CheckedRule rule = std::move(*number);
    Node root = std::move(rule.root.children[0]);
    rule.root = std::move(root);
    return rule;
  }
  auto checked = check(*wrapped.children[0], options);
  if (!checked) return std::unexpected(format_diagnostics(text, origin, checked.error()));
  return std::move(*checked);
}

std::vector<Interval> required_intervals(const CheckedRule& rule) {
  std::vector<Interval> out{rule.trader_interval};
  collect_intervals(rule.root, out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::expected<SeriesResult, std::string> evaluate_series(const CheckedRule& rule,
                                                         std::span<const SeriesInput> inputs) {
  return Evaluator(rule, inputs).run();
}

std::expected<std::vector<shm::Bar>, std::string> aggregate_bars(std::span<const shm::Bar> base,
                                                                 Interval base_interval, Interval target) {
  std::vector<shm::Bar> out;
  if (base_interval == target) {
    out.assign(base.begin(), base.end());
    return out;
  }
  std::int64_t last_close = 0;  // close time of the last base bar of out.back()
  bool first_complete = true;
  for (const shm::Bar& b : base) {
    const std::int64_t open = bar_open_time(target, b.open_time_ms);
    const std::int64_t close = bar_close_time(base_interval, b.open_time_ms);
    if (bar_open_time(target, close) != open)
      return std::unexpected(fmt::format("{} bars cannot be aggregated into {} bars (the bar at {} spans two)",
                                         interval_name(base_interval), interval_name(target), b.open_time_ms));
    if (out.empty() || out.back().open_time_ms != open) {
      if (out.empty()) first_complete = b.open_time_ms == open;
      shm::Bar g = b;
      g.open_time_ms = open;
      out.push_back(g);
    } else {
      shm::Bar& g = out.back();
      g.high = std::max(g.high, b.high);
      g.low = std::min(g.low, b.low);
      g.close = b.close;
      g.volume += b.volume;
      g.quote_volume += b.quote_volume;
      g.trades += b.trades;
      g.taker_buy_base_volume += b.taker_buy_base_volume;
      g.taker_buy_quote_volume += b.taker_buy_quote_volume;
    }
    last_close = close;
  }
  if (!out.empty() && last_close != bar_close_time(target, out.back().open_time_ms)) out.pop_back();
  if (!out.empty() && !first_complete) out.erase(out.begin());
  return out;
}

std::string format_value(Type type, const Value& value) {
  if (!value.ready) return "nan";
  if (type == Type::Condition) return value.truth ? "true" : "false";
  return fmt::format("{}", value.number);
}

}  // namespace screener::rules
