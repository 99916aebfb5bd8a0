// SPDX-License-Identifier: Apache-2.0
#include "daemon/feed/rest_parsers.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <limits>
#include <utility>

#include "daemon/feed/validation.hpp"

// simdjson DOM rather than on-demand here: these bodies are read once at start-up, the DOM
// validates the whole document up front, and random access makes "where" easy to report.
// Error paths build their messages with fmt; the success path formats nothing.

namespace screener::feed {
namespace {

namespace dom = simdjson::dom;
using simdjson::SUCCESS;

using Error = std::unexpected<std::string>;

[[nodiscard]] const char* type_name(dom::element element) noexcept {
  switch (element.type()) {
    case dom::element_type::ARRAY: return "array";
    case dom::element_type::OBJECT: return "object";
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE: return "number";
    case dom::element_type::STRING: return "string";
    case dom::element_type::BOOL: return "boolean";
    case dom::element_type::NULL_VALUE: return "null";
  }
  return "?";
}

/// " (Binance error -1121: Invalid symbol.)" when `root` is an error body, else "".
[[nodiscard]] std::string error_body_hint(dom::element root) {
  dom::object object;
  std::int64_t code = 0;
  std::string_view msg;
  if (root.get_object().get(object) != SUCCESS || object["code"].get_int64().get(code) != SUCCESS ||
      object["msg"].get_string().get(msg) != SUCCESS)
    return {};
  return fmt::format(" (Binance error {}: {})", code, msg);
}

[[nodiscard]] std::expected<dom::element, std::string> parse_document(dom::parser& parser, std::string_view body,
                                                                     std::string_view what) {
  dom::element root;
  if (const auto error = parser.parse(body.data(), body.size()).get(root); error != SUCCESS)
    return Error(fmt::format("{}: not valid JSON: {}", what, simdjson::error_message(error)));
  return root;
}

// Value readers: nullopt on success, else the message without its location.

[[nodiscard]] std::optional<std::string> read_decimal(dom::element element, double& out) {
  std::string_view text;
  if (element.get_string().get(text) != SUCCESS)
    return fmt::format("expected a decimal string, got {}", type_name(element));
  switch (parse_decimal(text, out)) {
    case RejectReason::None: return std::nullopt;
    case RejectReason::NonFinite: return fmt::format("\"{}\" is not a finite number", text);
    case RejectReason::NegativeValue: return fmt::format("\"{}\" is negative", text);
    default: return fmt::format("\"{}\" is not a decimal number", text);
  }
}

[[nodiscard]] std::optional<std::string> read_int(dom::element element, std::int64_t& out) {
  switch (element.get_int64().get(out)) {
    case SUCCESS: return std::nullopt;
    case simdjson::NUMBER_OUT_OF_RANGE: return fmt::format("integer {} is out of range", simdjson::to_string(element));
    default:
      if (element.type() == dom::element_type::DOUBLE)
        return fmt::format("expected an integer, got {}", simdjson::to_string(element));
      return fmt::format("expected an integer, got {}", type_name(element));
  }
}

[[nodiscard]] std::optional<std::string> read_string(dom::element element, std::string_view& out) {
  if (element.get_string().get(out) == SUCCESS) return std::nullopt;
  return fmt::format("expected a string, got {}", type_name(element));
}

/// Reads `object[key]` with `reader`; "missing" when absent unless `optional`. Returns the full
/// message ("<where>.<key>: <what>") on failure.
template <class T, class Reader>
[[nodiscard]] std::optional<std::string> read_field(dom::object object, std::string_view key, T& out, Reader reader,
                                                    std::string_view where, bool optional = false,
                                                    bool* present = nullptr) {
  dom::element element;
  if (object[key].get(element) != SUCCESS) {
    if (present != nullptr) *present = false;
    if (optional) return std::nullopt;
    return fmt::format("{}: missing \"{}\"", where, key);
  }
  if (present != nullptr) *present = true;
  if (auto message = reader(element, out)) return fmt::format("{}.{}: {}", where, key, *message);
  return std::nullopt;
}

constexpr auto kDecimal = [](dom::element e, double& out) { return read_decimal(e, out); };
constexpr auto kInt = [](dom::element e, std::int64_t& out) { return read_int(e, out); };
constexpr auto kString = [](dom::element e, std::string_view& out) { return read_string(e, out); };
constexpr auto kBool = [](dom::element e, bool& out) -> std::optional<std::string> {
  if (e.get_bool().get(out) == SUCCESS) return std::nullopt;
  return fmt::format("expected a boolean, got {}", type_name(e));
};

/// The failed relation of a bar, with its values.
[[nodiscard]] std::string describe_bar_failure(RejectReason reason, Interval interval, const shm::Bar& bar,
                                               std::int64_t close_time_ms) {
  switch (reason) {
    case RejectReason::NegativeValue:
      if (bar.trades < 0) return fmt::format("trade count {} is negative", bar.trades);
      return fmt::format("open time {} is negative", bar.open_time_ms);
    case RejectReason::HighBelowLow: return fmt::format("high {} is below low {}", bar.high, bar.low);
    case RejectReason::OpenOutsideRange:
      return fmt::format("open {} is outside [low {}, high {}]", bar.open, bar.low, bar.high);
    case RejectReason::CloseOutsideRange:
      return fmt::format("close {} is outside [low {}, high {}]", bar.close, bar.low, bar.high);
    case RejectReason::TakerExceedsTotal:
      return fmt::format("taker buy volumes {} / {} exceed volumes {} / {}", bar.taker_buy_base_volume,
                         bar.taker_buy_quote_volume, bar.volume, bar.quote_volume);
    case RejectReason::MisalignedOpenTime:
      return fmt::format("open time {} is not a {} bar boundary (nearest below: {})", bar.open_time_ms,
                         interval_name(interval), bar_open_time(interval, bar.open_time_ms));
    case RejectReason::CloseTimeMismatch:
      return fmt::format("close time {} should be {} for a {} bar opening at {} (microsecond timestamps?)",
                         close_time_ms, bar_close_time(interval, bar.open_time_ms), interval_name(interval),
                         bar.open_time_ms);
    default: return to_string(reason);
  }
}

// ------------------------------------------------------------------------------------ klines

constexpr std::size_t kKlineColumns = 12;
constexpr std::array<const char*, kKlineColumns> kKlineColumnNames{
    "open time", "open",   "high",          "low",                   "close",                  "volume",
    "close time", "quote volume", "trades", "taker buy base volume", "taker buy quote volume", "ignore"};

[[nodiscard]] std::optional<std::string> read_kline_row(dom::element row, std::size_t index, Interval interval,
                                                        RestKline& out) {
  dom::array array;
  if (row.get_array().get(array) != SUCCESS)
    return fmt::format("klines[{}]: expected an array of {} values, got {}", index, kKlineColumns, type_name(row));
  if (array.size() < kKlineColumns)
    return fmt::format("klines[{}]: expected {} values, got {}", index, kKlineColumns, array.size());
  std::array<dom::element, kKlineColumns> column{};
  std::size_t j = 0;
  for (dom::element element : array) {
    if (j == kKlineColumns) break;
    column[j++] = element;
  }
  shm::Bar& bar = out.bar;
  // Columns in order, so that the first bad one is the one reported. Column 11 ("ignore") is not read.
  for (std::size_t c = 0; c + 1 < kKlineColumns; ++c) {
    std::optional<std::string> message;
    switch (c) {
      case 0: message = read_int(column[c], bar.open_time_ms); break;
      case 1: message = read_decimal(column[c], bar.open); break;
      case 2: message = read_decimal(column[c], bar.high); break;
      case 3: message = read_decimal(column[c], bar.low); break;
      case 4: message = read_decimal(column[c], bar.close); break;
      case 5: message = read_decimal(column[c], bar.volume); break;
      case 6: message = read_int(column[c], out.close_time_ms); break;
      case 7: message = read_decimal(column[c], bar.quote_volume); break;
      case 8: message = read_int(column[c], bar.trades); break;
      case 9: message = read_decimal(column[c], bar.taker_buy_base_volume); break;
      case 10: message = read_decimal(column[c], bar.taker_buy_quote_volume); break;
      default: break;
    }
    if (message) return fmt::format("klines[{}][{}] ({}): {}", index, c, kKlineColumnNames[c], *message);
  }
  if (const RejectReason reason = check_bar(interval, bar, out.close_time_ms); reason != RejectReason::None)
    return fmt::format("klines[{}]: {}", index, describe_bar_failure(reason, interval, bar, out.close_time_ms));
  return std::nullopt;
}

// -------------------------------------------------------------------------------- exchangeInfo

struct StatusName {
  std::string_view name;
  shm::TradingStatus status;
};
constexpr std::array<StatusName, 9> kStatusNames{{
    {"PRE_TRADING", shm::TradingStatus::PreTrading},
    {"TRADING", shm::TradingStatus::Trading},
    {"POST_TRADING", shm::TradingStatus::PostTrading},
    {"END_OF_DAY", shm::TradingStatus::EndOfDay},
    {"HALT", shm::TradingStatus::Halt},
    {"AUCTION_MATCH", shm::TradingStatus::AuctionMatch},
    {"BREAK", shm::TradingStatus::Break},
    {"CANCEL_ONLY", shm::TradingStatus::CancelOnly},
    {"DELISTED", shm::TradingStatus::Delisted},
}};

/// Seconds of one rate-limit interval unit; 0 for a unit this build does not know.
[[nodiscard]] std::int64_t interval_seconds(std::string_view unit) noexcept {
  if (unit == "SECOND") return 1;
  if (unit == "MINUTE") return 60;
  if (unit == "HOUR") return 3600;
  if (unit == "DAY") return 86400;
  return 0;
}

[[nodiscard]] std::optional<std::string> read_rate_limits(dom::array limits, std::int64_t& per_minute) {
  per_minute = 0;
  std::size_t index = 0;
  for (dom::element element : limits) {
    const std::string where = fmt::format("rateLimits[{}]", index++);
    dom::object object;
    if (element.get_object().get(object) != SUCCESS)
      return fmt::format("{}: expected an object, got {}", where, type_name(element));
    std::string_view type;
    if (auto message = read_field(object, "rateLimitType", type, kString, where)) return message;
    if (type != "REQUEST_WEIGHT") continue;
    std::string_view unit;
    std::int64_t count = 0;
    std::int64_t limit = 0;
    if (auto message = read_field(object, "interval", unit, kString, where)) return message;
    if (auto message = read_field(object, "intervalNum", count, kInt, where)) return message;
    if (auto message = read_field(object, "limit", limit, kInt, where)) return message;
    if (count <= 0) return fmt::format("{}.intervalNum: {} is not positive", where, count);
    if (limit < 0) return fmt::format("{}.limit: {} is negative", where, limit);
    const std::int64_t seconds = interval_seconds(unit);
    if (seconds == 0) continue;  // a unit we cannot convert; the others still bound the rate
    if (limit > std::numeric_limits<std::int64_t>::max() / 60)
      return fmt::format("{}.limit: {} is out of range", where, limit);
    const std::int64_t rate = limit * 60 / (count * seconds);
    if (per_minute == 0 || rate < per_minute) per_minute = rate;
  }
  return std::nullopt;
}

[[nodiscard]] std::optional<std::string> read_filters(dom::array filters, const std::string& where,
                                                      SymbolListing& out) {
  std::size_t index = 0;
  for (dom::element element : filters) {
    std::string here = fmt::format("{}.filters[{}]", where, index++);
    dom::object object;
    if (element.get_object().get(object) != SUCCESS)
      return fmt::format("{}: expected an object, got {}", here, type_name(element));
    std::string_view type;
    if (auto message = read_field(object, "filterType", type, kString, here)) return message;
    here += fmt::format(" ({})", type);
    if (type == "PRICE_FILTER") {
      if (auto message = read_field(object, "tickSize", out.tick_size, kDecimal, here)) return message;
    } else if (type == "LOT_SIZE") {
      if (auto message = read_field(object, "stepSize", out.step_size, kDecimal, here)) return message;
    }
  }
  return std::nullopt;
}

[[nodiscard]] std::optional<std::string> read_symbol(dom::element element, std::size_t index, SymbolListing& out) {
  std::string where = fmt::format("symbols[{}]", index);
  dom::object object;
  if (element.get_object().get(object) != SUCCESS)
    return fmt::format("{}: expected an object, got {}", where, type_name(element));
  std::string_view symbol;
  if (auto message = read_field(object, "symbol", symbol, kString, where)) return message;
  where += fmt::format(" ({})", symbol);
  std::string_view status;
  std::string_view base;
  std::string_view quote;
  if (auto message = read_field(object, "status", status, kString, where)) return message;
  if (auto message = read_field(object, "baseAsset", base, kString, where)) return message;
  if (auto message = read_field(object, "quoteAsset", quote, kString, where)) return message;
  bool spot = true;
  if (auto message = read_field(object, "isSpotTradingAllowed", spot, kBool, where, /*optional=*/true)) return message;
  out.symbol = symbol;
  out.base_asset = base;
  out.quote_asset = quote;
  out.status = parse_trading_status(status);
  out.status_text = status;
  out.tick_size = 0;
  out.step_size = 0;
  out.spot_allowed = spot;
  dom::element filters;
  if (object["filters"].get(filters) == SUCCESS) {
    dom::array array;
    if (filters.get_array().get(array) != SUCCESS)
      return fmt::format("{}.filters: expected an array, got {}", where, type_name(filters));
    if (auto message = read_filters(array, where, out)) return message;
  }
  return std::nullopt;
}

// -------------------------------------------------------------------------------- ticker/24hr

[[nodiscard]] std::optional<std::string> read_ticker(dom::element element, const std::string& where_base,
                                                     TickerSnapshot& out) {
  std::string where = where_base;
  dom::object object;
  if (element.get_object().get(object) != SUCCESS)
    return fmt::format("{}: expected an object, got {}", where, type_name(element));
  std::string_view symbol;
  if (auto message = read_field(object, "symbol", symbol, kString, where)) return message;
  where += fmt::format(" ({})", symbol);
  shm::Ticker& t = out.ticker;
  const std::array<std::pair<std::string_view, double*>, 6> decimals{{{"lastPrice", &t.last_price},
                                                                      {"openPrice", &t.open_24h},
                                                                      {"highPrice", &t.high_24h},
                                                                      {"lowPrice", &t.low_24h},
                                                                      {"volume", &t.base_volume_24h},
                                                                      {"quoteVolume", &t.quote_volume_24h}}};
  for (const auto& [key, target] : decimals)
    if (auto message = read_field(object, key, *target, kDecimal, where)) return message;
  if (auto message = read_field(object, "closeTime", t.event_time_ms, kInt, where)) return message;
  if (const RejectReason reason = check_ticker(t); reason != RejectReason::None) {
    if (reason == RejectReason::HighBelowLow)
      return fmt::format("{}: highPrice {} is below lowPrice {}", where, t.high_24h, t.low_24h);
    return fmt::format("{}: closeTime {} is negative", where, t.event_time_ms);
  }
  derive_price_change(t);
  out.symbol = symbol;
  return std::nullopt;
}

}  // namespace

// ---------------------------------------------------------------------------------- public API

std::expected<std::vector<RestKline>, std::string> parse_klines_response(std::string_view body, Interval interval) {
  dom::parser parser;
  auto root = parse_document(parser, body, "klines");
  if (!root) return Error(std::move(root.error()));
  dom::array rows;
  if (root->get_array().get(rows) != SUCCESS)
    return Error(fmt::format("klines: expected an array, got {}{}", type_name(*root), error_body_hint(*root)));
  std::vector<RestKline> klines;
  klines.reserve(rows.size());
  for (dom::element row : rows) {
    RestKline kline{};
    if (auto message = read_kline_row(row, klines.size(), interval, kline)) return Error(std::move(*message));
    if (!klines.empty() && kline.bar.open_time_ms <= klines.back().bar.open_time_ms)
      return Error(fmt::format("klines[{}]: open time {} is not after the previous element's {}", klines.size(),
                               kline.bar.open_time_ms, klines.back().bar.open_time_ms));
    klines.push_back(kline);
  }
  return klines;
}

shm::TradingStatus parse_trading_status(std::string_view status) noexcept {
  for (const auto& entry : kStatusNames)
    if (entry.name == status) return entry.status;
  return shm::TradingStatus::Unknown;
}

std::expected<ExchangeInfo, std::string> parse_exchange_info(std::string_view body) {
  dom::parser parser;
  auto root = parse_document(parser, body, "exchangeInfo");
  if (!root) return Error(std::move(root.error()));
  dom::object object;
  if (root->get_object().get(object) != SUCCESS)
    return Error(fmt::format("exchangeInfo: expected an object, got {}", type_name(*root)));
  if (auto hint = error_body_hint(*root); !hint.empty()) return Error(fmt::format("exchangeInfo:{}", hint));

  ExchangeInfo info{};
  if (auto message = read_field(object, "serverTime", info.server_time_ms, kInt, "exchangeInfo"))
    return Error(std::move(*message));
  dom::element limits;
  if (object["rateLimits"].get(limits) == SUCCESS) {
    dom::array array;
    if (limits.get_array().get(array) != SUCCESS)
      return Error(fmt::format("exchangeInfo.rateLimits: expected an array, got {}", type_name(limits)));
    if (auto message = read_rate_limits(array, info.request_weight_per_minute)) return Error(std::move(*message));
  }
  dom::element symbols;
  if (object["symbols"].get(symbols) != SUCCESS) return Error(std::string("exchangeInfo: missing \"symbols\""));
  dom::array array;
  if (symbols.get_array().get(array) != SUCCESS)
    return Error(fmt::format("exchangeInfo.symbols: expected an array, got {}", type_name(symbols)));
  info.symbols.reserve(array.size());
  for (dom::element element : array) {
    SymbolListing listing{};
    if (auto message = read_symbol(element, info.symbols.size(), listing)) return Error(std::move(*message));
    info.symbols.push_back(std::move(listing));
  }
  return info;
}

std::expected<std::vector<TickerSnapshot>, std::string> parse_ticker_24hr(std::string_view body) {
  dom::parser parser;
  auto root = parse_document(parser, body, "ticker");
  if (!root) return Error(std::move(root.error()));
  std::vector<TickerSnapshot> tickers;
  dom::array array;
  if (root->get_array().get(array) == SUCCESS) {
    tickers.reserve(array.size());
    for (dom::element element : array) {
      TickerSnapshot ticker{};
      if (auto message = read_ticker(element, fmt::format("ticker[{}]", tickers.size()), ticker))
        return Error(std::move(*message));
      tickers.push_back(std::move(ticker));
    }
    return tickers;
  }
  if (root->type() != dom::element_type::OBJECT)
    return Error(fmt::format("ticker: expected an array or an object, got {}", type_name(*root)));
  if (auto hint = error_body_hint(*root); !hint.empty()) return Error(fmt::format("ticker:{}", hint));
  TickerSnapshot ticker{};
  if (auto message = read_ticker(*root, "ticker", ticker)) return Error(std::move(*message));
  tickers.push_back(std::move(ticker));
  return tickers;
}

std::optional<ErrorBody> parse_error_body(std::string_view body) {
  dom::parser parser;
  dom::element root;
  if (parser.parse(body.data(), body.size()).get(root) != SUCCESS) return std::nullopt;
  dom::object object;
  std::int64_t code = 0;
  std::string_view msg;
  if (root.get_object().get(object) != SUCCESS || object["code"].get_int64().get(code) != SUCCESS ||
      object["msg"].get_string().get(msg) != SUCCESS)
    return std::nullopt;
  return ErrorBody{code, std::string(msg)};
}

}  // namespace screener::feed
