// SPDX-License-Identifier: Apache-2.0
// The rule language's front end: parsing, type checking, error positions, warm-up, canonical keys.
#include <array>
#include <string>

#include <catch2/catch.hpp>

#include "common/rules/rules.hpp"

using namespace screener;
using namespace screener::rules;

namespace {

constexpr std::array kHeld{Interval::m1, Interval::m15, Interval::h1, Interval::h4};

CheckOptions options(Interval trader = Interval::m1, int convergence = 10) {
  CheckOptions o;
  o.trader_interval = trader;
  o.held = kHeld;
  o.warmup.convergence_time_constants = convergence;
  return o;
}

CheckedRule ok(std::string_view text, const CheckOptions& o = options()) {
  auto r = load_rule(text, Origin{"t.toml", 1, 1}, o);
  INFO(text);
  INFO((r ? std::string() : r.error()));
  REQUIRE(r.has_value());
  return std::move(*r);
}

std::string err(std::string_view text, const CheckOptions& o = options(), const Origin& origin = Origin{"t.toml", 1, 1}) {
  auto r = load_rule(text, origin, o);
  INFO(text);
  REQUIRE_FALSE(r.has_value());
  return r.error();
}

int bars_for(const CheckedRule& r, Interval iv) {
  for (const IntervalBars& w : r.warmup)
    if (w.interval == iv) return w.bars;
  return -1;
}

}  // namespace

TEST_CASE("The issue's example parses and checks", "[rules]") {
  const CheckedRule r = ok("rsi(14) < 30 and close > ema(200)@1h and volume > 2 * sma(volume, 20)");
  CHECK(r.root.type == Type::Condition);
  REQUIRE(r.keys.size() == 3);
  CHECK(to_string(r.keys[0]) == "rsi(close, 14)@1m");
  CHECK(to_string(r.keys[1]) == "ema(close, 200)@1h");
  CHECK(to_string(r.keys[2]) == "sma(volume, 20)@1m");
  CHECK(to_string(r) == "rsi(14) < 30 and close > ema(200)@1h and volume > 2 * sma(volume, 20)");
}

TEST_CASE("Precedence: not binds looser than comparison, and tighter than and/or", "[rules]") {
  const CheckedRule r = ok("not close < open and volume > 1 or trades > 5");
  // ((not (close < open)) and (volume > 1)) or (trades > 5)
  REQUIRE(r.root.kind == Node::Kind::Binary);
  CHECK(r.root.binary_op == BinaryOp::Or);
  const Node& conj = r.root.children[0];
  CHECK(conj.binary_op == BinaryOp::And);
  CHECK(conj.children[0].kind == Node::Kind::Unary);
  CHECK(conj.children[0].unary_op == UnaryOp::Not);
  CHECK(conj.children[0].children[0].binary_op == BinaryOp::Lt);
  CHECK(to_string(r) == "not close < open and volume > 1 or trades > 5");
}

TEST_CASE("Arithmetic precedence and associativity, comparisons, unary minus", "[rules]") {
  const CheckedRule r = ok("close - open - 1 > 2 * high / low + -3");
  CHECK(to_string(r) == "close - open - 1 > 2 * high / low + -3");
  const Node& lhs = r.root.children[0];
  CHECK(lhs.binary_op == BinaryOp::Sub);
  CHECK(lhs.children[0].binary_op == BinaryOp::Sub);  // left-associative
  const Node& rhs = r.root.children[1];
  CHECK(rhs.binary_op == BinaryOp::Add);
  CHECK(rhs.children[0].binary_op == BinaryOp::Div);
  CHECK(rhs.children[1].value == -3);
  CHECK(to_string(ok("close - (open - 1) > 0")) == "close - (open - 1) > 0");
  CHECK(to_string(ok("(close > 1 or open > 1) and not (high > 2 and low < 1)")) ==
        "(close > 1 or open > 1) and not (high > 2 and low < 1)");
  for (const char* op : {"<", "<=", ">", ">=", "==", "!="}) ok(std::string("close ") + op + " 1.5");
  CHECK(err("close < open < high").find("comparisons do not chain") != std::string::npos);
}

TEST_CASE("Every function with its argument forms", "[rules]") {
  const char* rules[] = {
      "sma(20) > 0", "sma(volume, 20) > 0", "ema(9) > 0", "ema(high, 9) > 0", "wma(10) > 0", "wma(low, 10) > 0",
      "rsi(14) > 0", "rsi(open, 14) > 0", "macd(12, 26, 9).line > 0", "macd(12, 26, 9).signal > 0",
      "macd(12, 26, 9).hist > 0", "bbands(20, 2).upper > 0", "bbands(close, 20, 2).middle > 0",
      "bbands(20, 2.5).lower > 0", "bbands(20, 2).width > 0", "bbands(20, -2).percent_b > 0", "atr(14) > 0",
      "natr(14) > 0", "stoch(14, 3, 3).k > 0", "stoch(14, 3, 3).d > 0", "stochrsi(14, 3, 3).k > 0",
      "stochrsi(close, 14, 3, 3).d > 0", "adx(14) > 0", "plus_di(14) > 0", "minus_di(14) > 0", "cci(20) > 0",
      "mfi(14) > 0", "willr(14) > 0", "obv > 0", "obv() > 0", "roc(10) > 0", "roc(quote_volume, 10) > 0",
      "change_pct(1) > 0", "change_pct(volume, 24) > 0", "vwap > 0", "vwap() > 0", "highest(high, 20) > 0",
      "highest(20) > 0", "lowest(low, 20) > 0", "lowest(20) > 0", "crosses_above(ema(9), ema(21))",
      "crosses_below(close, sma(50))", "last_price > 1 and change_pct_24h > 5 and quote_volume_24h > 1000000",
      "trades > 100 and quote_volume > 1",
  };
  for (const char* rule : rules) ok(rule);
}

TEST_CASE("Outputs and offsets", "[rules]") {
  const CheckedRule r = ok("macd(12, 26, 9).hist[1] < 0 and macd(12,26,9).hist > 0 and close[2] > close[1]");
  REQUIRE(r.keys.size() == 1);
  const Node& first = r.root.children[0].children[0].children[0];
  CHECK(first.kind == Node::Kind::Indicator);
  CHECK(first.output == "hist");
  CHECK(first.offset == 1);
  CHECK(to_string(r) == "macd(12, 26, 9).hist[1] < 0 and macd(12, 26, 9).hist > 0 and close[2] > close[1]");
  // Offsets on the qualified form, either order.
  const CheckedRule q = ok("ema(20)@1h[1] > ema(20)[2]@1h");
  CHECK(q.root.children[0].offset == 1);
  CHECK(q.root.children[1].offset == 2);
  CHECK(q.keys.size() == 1);
  CHECK(err("macd(12, 26, 9) > 0").find("select one with .line, .signal or .hist") != std::string::npos);
  CHECK(err("rsi(14).line > 0").find("rsi has a single output") != std::string::npos);
  CHECK(err("macd(12, 26, 9).hsit > 0").find("(did you mean 'hist'?)") != std::string::npos);
  CHECK(err("(close + 1)[1] > 0").find("offset [k] applies only") != std::string::npos);
  CHECK(err("close[1.5] > 0").find("non-negative integer") != std::string::npos);
  CHECK(err("close[-1] > 0").find("non-negative integer") != std::string::npos);
  CHECK(err("last_price[1] > 0").find("takes no offset") != std::string::npos);
}

TEST_CASE("Timeframe qualifiers: @1h, @1h.forming, @forming, groups", "[rules]") {
  const CheckedRule r = ok("rsi(14)@1h < 30 and close@1h.forming > open@forming");
  CHECK(r.keys[0].interval == Interval::h1);
  CHECK_FALSE(r.keys[0].forming);
  const Node& close = r.root.children[1].children[0];
  CHECK(close.interval == Interval::h1);
  CHECK(close.forming);
  const Node& open = r.root.children[1].children[1];
  CHECK(open.interval == Interval::m1);
  CHECK(open.forming);
  CHECK(to_string(r) == "rsi(14)@1h < 30 and close@1h.forming > open@forming");

  const CheckedRule g = ok("(close > ema(50) and rsi(14)@4h > 50)@1h");
  CHECK(g.root.children[0].children[0].interval == Interval::h1);
  CHECK(g.keys[0].interval == Interval::h1);
  CHECK(g.keys[1].interval == Interval::h4);  // the innermost qualifier wins
  CHECK(ok("rsi(14)@1h.forming > 1").keys[0].forming);
  CHECK(to_string(ok("rsi(14)@1h.forming > 1").keys[0]) == "rsi(close, 14)@1h.forming");
}

TEST_CASE("Unheld and finer-than-trader intervals are errors", "[rules]") {
  CHECK(err("rsi(14)@2h > 1").find("interval '2h' is not held (held: 1m, 15m, 1h, 4h)") != std::string::npos);
  CHECK(err("rsi(14)@15m > 1", options(Interval::h1)).find("interval '15m' is finer than the trader's interval '1h'") !=
        std::string::npos);
  CHECK(err("rsi(14)@1hr > 1").find("unknown interval '1hr' (did you mean '1h'?)") != std::string::npos);
  ok("rsi(14)@4h > 1", options(Interval::h1));
}

TEST_CASE("Errors carry file:line:column, the source line and a caret", "[rules]") {
  // The rule sits in a TOML string starting at line 4, column 17.
  const std::string e = err("rsii(14) < 30", options(), Origin{"traders/momo.toml", 4, 17});
  CHECK(e ==
        "traders/momo.toml:4:17: unknown function 'rsii' (did you mean 'rsi'?)\n"
        "                rsii(14) < 30\n"
        "                ^~~~\n");
  const std::string e2 = err("close > 1 and\n  clsoe < 2", options(), Origin{"f.toml", 10, 9});
  CHECK(e2 ==
        "f.toml:11:3: unknown name 'clsoe' (did you mean 'close'?)\n"
        "  clsoe < 2\n"
        "  ^~~~~\n");
  CHECK(err("close > $").find("t.toml:1:9: unexpected character '$'") != std::string::npos);
  CHECK(err("close >").find("t.toml:1:8: expected a number, a name or '(', found end of rule") != std::string::npos);
  CHECK(err("rsi(14 < 30").find("expected ',' or ')'") != std::string::npos);
  CHECK(err("close = 1").find("write '==' to compare") != std::string::npos);
}

TEST_CASE("Type errors", "[rules]") {
  CHECK(err("rsi(14)") ==
        "t.toml:1:1: a rule must be a condition, but this is a number; compare it, e.g. '... > 0'\n"
        "rsi(14)\n"
        "^~~~~~~\n");
  CHECK(err("close and 1") ==
        "t.toml:1:1: 'and' needs a condition on the left, got a number\nclose and 1\n^~~~~\n"
        "t.toml:1:11: 'and' needs a condition on the right, got a number\nclose and 1\n          ^\n");
  CHECK(err("1 + (close < open) > 0") ==
        "t.toml:1:5: arithmetic '+' needs a number on the right, got a condition\n"
        "1 + (close < open) > 0\n"
        "    ^~~~~~~~~~~~~~\n");
  CHECK(err("not close").find("'not' needs a condition, got a number") != std::string::npos);
  CHECK(err("crosses_above(close > 1, open)").find("crosses_above needs a number, got a condition") !=
        std::string::npos);
  CHECK(err("crosses_above(close) ").find("takes 2 arguments") != std::string::npos);
}

TEST_CASE("Bad parameters are caught with the indicator library's messages", "[rules]") {
  CHECK(err("rsi(1) < 30").find("rsi: period must be an integer in [2, 100000], got 1") != std::string::npos);
  CHECK(err("ema(0) < 30").find("ema: period must be an integer in [2, 100000], got 0") != std::string::npos);
  CHECK(err("sma(2.5) < 30").find("sma: period must be an integer") != std::string::npos);
  CHECK(err("macd(12,26).line > 0").find("macd: expected 3 parameters, got 2") != std::string::npos);
  CHECK(err("rsi(14, 3) > 0").find("rsi: expected 1 parameter, got 2 (an optional source bar field may come first)") != std::string::npos);
  CHECK(err("rsi(open, 14, 3) > 0").find("rsi: expected 1 parameter, got 2") != std::string::npos);
  CHECK(err("rsi(close + 1, 14) > 0").find("the source of rsi must be a bar field") != std::string::npos);
  CHECK(err("atr(high, 14) > 0").find("atr takes no source series argument") != std::string::npos);
  CHECK(err("sma(close, n) > 0").find("a parameter of sma must be a number literal") != std::string::npos);
  CHECK(err("rsi > 0").find("'rsi' is a function: write rsi(...)") != std::string::npos);
  CHECK(err("close(1) > 0").find("'close' is a field, not a function") != std::string::npos);
}

TEST_CASE("Every error of a rule is reported in one pass", "[rules]") {
  const std::string e = err("rsii(14) < 30 and clsoe > ema(0)@2h or macd(12,26).hist > 1");
  CHECK(e.find("1:1: unknown function 'rsii' (did you mean 'rsi'?)") != std::string::npos);
  CHECK(e.find("1:19: unknown name 'clsoe' (did you mean 'close'?)") != std::string::npos);
  CHECK(e.find("1:27: ema: period must be an integer") != std::string::npos);
  CHECK(e.find("1:34: interval '2h' is not held") != std::string::npos);
  CHECK(e.find("macd: expected 3 parameters, got 2") != std::string::npos);
}

TEST_CASE("Warm-up: lookback + 1 + largest offset + convergence margin, per interval", "[rules]") {
  // rsi lookback 14 -> 15 bars, + 10 x 14 margin.
  CHECK(bars_for(ok("rsi(14) < 30"), Interval::m1) == 15 + 140);  // Wilder: 10 x 14
  CHECK(bars_for(ok("rsi(14) < 30", options(Interval::m1, 0)), Interval::m1) == 15);
  // sma: not recursive; lookback 19, offset 3 -> 23.
  CHECK(bars_for(ok("sma(20)[3] > 0"), Interval::m1) == 23);
  // macd(12,26,9): lookback 33 -> 34, [1] -> 35, margin 10 x 26.
  CHECK(bars_for(ok("macd(12,26,9).hist[1] < 0"), Interval::m1) == 35 + 135);  // EMA: 10 x (26+1)/2
  // crosses counts as [1]: sma(50) lookback 49 -> 51; close -> 2.
  CHECK(bars_for(ok("crosses_above(close, sma(50))"), Interval::m1) == 51);
  // adx(14): lookback 27 -> 28 + 140; stoch(14,3,3): 17 -> 18; both at their own intervals.
  const CheckedRule r = ok("adx(14)@4h > 25 and stoch(14,3,3).k@1h < 20 and close[5] > 0");
  CHECK(bars_for(r, Interval::h4) == 28 + 140);
  CHECK(bars_for(r, Interval::h1) == 18);
  CHECK(bars_for(r, Interval::m1) == 6);
  REQUIRE(r.warmup.size() == 3);
  CHECK(r.warmup[0].interval == Interval::m1);  // ascending interval order
  // The example: ema(200)@1h needs 200 + 10 x 201/2 = 1205, which 1440 bars hold.
  const CheckedRule ex = ok("rsi(14) < 30 and close > ema(200)@1h and volume > 2 * sma(volume, 20)");
  CHECK(bars_for(ex, Interval::h1) == 1205);
  CHECK(bars_for(ex, Interval::m1) == 155);
  CHECK(ex.key_bars == std::vector<int>{155, 1205, 20});
  CHECK_FALSE(check_history(ex, 1440).has_value());
  CHECK(check_history(ex, 1000) == "rule needs 1205 bars of 1h history, 1000 are held");
  CHECK(check_history(ok("ema(300) > 0"), 1440) == "rule needs 1805 bars of 1m history, 1440 are held");
}

TEST_CASE("Canonical keys are deduplicated", "[rules]") {
  const CheckedRule r = ok("rsi(14) < 30 and rsi(14)[1] > 30");
  REQUIRE(r.keys.size() == 1);
  CHECK(to_string(r.keys[0]) == "rsi(close, 14)@1m");
  CHECK(r.key_bars[0] == 16 + 140);
  // Same function and parameters, different source / interval / forming: distinct keys.
  const CheckedRule d = ok("sma(20) > sma(close, 20) and sma(volume, 20) > 0 and sma(20)@1h > sma(20)@1h.forming");
  CHECK(d.keys.size() == 4);
  CHECK(ok("stoch(14,3,3).k > stoch(14,3,3).d").keys.size() == 1);
  CHECK(to_string(ok("obv > obv[1]").keys[0]) == "obv()@1m");
}

TEST_CASE("Size and nesting limits keep every rule small", "[rules]") {
  std::string deep(70, '(');
  deep += "close";
  deep += std::string(70, ')');
  deep += " > 0";
  CHECK(err(deep).find("nests deeper than 64 levels") != std::string::npos);
  std::string fine(30, '(');
  fine += "close" + std::string(30, ')') + " > 0";
  ok(fine);
  CHECK(err(std::string(5000, ' ') + "close > 0").find("the limit is 4096") != std::string::npos);
}

TEST_CASE("Edit distance counts a transposition as one", "[rules]") {
  CHECK(edit_distance("clsoe", "close") == 1);
  CHECK(edit_distance("rsii", "rsi") == 1);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("kitten", "sitting") == 3);
}
