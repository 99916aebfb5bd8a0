// SPDX-License-Identifier: Apache-2.0
#pragma once

// The rule language's front end (namespace screener::rules): lexer, parser, type checker, warm-up
// and canonical indicator keys. See docs/rules.md for the language.
//
//   text --parse()--> Expr (untyped AST, source spans) --check()--> CheckedRule (typed, resolved)
//
// load_rule() does both and formats every error as `file:line:column: message`, the source line
// and a caret line.

#include <cstddef>
#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/interval.hpp"

namespace screener::rules {

inline constexpr std::size_t kMaxRuleLength = 4096;  ///< bytes of rule text
inline constexpr int kMaxDepth = 64;                 ///< nesting of sub-expressions

/// Where the rule text starts in its file (e.g. the first character inside a TOML string).
struct Origin {
  std::string file = "<rule>";
  int line = 1;    ///< 1-based line of the rule's first character
  int column = 1;  ///< 1-based column of the rule's first character
};

/// A span of the rule text. line and column are 1-based and relative to the rule text (Origin maps
/// them to the file); offset and length are in bytes.
struct Span {
  int line = 1;
  int column = 1;
  std::size_t offset = 0;
  std::size_t length = 1;
};

struct Diagnostic {
  Span span;
  std::string message;
};

/// `file:line:column: message`, the source line, and a caret line (`^~~~` under the span).
[[nodiscard]] std::string format_diagnostic(std::string_view text, const Origin& origin, const Diagnostic& d);
/// Every diagnostic, formatted, one after the other.
[[nodiscard]] std::string format_diagnostics(std::string_view text, const Origin& origin,
                                             std::span<const Diagnostic> diagnostics);

// ---- Untyped AST -----------------------------------------------------------------------------

enum class UnaryOp : std::uint8_t { Negate, Not };
enum class BinaryOp : std::uint8_t { Or, And, Lt, Le, Gt, Ge, Eq, Ne, Add, Sub, Mul, Div };

[[nodiscard]] std::string_view op_text(BinaryOp op) noexcept;

struct Expr {
  enum class Kind : std::uint8_t {
    Number,   ///< number
    Name,     ///< name: bar field, ticker field, or a function used without parentheses
    Call,     ///< name(children...)
    Unary,    ///< unary_op children[0]
    Binary,   ///< children[0] binary_op children[1]
    Index,    ///< children[0][offset]
    Member,   ///< children[0].name (output selector)
    Qualify,  ///< children[0]@name[.forming]; name empty for `@forming`
  };
  Kind kind = Kind::Number;
  Span span;       ///< the whole node
  Span name_span;  ///< Name/Call: the name; Member: the selector; Qualify: the interval (or `forming`)
  double number = 0;
  std::string name;
  int offset = 0;
  bool forming = false;
  UnaryOp unary_op = UnaryOp::Negate;
  BinaryOp binary_op = BinaryOp::Add;
  std::vector<std::unique_ptr<Expr>> children;
};

/// Parses a rule. On a syntax error `expr` is null and `errors` holds it (parsing stops at the
/// first syntax error; unknown characters are all reported).
struct ParseResult {
  std::unique_ptr<Expr> expr;
  std::vector<Diagnostic> errors;
};
[[nodiscard]] ParseResult parse(std::string_view text);

// ---- Checked form ------------------------------------------------------------------------------

enum class Type : std::uint8_t { Number, Condition };
enum class BarField : std::uint8_t { Open, High, Low, Close, Volume, QuoteVolume, Trades };
enum class TickerField : std::uint8_t { LastPrice, ChangePct24h, QuoteVolume24h };

[[nodiscard]] std::string_view field_name(BarField f) noexcept;
[[nodiscard]] std::string_view field_name(TickerField f) noexcept;

/// What a later evaluator computes once and shares: one incremental state per key (and symbol).
/// The output selector and the [k] offset are not part of the key: all outputs and all past values
/// come from the same state.
struct IndicatorKey {
  std::string function;         ///< the rule language's name, e.g. "macd"
  std::vector<double> params;   ///< as validated by ta::validate_params
  std::optional<BarField> source;  ///< set for the single-input indicators (default close)
  Interval interval = Interval::m1;
  bool forming = false;

  friend bool operator==(const IndicatorKey&, const IndicatorKey&) = default;
};
/// e.g. "rsi(close, 14)@1h", "macd(close, 12, 26, 9)@15m.forming", "atr(14)@1m".
[[nodiscard]] std::string to_string(const IndicatorKey& key);

struct Node {
  enum class Kind : std::uint8_t { Constant, Bar, Ticker, Indicator, Unary, Binary, Crosses };
  Kind kind = Kind::Constant;
  Type type = Type::Number;
  Span span;
  double value = 0;            ///< Constant
  BarField bar = BarField::Close;       ///< Bar
  TickerField ticker = TickerField::LastPrice;  ///< Ticker
  std::size_t key = 0;         ///< Indicator: index into CheckedRule::keys
  std::string output;          ///< Indicator: selector ("hist", "k", ...) or empty
  int offset = 0;              ///< Bar, Indicator: [k]
  Interval interval = Interval::m1;  ///< Bar, Indicator: resolved timeframe
  bool forming = false;        ///< Bar, Indicator: the forming bar was asked for
  UnaryOp unary_op = UnaryOp::Negate;
  BinaryOp binary_op = BinaryOp::Add;
  bool above = true;           ///< Crosses: crosses_above (true) or crosses_below
  std::vector<Node> children;
};

/// Bars needed for warm-up, per interval.
struct IntervalBars {
  Interval interval;
  int bars;
  friend bool operator==(const IntervalBars&, const IntervalBars&) = default;
};

/// Convergence margin for the recursive indicators (ema, macd, rsi, atr, natr, adx, plus_di,
/// minus_di, stochrsi): enough bars for the seed's weight to fall by e^-T, T time constants of
/// the smoothing (T / k bars, k = 2/(n+1) for EMAs, 1/n for Wilder). The default T = 10 leaves
/// the seed below 5e-5 of the value, and lets ema(200) fit a 1440-bar history (1205 bars).
struct WarmupPolicy {
  int convergence_time_constants = 10;
};

struct CheckOptions {
  Interval trader_interval = Interval::m1;
  std::span<const Interval> held;  ///< intervals whose bars are held; `@iv` must name one of them
  WarmupPolicy warmup;
};

struct CheckedRule {
  Node root;
  Interval trader_interval = Interval::m1;
  std::vector<IndicatorKey> keys;   ///< distinct, in order of first appearance
  std::vector<int> key_bars;        ///< bars each key needs (parallel to keys), margin included
  std::vector<IntervalBars> warmup;  ///< per interval, the bars required; ascending interval order
};

/// Types and resolves a parsed rule. Every error of the rule is returned, not just the first.
[[nodiscard]] std::expected<CheckedRule, std::vector<Diagnostic>> check(const Expr& expr, const CheckOptions& options);

/// parse() then check(); on failure, the formatted diagnostics (see format_diagnostics()).
[[nodiscard]] std::expected<CheckedRule, std::string> load_rule(std::string_view text, const Origin& origin,
                                                                const CheckOptions& options);

/// std::nullopt if `history_bars` per interval suffice, otherwise a message naming the numbers,
/// e.g. "rule needs 155 bars of 1h history, 100 are held".
[[nodiscard]] std::optional<std::string> check_history(const CheckedRule& rule, int history_bars);

/// Pretty-prints a checked (sub-)expression with minimal parentheses; `@iv` is shown where the
/// timeframe differs from the trader's, and `.forming` where asked for.
[[nodiscard]] std::string to_string(const CheckedRule& rule, const Node& node);
[[nodiscard]] inline std::string to_string(const CheckedRule& rule) { return to_string(rule, rule.root); }

/// Optimal-string-alignment edit distance (a transposition counts 1).
[[nodiscard]] std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace screener::rules
