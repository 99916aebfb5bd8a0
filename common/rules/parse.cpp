// SPDX-License-Identifier: Apache-2.0
// Lexer, precedence-climbing parser and diagnostic formatting of the rule language.
#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "common/rules/rules.hpp"

namespace screener::rules {

namespace {

enum class Tok : std::uint8_t {
  Number, Ident, Interval, LParen, RParen, LBracket, RBracket, Comma, Dot, At,
  Plus, Minus, Star, Slash, Lt, Le, Gt, Ge, EqEq, Ne, End,
};

struct Token {
  Tok kind = Tok::End;
  Span span;
  std::string_view text;
};

bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_'; }
bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

class Lexer {
 public:
  Lexer(std::string_view text, std::vector<Diagnostic>& errors) : text_(text), errors_(errors) {}

  std::vector<Token> run() {
    std::vector<Token> out;
    bool after_at = false;
    for (;;) {
      skip_space();
      Token t;
      t.span = Span{line_, column_, pos_, 1};
      if (pos_ >= text_.size()) {
        t.kind = Tok::End;
        t.span.length = 0;
        out.push_back(t);
        return out;
      }
      const char c = text_[pos_];
      const std::size_t start = pos_;
      if (after_at && is_ident_char(c)) {  // `@1h`, `@forming`: one word of letters and digits
        while (pos_ < text_.size() && is_ident_char(text_[pos_])) advance();
        t.kind = Tok::Interval;
      } else if (is_digit(c)) {
        while (pos_ < text_.size() && is_digit(text_[pos_])) advance();
        if (pos_ + 1 < text_.size() && text_[pos_] == '.' && is_digit(text_[pos_ + 1])) {
          advance();
          while (pos_ < text_.size() && is_digit(text_[pos_])) advance();
        }
        t.kind = Tok::Number;
      } else if (is_ident_start(c)) {
        while (pos_ < text_.size() && is_ident_char(text_[pos_])) advance();
        t.kind = Tok::Ident;
      } else {
        const char n = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
        advance();
        switch (c) {
          case '(': t.kind = Tok::LParen; break;
          case ')': t.kind = Tok::RParen; break;
          case '[': t.kind = Tok::LBracket; break;
          case ']': t.kind = Tok::RBracket; break;
          case ',': t.kind = Tok::Comma; break;
          case '.': t.kind = Tok::Dot; break;
          case '@': t.kind = Tok::At; break;
          case '+': t.kind = Tok::Plus; break;
          case '-': t.kind = Tok::Minus; break;
          case '*': t.kind = Tok::Star; break;
          case '/': t.kind = Tok::Slash; break;
          case '<':
            t.kind = n == '=' ? Tok::Le : Tok::Lt;
            if (n == '=') advance();
            break;
          case '>':
            t.kind = n == '=' ? Tok::Ge : Tok::Gt;
            if (n == '=') advance();
            break;
          case '=':
          case '!':
            if (n == '=') {
              advance();
              t.kind = c == '=' ? Tok::EqEq : Tok::Ne;
              break;
            }
            errors_.push_back({t.span, c == '=' ? "unexpected '='; write '==' to compare"
                                                : "unexpected '!'; write 'not' or '!='"});
            after_at = false;
            continue;
          default:
            errors_.push_back({t.span, fmt::format("unexpected character '{}'", c)});
            after_at = false;
            continue;
        }
      }
      t.span.length = pos_ - start;
      t.text = text_.substr(start, pos_ - start);
      after_at = t.kind == Tok::At;
      out.push_back(t);
    }
  }

 private:
  void advance() {
    if (text_[pos_] == '\n') {
      ++line_;
      column_ = 1;
    } else {
      ++column_;
    }
    ++pos_;
  }
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])) != 0) advance();
  }

  std::string_view text_;
  std::vector<Diagnostic>& errors_;
  std::size_t pos_ = 0;
  int line_ = 1;
  int column_ = 1;
};

struct SyntaxError {};

Span join(const Span& a, const Span& b) {
  Span s = a;
  s.length = b.offset + b.length - a.offset;
  return s;
}

int precedence(Tok t) {
  switch (t) {
    case Tok::Lt: case Tok::Le: case Tok::Gt: case Tok::Ge: case Tok::EqEq: case Tok::Ne: return 4;
    case Tok::Plus: case Tok::Minus: return 5;
    case Tok::Star: case Tok::Slash: return 6;
    default: return 0;
  }
}

BinaryOp binary_op(Tok t) {
  switch (t) {
    case Tok::Lt: return BinaryOp::Lt;
    case Tok::Le: return BinaryOp::Le;
    case Tok::Gt: return BinaryOp::Gt;
    case Tok::Ge: return BinaryOp::Ge;
    case Tok::EqEq: return BinaryOp::Eq;
    case Tok::Ne: return BinaryOp::Ne;
    case Tok::Plus: return BinaryOp::Add;
    case Tok::Minus: return BinaryOp::Sub;
    case Tok::Star: return BinaryOp::Mul;
    default: return BinaryOp::Div;
  }
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, std::vector<Diagnostic>& errors) : toks_(std::move(tokens)), errors_(errors) {}

  std::unique_ptr<Expr> rule() {
    auto e = expression(1);
    if (peek().kind != Tok::End) fail(peek().span, fmt::format("unexpected {} after the end of the rule", describe(peek())));
    return e;
  }

 private:
  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser, const Span& at) : p(parser) {
      if (++p.depth_ > kMaxDepth) p.fail(at, fmt::format("the rule nests deeper than {} levels", kMaxDepth));
    }
    ~DepthGuard() { --p.depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;
  };

  const Token& peek() const { return toks_[pos_]; }
  const Token& next() { return toks_[pos_ < toks_.size() - 1 ? pos_++ : pos_]; }
  bool is_keyword(std::string_view kw) const { return peek().kind == Tok::Ident && peek().text == kw; }

  [[noreturn]] void fail(const Span& at, std::string message) {
    errors_.push_back({at, std::move(message)});
    throw SyntaxError{};
  }

  static std::string describe(const Token& t) {
    if (t.kind == Tok::End) return "end of rule";
    return fmt::format("'{}'", t.text);
  }

  const Token& expect(Tok kind, std::string_view what) {
    if (peek().kind != kind) fail(peek().span, fmt::format("expected {}, found {}", what, describe(peek())));
    return next();
  }

  static std::unique_ptr<Expr> make(Expr::Kind kind, const Span& span) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->span = span;
    return e;
  }

  // Levels: 1 or, 2 and, 3 not (prefix), 4 comparisons (non-associative), 5 + -, 6 * /, then unary
  // minus and postfix.
  std::unique_ptr<Expr> expression(int min_prec) {
    DepthGuard guard(*this, peek().span);
    auto lhs = prefix();
    for (;;) {
      int prec = 0;
      BinaryOp op{};
      if (is_keyword("or")) {
        prec = 1;
        op = BinaryOp::Or;
      } else if (is_keyword("and")) {
        prec = 2;
        op = BinaryOp::And;
      } else {
        prec = precedence(peek().kind);
        if (prec != 0) op = binary_op(peek().kind);
      }
      if (prec == 0 || prec < min_prec) return lhs;
      const Token op_tok = next();
      auto rhs = expression(prec + 1);
      if (prec == 4 && precedence(peek().kind) == 4) {
        fail(peek().span, fmt::format("comparisons do not chain: combine them with 'and'"));
      }
      auto bin = make(Expr::Kind::Binary, join(lhs->span, rhs->span));
      bin->name_span = op_tok.span;
      bin->binary_op = op;
      bin->children.push_back(std::move(lhs));
      bin->children.push_back(std::move(rhs));
      lhs = std::move(bin);
    }
  }

  std::unique_ptr<Expr> prefix() {
    if (is_keyword("not")) {
      const Token t = next();
      auto operand = expression(4);
      auto e = make(Expr::Kind::Unary, join(t.span, operand->span));
      e->unary_op = UnaryOp::Not;
      e->children.push_back(std::move(operand));
      return e;
    }
    if (peek().kind == Tok::Minus) {
      DepthGuard guard(*this, peek().span);
      const Token t = next();
      auto operand = prefix();
      auto e = make(Expr::Kind::Unary, join(t.span, operand->span));
      e->unary_op = UnaryOp::Negate;
      e->children.push_back(std::move(operand));
      return e;
    }
    return postfix(primary());
  }

  std::unique_ptr<Expr> primary() {
    const Token& t = peek();
    switch (t.kind) {
      case Tok::Number: {
        next();
        auto e = make(Expr::Kind::Number, t.span);
        const auto r = std::from_chars(t.text.data(), t.text.data() + t.text.size(), e->number);
        if (r.ec != std::errc{}) fail(t.span, fmt::format("number '{}' is out of range", t.text));
        return e;
      }
      case Tok::Ident: {
        if (t.text == "and" || t.text == "or" || t.text == "not") {
          fail(t.span, fmt::format("expected an operand, found '{}'", t.text));
        }
        const Token name = next();
        if (peek().kind != Tok::LParen) {
          auto e = make(Expr::Kind::Name, name.span);
          e->name = std::string(name.text);
          e->name_span = name.span;
          return e;
        }
        next();
        auto call = make(Expr::Kind::Call, name.span);
        call->name = std::string(name.text);
        call->name_span = name.span;
        if (peek().kind != Tok::RParen) {
          for (;;) {
            call->children.push_back(expression(1));
            if (peek().kind != Tok::Comma) break;
            next();
          }
        }
        const Token& close = expect(Tok::RParen, "',' or ')'");
        call->span = join(name.span, close.span);
        return call;
      }
      case Tok::LParen: {
        const Token open = next();
        auto inner = expression(1);
        const Token& close = expect(Tok::RParen, "')'");
        inner->span = join(open.span, close.span);
        return inner;
      }
      default:
        fail(t.span, fmt::format("expected a number, a name or '(', found {}", describe(t)));
    }
  }

  std::unique_ptr<Expr> postfix(std::unique_ptr<Expr> e) {
    for (;;) {
      if (peek().kind == Tok::LBracket) {
        next();
        const Token& k = peek();
        if (k.kind != Tok::Number || k.text.find('.') != std::string_view::npos) {
          fail(k.span, fmt::format("an offset must be a non-negative integer, found {}", describe(k)));
        }
        next();
        int value = 0;
        const auto r = std::from_chars(k.text.data(), k.text.data() + k.text.size(), value);
        if (r.ec != std::errc{} || value > 100000) fail(k.span, "an offset must be at most 100000");
        const Token& close = expect(Tok::RBracket, "']'");
        auto idx = make(Expr::Kind::Index, join(e->span, close.span));
        idx->offset = value;
        idx->name_span = k.span;
        idx->children.push_back(std::move(e));
        e = std::move(idx);
      } else if (peek().kind == Tok::Dot) {
        next();
        const Token& sel = expect(Tok::Ident, "an output name after '.'");
        auto mem = make(Expr::Kind::Member, join(e->span, sel.span));
        mem->name = std::string(sel.text);
        mem->name_span = sel.span;
        mem->children.push_back(std::move(e));
        e = std::move(mem);
      } else if (peek().kind == Tok::At) {
        next();
        const Token& iv = expect(Tok::Interval, "an interval after '@' (e.g. '@1h')");
        auto q = make(Expr::Kind::Qualify, join(e->span, iv.span));
        q->name_span = iv.span;
        if (iv.text == "forming") {
          q->forming = true;
        } else {
          q->name = std::string(iv.text);
          if (peek().kind == Tok::Dot && toks_[pos_ + 1].kind == Tok::Ident && toks_[pos_ + 1].text == "forming") {
            next();
            q->span = join(q->span, next().span);
            q->forming = true;
          }
        }
        q->children.push_back(std::move(e));
        e = std::move(q);
      } else {
        return e;
      }
    }
  }

  std::vector<Token> toks_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  std::vector<Diagnostic>& errors_;
};

}  // namespace

std::string_view op_text(BinaryOp op) noexcept {
  switch (op) {
    case BinaryOp::Or: return "or";
    case BinaryOp::And: return "and";
    case BinaryOp::Lt: return "<";
    case BinaryOp::Le: return "<=";
    case BinaryOp::Gt: return ">";
    case BinaryOp::Ge: return ">=";
    case BinaryOp::Eq: return "==";
    case BinaryOp::Ne: return "!=";
    case BinaryOp::Add: return "+";
    case BinaryOp::Sub: return "-";
    case BinaryOp::Mul: return "*";
    case BinaryOp::Div: return "/";
  }
  return "?";
}

ParseResult parse(std::string_view text) {
  ParseResult result;
  if (text.size() > kMaxRuleLength) {
    result.errors.push_back({Span{1, 1, 0, 1}, fmt::format("the rule is {} bytes long; the limit is {}", text.size(),
                                                             kMaxRuleLength)});
    return result;
  }
  std::vector<Token> tokens = Lexer(text, result.errors).run();
  if (!result.errors.empty()) return result;
  try {
    result.expr = Parser(std::move(tokens), result.errors).rule();
  } catch (const SyntaxError&) {
    result.expr.reset();
  }
  return result;
}

std::string format_diagnostic(std::string_view text, const Origin& origin, const Diagnostic& d) {
  const int line = origin.line + d.span.line - 1;
  const int pad = d.span.line == 1 ? origin.column - 1 : 0;  // the rule's first line starts mid-line
  const int column = pad + d.span.column;
  const std::size_t begin = std::min(d.span.offset, text.size()) - static_cast<std::size_t>(d.span.column - 1);
  std::size_t end = text.find('\n', begin);
  if (end == std::string_view::npos) end = text.size();
  const std::string_view source = text.substr(begin, end - begin);
  const std::size_t start_col = static_cast<std::size_t>(d.span.column - 1);
  std::size_t len = std::max<std::size_t>(d.span.length, 1);
  if (start_col < source.size()) len = std::min(len, source.size() - start_col);
  else len = 1;
  const std::string indent(static_cast<std::size_t>(pad), ' ');
  return fmt::format("{}:{}:{}: {}\n{}{}\n{}{}^{}\n", origin.file, line, column, d.message, indent, source, indent,
                     std::string(start_col, ' '), std::string(len - 1, '~'));
}

std::string format_diagnostics(std::string_view text, const Origin& origin, std::span<const Diagnostic> diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) out += format_diagnostic(text, origin, d);
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  std::vector<std::size_t> d((n + 1) * (m + 1));
  auto at = [&](std::size_t i, std::size_t j) -> std::size_t& { return d[i * (m + 1) + j]; };
  for (std::size_t i = 0; i <= n; ++i) at(i, 0) = i;
  for (std::size_t j = 0; j <= m; ++j) at(0, j) = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
      }
    }
  }
  return at(n, m);
}

}  // namespace screener::rules
