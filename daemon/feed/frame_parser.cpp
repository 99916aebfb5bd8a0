// SPDX-License-Identifier: Apache-2.0
#include "daemon/feed/frame_parser.hpp"

#include <simdjson.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <new>
#include <optional>
#include <utility>

// How a frame is read: one forward pass over the document (simdjson on-demand). Each object's
// fields are *collected* into a fixed struct (strings as views into the parser's string buffer,
// integers, booleans, each with a state: absent / present / wrong type / bad number) without
// judging them, because the event type "e" need not come first. Only when the document has been
// walked to its end is the frame classified, validated field by field and, if everything holds,
// delivered. A document error anywhere (truncation, bad escape, trailing bytes) is BadJson.

namespace screener::feed {
namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;
using simdjson::SUCCESS;

static_assert(kFramePadding == simdjson::SIMDJSON_PADDING, "kFramePadding must match the simdjson build");

enum class FieldState : std::uint8_t { Absent, Present, WrongType, BadNumber };

struct StringField {
  std::string_view text;
  FieldState state = FieldState::Absent;
};
struct IntField {
  std::int64_t value = 0;
  FieldState state = FieldState::Absent;
};
struct BoolField {
  bool value = false;
  FieldState state = FieldState::Absent;
};

struct KlineFields {
  IntField t, T, f, L, n;
  StringField s, i, o, c, h, l, v, q, V, Q, B;
  BoolField x;
};

/// The single-letter keys of an event object (kline, 24hrMiniTicker, serverShutdown and the
/// events we ignore, which share the letters but are never validated).
struct EventFields {
  StringField e, s, c, o, h, l, v, q;
  IntField E;
  FieldState k_state = FieldState::Absent;
  KlineFields k;
};

/// The multi-letter keys of the top-level object: the combined-stream wrapper and control replies.
struct TopFields {
  StringField stream;
  bool has_data = false;
  od::json_type data_type{};
  bool has_result = false;
  std::string_view result_text;
  bool has_id = false;
  bool id_null = false;
  IntField id;
  IntField code;
  StringField msg;
  FieldState error_state = FieldState::Absent;
  IntField error_object_code;   // "error":{"code":…,"msg":…}
  StringField error_object_msg;
};

enum class ArrayState : std::uint8_t { Empty, MiniTickers, Other };

// ------------------------------------------------------------------------------ field readers
// Each returns false only when the document itself is broken; a value of the wrong JSON type
// is recorded in the field's state, since it may belong to an event we are going to ignore.

// get_string / get_int64 report a value of another JSON type as INCORRECT_TYPE without moving
// the iterator (the value is then skipped like any unread one), so no type() peek is needed.

[[nodiscard]] bool read_string(od::value& value, StringField& out) noexcept {
  switch (value.get_string().get(out.text)) {
    case SUCCESS: out.state = FieldState::Present; return true;
    case simdjson::INCORRECT_TYPE: out.state = FieldState::WrongType; return true;
    default: return false;  // bad escape
  }
}

[[nodiscard]] bool read_int(od::value& value, IntField& out) noexcept {
  switch (value.get_int64().get(out.value)) {
    case SUCCESS: out.state = FieldState::Present; return true;
    case simdjson::NUMBER_OUT_OF_RANGE: out.state = FieldState::BadNumber; return true;
    case simdjson::INCORRECT_TYPE: {
      // Digits only: an integer beyond int64 (simdjson says INCORRECT_TYPE past 19 digits).
      // Anything else is another type: a fraction or exponent (1.5, 1e3), a string, true, {…}.
      const std::string_view token = value.raw_json_token();
      const std::size_t end = token.find_last_not_of(" \t\r\n");
      const std::string_view number = token.substr(0, end == std::string_view::npos ? 0 : end + 1);
      const bool digits_only =
          !number.empty() && number.find_first_not_of("-0123456789") == std::string_view::npos;
      out.state = digits_only ? FieldState::BadNumber : FieldState::WrongType;
      return true;
    }
    default: return false;  // "12x"
  }
}

[[nodiscard]] bool read_bool(od::value& value, BoolField& out) noexcept {
  od::json_type type{};
  if (value.type().get(type) != SUCCESS) return false;
  if (type != od::json_type::boolean) {
    out.state = FieldState::WrongType;
    return true;
  }
  if (value.get_bool().get(out.value) != SUCCESS) return false;  // "tru"
  out.state = FieldState::Present;
  return true;
}

/// The key's text. Binance never escapes keys, so the raw bytes up to the closing quote are the
/// key (stage 1 guarantees the quote exists); an escaped key is unescaped into the string buffer.
[[nodiscard]] bool field_key(od::field& field, std::string_view& key) noexcept {
  const char* const raw = field.key().raw();
  std::size_t length = 0;
  while (raw[length] != '"') {
    if (raw[length] == '\\') return field.unescaped_key().get(key) == SUCCESS;
    ++length;
  }
  key = std::string_view(raw, length);
  return true;
}

[[nodiscard]] bool read_kline_object(od::value& value, EventFields& event) noexcept {
  od::json_type type{};
  if (value.type().get(type) != SUCCESS) return false;
  if (type != od::json_type::object) {
    event.k_state = FieldState::WrongType;
    return true;
  }
  od::object object;
  if (value.get_object().get(object) != SUCCESS) return false;
  KlineFields& k = event.k;
  for (auto field_result : object) {
    od::field field;
    std::string_view key;
    if (std::move(field_result).get(field) != SUCCESS || !field_key(field, key)) return false;
    if (key.size() != 1) continue;
    od::value& v = field.value();
    bool ok = true;
    switch (key[0]) {
      case 't': ok = read_int(v, k.t); break;
      case 'T': ok = read_int(v, k.T); break;
      case 'f': ok = read_int(v, k.f); break;
      case 'L': ok = read_int(v, k.L); break;
      case 'n': ok = read_int(v, k.n); break;
      case 's': ok = read_string(v, k.s); break;
      case 'i': ok = read_string(v, k.i); break;
      case 'o': ok = read_string(v, k.o); break;
      case 'c': ok = read_string(v, k.c); break;
      case 'h': ok = read_string(v, k.h); break;
      case 'l': ok = read_string(v, k.l); break;
      case 'v': ok = read_string(v, k.v); break;
      case 'q': ok = read_string(v, k.q); break;
      case 'V': ok = read_string(v, k.V); break;
      case 'Q': ok = read_string(v, k.Q); break;
      case 'B': ok = read_string(v, k.B); break;
      case 'x': ok = read_bool(v, k.x); break;
      default: break;
    }
    if (!ok) return false;
  }
  event.k_state = FieldState::Present;
  return true;
}

[[nodiscard]] bool read_event_field(char key, od::value& v, EventFields& event) noexcept {
  switch (key) {
    case 'e': return read_string(v, event.e);
    case 'E': return read_int(v, event.E);
    case 's': return read_string(v, event.s);
    case 'c': return read_string(v, event.c);
    case 'o': return read_string(v, event.o);
    case 'h': return read_string(v, event.h);
    case 'l': return read_string(v, event.l);
    case 'v': return read_string(v, event.v);
    case 'q': return read_string(v, event.q);
    case 'k': return read_kline_object(v, event);
    default: return true;
  }
}

[[nodiscard]] bool read_event_object(od::object& object, EventFields& event) noexcept {
  for (auto field_result : object) {
    od::field field;
    std::string_view key;
    if (std::move(field_result).get(field) != SUCCESS || !field_key(field, key)) return false;
    if (key.size() == 1 && !read_event_field(key[0], field.value(), event)) return false;
  }
  return true;
}

/// Raw JSON text of a value, e.g. a control reply's "result".
[[nodiscard]] bool read_raw_text(od::value& value, std::string_view& out) noexcept {
  od::json_type type{};
  if (value.type().get(type) != SUCCESS) return false;
  if (type == od::json_type::array) {
    od::array array;
    return value.get_array().get(array) == SUCCESS && array.raw_json().get(out) == SUCCESS;
  }
  if (type == od::json_type::object) {
    od::object object;
    return value.get_object().get(object) == SUCCESS && object.raw_json().get(out) == SUCCESS;
  }
  out = value.raw_json_token();  // a scalar; the token runs up to the next structural character
  while (!out.empty() && (out.back() == ' ' || out.back() == '\t' || out.back() == '\n' || out.back() == '\r'))
    out.remove_suffix(1);
  return true;
}

/// Reads a scalar root document completely, so that a malformed one is told from a valid one.
[[nodiscard]] bool consume_root_scalar(od::document& doc, od::json_type type) noexcept {
  switch (type) {
    case od::json_type::number: {
      od::number number;
      return doc.get_number().get(number) == SUCCESS;
    }
    case od::json_type::string: {
      std::string_view text;
      return doc.get_string().get(text) == SUCCESS;
    }
    case od::json_type::boolean: {
      bool flag = false;
      return doc.get_bool().get(flag) == SUCCESS;
    }
    case od::json_type::null: {
      bool null = false;
      return doc.is_null().get(null) == SUCCESS && null;
    }
    default: return false;
  }
}

// ------------------------------------------------------------------------------ validation

[[nodiscard]] constexpr RejectReason require(FieldState state) noexcept {
  switch (state) {
    case FieldState::Present: return RejectReason::None;
    case FieldState::Absent: return RejectReason::MissingField;
    case FieldState::WrongType: return RejectReason::WrongType;
    case FieldState::BadNumber: return RejectReason::BadNumber;
  }
  return RejectReason::MissingField;
}

[[nodiscard]] RejectReason decimal(const StringField& field, double& out) noexcept {
  if (const RejectReason r = require(field.state); r != RejectReason::None) return r;
  return parse_decimal(field.text, out);
}

/// Keeps the first failure of a series of checks, so every field is looked at in a fixed order
/// without a branch per line.
class FirstFailure {
 public:
  void operator()(RejectReason reason) noexcept {
    if (reason_ == RejectReason::None) reason_ = reason;
  }
  [[nodiscard]] RejectReason reason() const noexcept { return reason_; }
  [[nodiscard]] bool ok() const noexcept { return reason_ == RejectReason::None; }

 private:
  RejectReason reason_ = RejectReason::None;
};

[[nodiscard]] constexpr char ascii_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

/// Whether `head` (the stream name before "@…") names `symbol`: ASCII case folded; for a symbol
/// with non-ASCII bytes any non-empty head is accepted (Binance's lower-casing of those is not
/// documented, and refusing valid frames costs more than this check gains).
[[nodiscard]] bool stream_names_symbol(std::string_view head, std::string_view symbol) noexcept {
  for (const char c : symbol)
    if (static_cast<unsigned char>(c) >= 0x80) return !head.empty();
  if (head.size() != symbol.size()) return false;
  for (std::size_t i = 0; i < head.size(); ++i)
    if (ascii_lower(head[i]) != ascii_lower(symbol[i])) return false;
  return true;
}

/// stream == <symbol lower-cased> + suffix1 + suffix2.
[[nodiscard]] bool stream_matches(std::string_view stream, std::string_view symbol, std::string_view suffix1,
                                  std::string_view suffix2 = {}) noexcept {
  if (!stream.ends_with(suffix2)) return false;
  stream.remove_suffix(suffix2.size());
  if (!stream.ends_with(suffix1)) return false;
  stream.remove_suffix(suffix1.size());
  return stream_names_symbol(stream, symbol);
}

constexpr std::string_view kMiniTickerArrayStream = "!miniTicker@arr";
constexpr std::string_view kServerShutdownStream = "!serverShutdown";

[[nodiscard]] RejectReason validate_kline(const EventFields& event, const StringField& stream,
                                          KlineUpdate& out) noexcept {
  const KlineFields& k = event.k;
  FirstFailure check;
  check(require(event.E.state));
  check(require(event.s.state));
  check(require(event.k_state));
  check(require(k.t.state));
  check(require(k.T.state));
  check(require(k.s.state));
  check(require(k.i.state));
  check(require(k.f.state));
  check(require(k.L.state));
  check(require(k.n.state));
  check(require(k.x.state));
  if (k.B.state != FieldState::Absent) check(require(k.B.state));  // "Ignore": optional, a string if present
  shm::Bar& bar = out.bar;
  check(decimal(k.o, bar.open));
  check(decimal(k.h, bar.high));
  check(decimal(k.l, bar.low));
  check(decimal(k.c, bar.close));
  check(decimal(k.v, bar.volume));
  check(decimal(k.q, bar.quote_volume));
  check(decimal(k.V, bar.taker_buy_base_volume));
  check(decimal(k.Q, bar.taker_buy_quote_volume));
  if (!check.ok()) return check.reason();

  check(check_symbol(event.s.text));
  if (k.s.text != event.s.text) check(RejectReason::SymbolMismatch);
  if (event.E.value < 0 || k.f.value < -1 || k.L.value < -1) check(RejectReason::NegativeValue);
  const std::optional<Interval> interval = parse_interval(k.i.text);
  if (!interval) check(RejectReason::UnknownInterval);
  if (!check.ok()) return check.reason();

  bar.open_time_ms = k.t.value;
  bar.trades = k.n.value;
  check(check_bar(*interval, bar, k.T.value));
  if (stream.state == FieldState::Present && !stream_matches(stream.text, event.s.text, "@kline_", k.i.text))
    check(RejectReason::StreamMismatch);
  out.symbol = event.s.text;
  out.interval = *interval;
  out.closed = k.x.value;
  out.event_time_ms = event.E.value;
  out.first_trade_id = k.f.value;
  out.last_trade_id = k.L.value;
  return check.reason();
}

/// One 24hrMiniTicker object (the caller has checked "e").
[[nodiscard]] RejectReason validate_mini_ticker(const EventFields& event, MiniTickerUpdate& out) noexcept {
  FirstFailure check;
  check(require(event.E.state));
  check(require(event.s.state));
  shm::Ticker& t = out.ticker;
  check(decimal(event.c, t.last_price));
  check(decimal(event.o, t.open_24h));
  check(decimal(event.h, t.high_24h));
  check(decimal(event.l, t.low_24h));
  check(decimal(event.v, t.base_volume_24h));
  check(decimal(event.q, t.quote_volume_24h));
  if (!check.ok()) return check.reason();
  check(check_symbol(event.s.text));
  t.event_time_ms = event.E.value;
  check(check_ticker(t));
  derive_price_change(t);
  out.symbol = event.s.text;
  return check.reason();
}

[[nodiscard]] bool is_event(const EventFields& event, std::string_view type) noexcept {
  return event.e.state == FieldState::Present && event.e.text == type;
}

}  // namespace

// ---------------------------------------------------------------------------------- to_string

const char* to_string(FrameOutcome outcome) noexcept {
  switch (outcome) {
    case FrameOutcome::Delivered: return "Delivered";
    case FrameOutcome::Ignored: return "Ignored";
    case FrameOutcome::Rejected: return "Rejected";
    case FrameOutcome::Count: break;
  }
  return "?";
}

const char* to_string(FrameKind kind) noexcept {
  switch (kind) {
    case FrameKind::Unknown: return "Unknown";
    case FrameKind::Kline: return "Kline";
    case FrameKind::MiniTickers: return "MiniTickers";
    case FrameKind::ServerShutdown: return "ServerShutdown";
    case FrameKind::ControlReply: return "ControlReply";
    case FrameKind::OtherEvent: return "OtherEvent";
    case FrameKind::NoEventType: return "NoEventType";
    case FrameKind::OtherArray: return "OtherArray";
    case FrameKind::Count: break;
  }
  return "?";
}

// ---------------------------------------------------------------------------------- the parser

struct FrameParser::Impl {
  explicit Impl(const FrameParserOptions& opts) : parser(opts.max_frame_bytes), options(opts) {
    if (parser.allocate(std::min(options.initial_capacity, options.max_frame_bytes)) != SUCCESS)
      throw std::bad_alloc();
    if (!reserve_copy(options.initial_capacity) || !reserve_tickers(options.initial_mini_tickers))
      throw std::bad_alloc();
  }

  ParseResult run(const char* data, std::size_t length, std::size_t capacity, FrameHandler& handler) noexcept;

 private:
  [[nodiscard]] bool reserve_copy(std::size_t frame_bytes) noexcept;
  [[nodiscard]] bool reserve_tickers(std::size_t count) noexcept;
  [[nodiscard]] ParseResult walk(const char* data, std::size_t length, std::size_t capacity) noexcept;
  [[nodiscard]] bool read_top(od::object& object) noexcept;
  [[nodiscard]] bool read_data(od::value& value) noexcept;
  [[nodiscard]] bool read_error_object(od::value& value) noexcept;
  [[nodiscard]] bool read_array(od::array& array) noexcept;
  [[nodiscard]] ParseResult classify() noexcept;
  [[nodiscard]] ParseResult classify_event(const EventFields& event) noexcept;
  [[nodiscard]] ParseResult classify_array() noexcept;
  [[nodiscard]] ParseResult classify_control() noexcept;
  void deliver(const ParseResult& result, FrameHandler& handler) noexcept;
  void count(const ParseResult& result, std::size_t length) noexcept;

 public:
  od::parser parser;
  FrameParserOptions options;
  ParseStats stats;

 private:
  std::unique_ptr<char[]> copy_;
  std::size_t copy_capacity_ = 0;
  std::unique_ptr<MiniTickerUpdate[]> tickers_;
  std::size_t ticker_capacity_ = 0;

  // Per-frame state, reset at the start of every frame.
  TopFields top_{};
  EventFields top_event_{};    // a raw-stream payload: the event keys of the top-level object
  EventFields payload_{};      // a combined-stream payload: the keys of "data"
  EventFields element_{};      // the current element of an array payload
  bool top_is_array_ = false;
  ArrayState array_state_ = ArrayState::Empty;
  RejectReason array_reason_ = RejectReason::None;   // an element failed validation
  RejectReason array_other_ = RejectReason::None;    // why the first element made it OtherArray
  std::size_t ticker_count_ = 0;
  KlineUpdate kline_{};
  ControlReply reply_{};
  std::int64_t shutdown_time_ = 0;
};

bool FrameParser::Impl::reserve_copy(std::size_t frame_bytes) noexcept {
  const std::size_t needed = frame_bytes + kFramePadding;
  if (needed <= copy_capacity_) return true;
  std::size_t capacity = 4096;
  while (capacity < needed) capacity *= 2;
  std::unique_ptr<char[]> bigger(new (std::nothrow) char[capacity]);
  if (!bigger) return false;
  copy_ = std::move(bigger);
  copy_capacity_ = capacity;
  return true;
}

bool FrameParser::Impl::reserve_tickers(std::size_t count) noexcept {
  if (count <= ticker_capacity_) return true;
  std::size_t capacity = ticker_capacity_ == 0 ? 256 : ticker_capacity_;
  while (capacity < count) capacity *= 2;
  std::unique_ptr<MiniTickerUpdate[]> bigger(new (std::nothrow) MiniTickerUpdate[capacity]);
  if (!bigger) return false;
  std::copy_n(tickers_.get(), ticker_count_, bigger.get());
  tickers_ = std::move(bigger);
  ticker_capacity_ = capacity;
  return true;
}

ParseResult FrameParser::Impl::run(const char* data, std::size_t length, std::size_t capacity,
                                   FrameHandler& handler) noexcept {
  ParseResult result{FrameOutcome::Rejected, FrameKind::Unknown, RejectReason::TooLarge};
  if (length <= options.max_frame_bytes) {
    if (capacity < length || capacity - length < kFramePadding) {
      // The bytes after the frame may not be readable: parse a padded copy instead.
      if (reserve_copy(length)) {
        std::memcpy(copy_.get(), data, length);
        data = copy_.get();
        capacity = copy_capacity_;
        ++stats.copied;
        result = walk(data, length, capacity);
      }
    } else {
      result = walk(data, length, capacity);
    }
  }
  if (result.outcome == FrameOutcome::Delivered) deliver(result, handler);
  count(result, length);
  return result;
}

ParseResult FrameParser::Impl::walk(const char* data, std::size_t length, std::size_t capacity) noexcept {
  top_ = TopFields{};
  top_event_ = EventFields{};
  payload_ = EventFields{};
  top_is_array_ = false;
  array_state_ = ArrayState::Empty;
  array_reason_ = RejectReason::None;
  array_other_ = RejectReason::None;
  ticker_count_ = 0;

  constexpr ParseResult kBadJson{FrameOutcome::Rejected, FrameKind::Unknown, RejectReason::BadJson};
  if (length > parser.capacity()) {
    // simdjson would grow to exactly `length`; !miniTicker@arr frames vary in size from second
    // to second, so grow by powers of two to reach the steady state after a few frames.
    const std::size_t grown = std::min(std::bit_ceil(length), options.max_frame_bytes);
    if (parser.allocate(grown) != SUCCESS)
      return {FrameOutcome::Rejected, FrameKind::Unknown, RejectReason::TooLarge};
  }
  od::document doc;
  if (const error_code error = parser.iterate(data, length, capacity).get(doc); error != SUCCESS) {
    const bool memory = error == simdjson::MEMALLOC || error == simdjson::CAPACITY;
    return {FrameOutcome::Rejected, FrameKind::Unknown, memory ? RejectReason::TooLarge : RejectReason::BadJson};
  }
  od::json_type type{};
  if (doc.type().get(type) != SUCCESS) return kBadJson;
  if (type == od::json_type::object) {
    od::object object;
    if (doc.get_object().get(object) != SUCCESS || !read_top(object)) return kBadJson;
  } else if (type == od::json_type::array) {
    od::array array;
    top_is_array_ = true;
    if (doc.get_array().get(array) != SUCCESS || !read_array(array)) return kBadJson;
  } else if (!consume_root_scalar(doc, type)) {
    return kBadJson;  // "not json", "tru", "12x": a broken scalar is bad JSON, not a scalar
  } else {
    const char* location = nullptr;
    if (doc.current_location().get(location) != simdjson::OUT_OF_BOUNDS) return kBadJson;
    return {FrameOutcome::Rejected, FrameKind::Unknown, RejectReason::NotAnObject};
  }
  // Walked to the end of the root value; anything after it is trailing bytes. (3.0.1 has no
  // document::at_end(); current_location() answers OUT_OF_BOUNDS exactly at the end.)
  const char* location = nullptr;
  if (doc.current_location().get(location) != simdjson::OUT_OF_BOUNDS) return kBadJson;
  return classify();
}

bool FrameParser::Impl::read_top(od::object& object) noexcept {
  for (auto field_result : object) {
    od::field field;
    std::string_view key;
    if (std::move(field_result).get(field) != SUCCESS || !field_key(field, key)) return false;
    od::value& value = field.value();
    bool ok = true;
    if (key.size() == 1) {
      ok = read_event_field(key[0], value, top_event_);
    } else if (key == "stream") {
      ok = read_string(value, top_.stream);
    } else if (key == "data") {
      ok = read_data(value);
    } else if (key == "result") {
      top_.has_result = true;
      ok = read_raw_text(value, top_.result_text);
    } else if (key == "id") {
      top_.has_id = true;
      od::json_type type{};
      ok = value.type().get(type) == SUCCESS;
      if (ok && type == od::json_type::null) top_.id_null = true;
      else if (ok) ok = read_int(value, top_.id);
    } else if (key == "code") {
      ok = read_int(value, top_.code);
    } else if (key == "msg") {
      ok = read_string(value, top_.msg);
    } else if (key == "error") {
      ok = read_error_object(value);
    }
    if (!ok) return false;
  }
  return true;
}

bool FrameParser::Impl::read_data(od::value& value) noexcept {
  top_.has_data = true;
  if (value.type().get(top_.data_type) != SUCCESS) return false;
  if (top_.data_type == od::json_type::object) {
    od::object object;
    return value.get_object().get(object) == SUCCESS && read_event_object(object, payload_);
  }
  if (top_.data_type == od::json_type::array) {
    od::array array;
    return value.get_array().get(array) == SUCCESS && read_array(array);
  }
  return true;  // a scalar payload: NotAnObject, decided in classify()
}

bool FrameParser::Impl::read_error_object(od::value& value) noexcept {
  od::json_type type{};
  if (value.type().get(type) != SUCCESS) return false;
  if (type != od::json_type::object) {
    top_.error_state = FieldState::WrongType;
    return true;
  }
  od::object object;
  if (value.get_object().get(object) != SUCCESS) return false;
  for (auto field_result : object) {
    od::field field;
    std::string_view key;
    if (std::move(field_result).get(field) != SUCCESS || !field_key(field, key)) return false;
    bool ok = true;
    if (key == "code") ok = read_int(field.value(), top_.error_object_code);
    else if (key == "msg") ok = read_string(field.value(), top_.error_object_msg);
    if (!ok) return false;
  }
  top_.error_state = FieldState::Present;
  return true;
}

// An array payload is !miniTicker@arr when its first element is a 24hrMiniTicker; any other
// first element makes it an array we ignore. Every element after a mini-ticker first one must be
// a valid mini ticker too, or the whole frame is rejected. Elements after a decision that makes
// the frame ignored or rejected are still walked (not read), so the document is checked to its end.
bool FrameParser::Impl::read_array(od::array& array) noexcept {
  std::size_t index = 0;
  for (auto element_result : array) {
    od::value element;
    if (std::move(element_result).get(element) != SUCCESS) return false;
    if (array_state_ == ArrayState::Other || array_reason_ != RejectReason::None) continue;
    const bool first = index++ == 0;
    od::json_type type{};
    if (element.type().get(type) != SUCCESS) return false;
    if (type != od::json_type::object) {
      if (first) {
        array_state_ = ArrayState::Other;
        array_other_ = RejectReason::NotAnObject;
      } else {
        array_reason_ = RejectReason::NotAnObject;
      }
      continue;
    }
    od::object object;
    element_ = EventFields{};
    if (element.get_object().get(object) != SUCCESS || !read_event_object(object, element_)) return false;
    if (!is_event(element_, "24hrMiniTicker")) {
      if (first) {
        array_state_ = ArrayState::Other;
        array_other_ = element_.e.state == FieldState::WrongType ? RejectReason::WrongType
                                                                 : RejectReason::StreamMismatch;
      } else {
        array_reason_ = element_.e.state == FieldState::Present ? RejectReason::StreamMismatch
                                                                : require(element_.e.state);
      }
      continue;
    }
    array_state_ = ArrayState::MiniTickers;
    if (!reserve_tickers(ticker_count_ + 1)) {
      array_reason_ = RejectReason::TooLarge;
      continue;
    }
    array_reason_ = validate_mini_ticker(element_, tickers_[ticker_count_]);
    if (array_reason_ == RejectReason::None) ++ticker_count_;
  }
  return true;
}

ParseResult FrameParser::Impl::classify() noexcept {
  if (top_.stream.state == FieldState::WrongType)
    return {FrameOutcome::Rejected, FrameKind::Unknown, RejectReason::WrongType};
  if (top_.has_data) {
    if (top_.data_type == od::json_type::object) return classify_event(payload_);
    if (top_.data_type == od::json_type::array) return classify_array();
    return {FrameOutcome::Rejected, FrameKind::Unknown, RejectReason::NotAnObject};
  }
  if (top_is_array_) return classify_array();
  if (top_event_.e.state != FieldState::Absent) return classify_event(top_event_);
  if (top_.has_result || top_.has_id || top_.code.state != FieldState::Absent ||
      top_.error_state != FieldState::Absent)
    return classify_control();
  return {FrameOutcome::Ignored, FrameKind::NoEventType, RejectReason::None};
}

ParseResult FrameParser::Impl::classify_event(const EventFields& event) noexcept {
  const auto reject = [](FrameKind kind, RejectReason reason) {
    return ParseResult{FrameOutcome::Rejected, kind, reason};
  };
  if (event.e.state == FieldState::Absent) return {FrameOutcome::Ignored, FrameKind::NoEventType, RejectReason::None};
  if (event.e.state != FieldState::Present) return reject(FrameKind::Unknown, require(event.e.state));
  const StringField& stream = top_.stream;
  const bool has_stream = stream.state == FieldState::Present;

  if (event.e.text == "kline") {
    const RejectReason reason = validate_kline(event, stream, kline_);
    if (reason != RejectReason::None) return reject(FrameKind::Kline, reason);
    return {FrameOutcome::Delivered, FrameKind::Kline, RejectReason::None};
  }
  if (event.e.text == "24hrMiniTicker") {
    if (!reserve_tickers(1)) return reject(FrameKind::MiniTickers, RejectReason::TooLarge);
    const RejectReason reason = validate_mini_ticker(event, tickers_[0]);
    if (reason != RejectReason::None) return reject(FrameKind::MiniTickers, reason);
    if (has_stream && !stream_matches(stream.text, event.s.text, "@miniTicker"))
      return reject(FrameKind::MiniTickers, RejectReason::StreamMismatch);
    ticker_count_ = 1;
    return {FrameOutcome::Delivered, FrameKind::MiniTickers, RejectReason::None};
  }
  if (event.e.text == "serverShutdown") {
    if (const RejectReason reason = require(event.E.state); reason != RejectReason::None)
      return reject(FrameKind::ServerShutdown, reason);
    if (event.E.value < 0) return reject(FrameKind::ServerShutdown, RejectReason::NegativeValue);
    if (has_stream && stream.text != kServerShutdownStream)
      return reject(FrameKind::ServerShutdown, RejectReason::StreamMismatch);
    shutdown_time_ = event.E.value;
    return {FrameOutcome::Delivered, FrameKind::ServerShutdown, RejectReason::None};
  }
  return {FrameOutcome::Ignored, FrameKind::OtherEvent, RejectReason::None};
}

ParseResult FrameParser::Impl::classify_array() noexcept {
  const bool has_stream = top_.stream.state == FieldState::Present;
  const bool mini_stream = has_stream && top_.stream.text == kMiniTickerArrayStream;
  switch (array_state_) {
    case ArrayState::Empty:
      // "only tickers that have changed will be present": an empty array is possible and says nothing.
      return {FrameOutcome::Ignored, mini_stream ? FrameKind::MiniTickers : FrameKind::OtherArray,
              RejectReason::None};
    case ArrayState::Other:
      if (mini_stream) return {FrameOutcome::Rejected, FrameKind::MiniTickers, array_other_};
      return {FrameOutcome::Ignored, FrameKind::OtherArray, RejectReason::None};
    case ArrayState::MiniTickers:
      if (array_reason_ != RejectReason::None)
        return {FrameOutcome::Rejected, FrameKind::MiniTickers, array_reason_};
      if (has_stream && !mini_stream)
        return {FrameOutcome::Rejected, FrameKind::MiniTickers, RejectReason::StreamMismatch};
      return {FrameOutcome::Delivered, FrameKind::MiniTickers, RejectReason::None};
  }
  return {FrameOutcome::Rejected, FrameKind::Unknown, RejectReason::BadJson};
}

ParseResult FrameParser::Impl::classify_control() noexcept {
  const auto reject = [](RejectReason reason) {
    return ParseResult{FrameOutcome::Rejected, FrameKind::ControlReply, reason};
  };
  reply_ = ControlReply{ControlReply::kNoId, false, 0, {}};
  if (top_.has_id && !top_.id_null) {
    if (const RejectReason reason = require(top_.id.state); reason != RejectReason::None) return reject(reason);
    reply_.id = top_.id.value;
  }
  // Two error shapes: {"code":2,"msg":"…","id":…} (documented) and {"error":{"code":…,"msg":…},"id":…}.
  const IntField* code = nullptr;
  const StringField* msg = nullptr;
  if (top_.error_state != FieldState::Absent) {
    if (const RejectReason reason = require(top_.error_state); reason != RejectReason::None) return reject(reason);
    code = &top_.error_object_code;
    msg = &top_.error_object_msg;
  } else if (top_.code.state != FieldState::Absent) {
    code = &top_.code;
    msg = &top_.msg;
  }
  if (code != nullptr) {
    if (const RejectReason reason = require(code->state); reason != RejectReason::None) return reject(reason);
    if (msg->state != FieldState::Absent) {  // the message is optional, but a string if present
      if (const RejectReason reason = require(msg->state); reason != RejectReason::None) return reject(reason);
    }
    reply_.error_code = code->value;
    reply_.detail = msg->text;
    return {FrameOutcome::Delivered, FrameKind::ControlReply, RejectReason::None};
  }
  if (!top_.has_result) return reject(RejectReason::MissingField);
  reply_.ok = true;
  reply_.detail = top_.result_text;
  return {FrameOutcome::Delivered, FrameKind::ControlReply, RejectReason::None};
}

void FrameParser::Impl::deliver(const ParseResult& result, FrameHandler& handler) noexcept {
  switch (result.kind) {
    case FrameKind::Kline: handler.on_kline(kline_); break;
    case FrameKind::MiniTickers:
      stats.mini_tickers += ticker_count_;
      handler.on_mini_tickers(std::span<const MiniTickerUpdate>(tickers_.get(), ticker_count_));
      break;
    case FrameKind::ServerShutdown: handler.on_server_shutdown(shutdown_time_); break;
    case FrameKind::ControlReply: handler.on_control_reply(reply_); break;
    default: break;
  }
}

void FrameParser::Impl::count(const ParseResult& result, std::size_t length) noexcept {
  ++stats.frames;
  stats.bytes += length;
  ++stats.by_outcome[static_cast<std::size_t>(result.outcome)];
  ++stats.by_kind[static_cast<std::size_t>(result.kind)];
  if (result.outcome == FrameOutcome::Rejected) ++stats.by_reason[static_cast<std::size_t>(result.reason)];
}

// ---------------------------------------------------------------------------------- public API

FrameParser::FrameParser(const FrameParserOptions& options) : impl_(std::make_unique<Impl>(options)) {}
FrameParser::~FrameParser() = default;
FrameParser::FrameParser(FrameParser&& other) noexcept = default;
FrameParser& FrameParser::operator=(FrameParser&& other) noexcept = default;

ParseResult FrameParser::parse(std::string_view frame, FrameHandler& handler) noexcept {
  return impl_->run(frame.data(), frame.size(), frame.size(), handler);
}

ParseResult FrameParser::parse_padded(const char* data, std::size_t length, std::size_t capacity,
                                      FrameHandler& handler) noexcept {
  return impl_->run(data, length, capacity, handler);
}

const ParseStats& FrameParser::stats() const noexcept { return impl_->stats; }

void FrameParser::reset_stats() noexcept { impl_->stats = ParseStats{}; }

}  // namespace screener::feed
