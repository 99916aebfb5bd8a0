// SPDX-License-Identifier: Apache-2.0
#include "tools/replay/rest_api.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include "tools/replay/text_format.hpp"

namespace screener::replay {

namespace {

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 && hex_digit(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

constexpr std::int64_t kMicrosecondThreshold = 100'000'000'000'000;  // 1e14, as in the CSV loader
constexpr std::int64_t kDayMs = 86'400'000;

/// A LONG parameter; nothing when malformed.
std::optional<std::int64_t> parse_long(std::string_view text) {
  std::int64_t value = 0;
  if (text.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

RestAnswer illegal_characters(std::string_view name, int weight) {
  return error_answer(400, -1100, fmt::format("Illegal characters found in parameter '{}'.", name), weight);
}

RestAnswer mandatory_missing(std::string_view name, int weight) {
  return error_answer(
      400, -1102, fmt::format("Mandatory parameter '{}' was not sent, was empty/null, or malformed.", name), weight);
}

RestAnswer invalid_symbol(int weight) { return error_answer(400, -1121, "Invalid symbol.", weight); }

bool valid_status_filter(std::string_view status) noexcept {
  return status == "TRADING" || status == "HALT" || status == "BREAK";
}

}  // namespace

QueryParams::QueryParams(std::string_view query) {
  if (!query.empty() && query.front() == '?') query.remove_prefix(1);
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    params_.emplace_back(url_decode(pair.substr(0, eq)),
                         eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1)));
  }
}

std::optional<std::string_view> QueryParams::get(std::string_view name) const {
  for (const auto& [key, value] : params_)
    if (key == name) return std::string_view(value);
  return std::nullopt;
}

std::optional<std::vector<std::string>> parse_symbol_list(std::string_view value) {
  value = trim(value);
  std::vector<std::string> out;
  if (value.empty()) return std::nullopt;
  if (value.front() != '[') {
    out.emplace_back(value);
    return out;
  }
  if (value.back() != ']') return std::nullopt;
  value = trim(value.substr(1, value.size() - 2));
  if (value.empty()) return out;
  while (true) {
    const std::size_t comma = value.find(',');
    std::string_view item = trim(value.substr(0, comma));
    if (item.size() < 3 || item.front() != '"' || item.back() != '"') return std::nullopt;
    out.emplace_back(item.substr(1, item.size() - 2));
    if (comma == std::string_view::npos) break;
    value = value.substr(comma + 1);
  }
  return out;
}

RestAnswer error_answer(int status, int code, std::string_view msg, int weight) {
  RestAnswer answer;
  answer.status = status;
  answer.weight = weight;
  answer.body = fmt::format("{{\"code\":{},\"msg\":", code);
  append_json_string(answer.body, msg);
  answer.body.push_back('}');
  return answer;
}

RestExchange::RestExchange(std::vector<Listing> listings, int weight_limit)
    : listings_(std::move(listings)), weight_limit_(weight_limit) {
  for (std::size_t i = 0; i < listings_.size(); ++i) {
    index_.emplace(listings_[i].symbol, i);
    stream_index_.emplace(ascii_lower(listings_[i].symbol), i);
    if (!trading(i)) ++halted_;
  }
}

bool RestExchange::set_listing_status(std::string_view symbol, std::string_view status) {
  const auto index = symbol_index(symbol);
  if (!index) return false;
  const bool was_trading = trading(*index);
  listings_[*index].status = std::string(status);
  const bool is_trading = trading(*index);
  if (was_trading && !is_trading) ++halted_;
  if (!was_trading && is_trading) --halted_;
  return true;
}

bool RestExchange::halted_kline_stream(std::string_view stream) const {
  if (halted_ == 0) return false;
  const std::size_t at = stream.find("@kline_");
  if (at == std::string_view::npos) return false;
  const auto it = stream_index_.find(std::string(stream.substr(0, at)));
  return it != stream_index_.end() && !trading(it->second);
}

std::optional<std::size_t> RestExchange::symbol_index(std::string_view symbol) const {
  const auto it = index_.find(std::string(symbol));
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

RestAnswer RestExchange::rest(std::string_view path, std::string_view query) const {
  const QueryParams params(query);
  if (path == "/api/v3/klines") return klines(params);
  if (path == "/api/v3/exchangeInfo") return exchange_info(params);
  if (path == "/api/v3/ticker/24hr") return ticker_24hr(params);
  if (path == "/api/v3/ping") return RestAnswer{200, "{}", 1};
  if (path == "/api/v3/time") return RestAnswer{200, fmt::format("{{\"serverTime\":{}}}", now_ms()), 1};
  return error_answer(404, -1000, fmt::format("Unknown endpoint: {}", path), 1);
}

RestAnswer RestExchange::exchange_info(const QueryParams& params) const {
  constexpr int kWeight = 20;
  const auto symbol = params.get("symbol");
  const auto symbols = params.get("symbols");
  const auto permissions = params.get("permissions");
  const auto status = params.get("symbolStatus");
  if ((symbol || symbols) && (permissions || status))
    return error_answer(400, -1128, "Combination of optional parameters invalid.", kWeight);
  if (symbol && symbols) return error_answer(400, -1128, "Combination of optional parameters invalid.", kWeight);

  std::vector<std::size_t> chosen;
  if (symbol || symbols) {
    std::vector<std::string> names;
    if (symbol) {
      if (symbol->empty()) return mandatory_missing("symbol", kWeight);
      names.emplace_back(*symbol);
    } else {
      auto list = parse_symbol_list(*symbols);
      if (!list || list->empty()) return illegal_characters("symbols", kWeight);
      names = std::move(*list);
    }
    for (const std::string& name : names) {
      const auto index = symbol_index(name);
      if (!index) return invalid_symbol(kWeight);
      chosen.push_back(*index);
    }
  } else {
    bool spot = true;
    if (permissions) {
      const auto list = parse_symbol_list(*permissions);
      if (!list) return illegal_characters("permissions", kWeight);
      spot = std::find(list->begin(), list->end(), "SPOT") != list->end();
    }
    if (status && !valid_status_filter(*status)) return error_answer(400, -1122, "Invalid symbolStatus.", kWeight);
    for (std::size_t i = 0; i < listings_.size(); ++i)
      if (spot && (!status || listings_[i].status == *status)) chosen.push_back(i);
  }

  std::string body;
  body.reserve(256 + chosen.size() * 900);
  auto it = std::back_inserter(body);
  fmt::format_to(it,
                 "{{\"timezone\":\"UTC\",\"serverTime\":{},\"rateLimits\":["
                 "{{\"rateLimitType\":\"REQUEST_WEIGHT\",\"interval\":\"MINUTE\",\"intervalNum\":1,\"limit\":{}}},"
                 "{{\"rateLimitType\":\"ORDERS\",\"interval\":\"SECOND\",\"intervalNum\":10,\"limit\":100}},"
                 "{{\"rateLimitType\":\"ORDERS\",\"interval\":\"DAY\",\"intervalNum\":1,\"limit\":200000}},"
                 "{{\"rateLimitType\":\"RAW_REQUESTS\",\"interval\":\"MINUTE\",\"intervalNum\":5,\"limit\":300000}}],"
                 "\"exchangeFilters\":[],\"symbols\":[",
                 now_ms(), weight_limit_);
  for (std::size_t n = 0; n < chosen.size(); ++n) {
    const Listing& l = listings_[chosen[n]];
    if (n > 0) body.push_back(',');
    body.append("{\"symbol\":");
    append_json_string(body, l.symbol);
    body.append(",\"status\":");
    append_json_string(body, l.status);
    body.append(",\"baseAsset\":");
    append_json_string(body, l.base_asset);
    body.append(",\"baseAssetPrecision\":8,\"quoteAsset\":");
    append_json_string(body, l.quote_asset);
    body.append(
        ",\"quotePrecision\":8,\"quoteAssetPrecision\":8,\"baseCommissionPrecision\":8,"
        "\"quoteCommissionPrecision\":8,\"orderTypes\":[\"LIMIT\",\"LIMIT_MAKER\",\"MARKET\",\"STOP_LOSS_LIMIT\","
        "\"TAKE_PROFIT_LIMIT\"],\"icebergAllowed\":true,\"ocoAllowed\":true,\"otoAllowed\":true,"
        "\"quoteOrderQtyMarketAllowed\":true,\"allowTrailingStop\":true,\"cancelReplaceAllowed\":true,"
        "\"isSpotTradingAllowed\":true,\"isMarginTradingAllowed\":false,\"filters\":[");
    fmt::format_to(it,
                   "{{\"filterType\":\"PRICE_FILTER\",\"minPrice\":\"{0}\",\"maxPrice\":\"1000000.00000000\","
                   "\"tickSize\":\"{0}\"}},{{\"filterType\":\"LOT_SIZE\",\"minQty\":\"{1}\","
                   "\"maxQty\":\"9000000000.00000000\",\"stepSize\":\"{1}\"}}],",
                   l.tick_size, l.step_size);
    body.append(
        "\"permissions\":[],\"permissionSets\":[[\"SPOT\"]],\"defaultSelfTradePreventionMode\":\"EXPIRE_MAKER\","
        "\"allowedSelfTradePreventionModes\":[\"EXPIRE_TAKER\",\"EXPIRE_MAKER\",\"EXPIRE_BOTH\"]}");
  }
  body.append("]}");
  return RestAnswer{200, std::move(body), kWeight};
}

RestAnswer RestExchange::klines(const QueryParams& params) const {
  constexpr int kWeight = 2;
  const auto symbol = params.get("symbol");
  if (!symbol || symbol->empty()) return mandatory_missing("symbol", kWeight);
  const auto interval_text = params.get("interval");
  if (!interval_text || interval_text->empty()) return mandatory_missing("interval", kWeight);
  const auto index = symbol_index(*symbol);
  if (!index) return invalid_symbol(kWeight);
  const auto interval = parse_interval(*interval_text);
  if (!interval || !serves_klines(*interval)) return error_answer(400, -1120, "Invalid interval.", kWeight);

  std::size_t limit = 500;
  if (const auto text = params.get("limit")) {
    const auto value = parse_long(*text);
    if (!value) return illegal_characters("limit", kWeight);
    if (*value < 1 || *value > 1000) return error_answer(400, -1130, "Invalid data sent for a parameter.", kWeight);
    limit = static_cast<std::size_t>(*value);
  }
  std::array<std::optional<std::int64_t>, 2> times;
  constexpr std::array<std::string_view, 2> names{"startTime", "endTime"};
  for (std::size_t i = 0; i < 2; ++i) {
    if (const auto text = params.get(names[i])) {
      const auto value = parse_long(*text);
      if (!value || *value < 0) return illegal_characters(names[i], kWeight);
      times[i] = *value > kMicrosecondThreshold ? *value / 1000 : *value;  // ms or µs, like Binance
    }
  }
  if (times[0] && times[1] && *times[0] > *times[1])
    return error_answer(400, -1023, "Start time is greater than end time.", kWeight);
  return RestAnswer{200, klines_body(*index, *interval, times[0], times[1], limit), kWeight};
}

RestAnswer RestExchange::ticker_24hr(const QueryParams& params) const {
  const auto symbol = params.get("symbol");
  const auto symbols = params.get("symbols");
  int weight = 80;
  std::vector<std::size_t> chosen;
  std::optional<std::vector<std::string>> list;
  if (symbol) {
    weight = 2;
  } else if (symbols) {
    list = parse_symbol_list(*symbols);
    const std::size_t n = list ? list->size() : 0;
    weight = n <= 20 ? 2 : n <= 100 ? 40 : 80;
  }
  if (symbol && symbols) return error_answer(400, -1128, "Combination of optional parameters invalid.", weight);
  bool full = true;
  if (const auto type = params.get("type")) {
    if (*type == "MINI") full = false;
    else if (*type != "FULL") return error_answer(400, -1130, "Invalid data sent for a parameter.", weight);
  }
  const auto status = params.get("symbolStatus");
  if (status && !valid_status_filter(*status)) return error_answer(400, -1122, "Invalid symbolStatus.", weight);

  std::string body;
  if (symbol) {
    if (symbol->empty()) return mandatory_missing("symbol", weight);
    const auto index = symbol_index(*symbol);
    if (!index) return invalid_symbol(weight);
    if (status && listings_[*index].status != *status)
      return error_answer(400, -1220, "The symbol's status does not match the requested symbolStatus.", weight);
    append_ticker(body, *index, full);
    return RestAnswer{200, std::move(body), weight};
  }
  if (symbols) {
    if (!list || list->empty()) return illegal_characters("symbols", weight);
    for (const std::string& name : *list) {
      const auto index = symbol_index(name);
      if (!index) return invalid_symbol(weight);
      chosen.push_back(*index);
    }
  } else {
    for (std::size_t i = 0; i < listings_.size(); ++i) chosen.push_back(i);
  }
  body.push_back('[');
  bool first = true;
  for (const std::size_t index : chosen) {
    if (status && listings_[index].status != *status) continue;
    if (!first) body.push_back(',');
    first = false;
    append_ticker(body, index, full);
  }
  body.push_back(']');
  return RestAnswer{200, std::move(body), weight};
}

void RestExchange::append_ticker(std::string& out, std::size_t symbol, bool full) const {
  const TickerStats s = ticker_stats(symbol);
  const std::int64_t now = now_ms();
  auto it = std::back_inserter(out);
  out.append("{\"symbol\":");
  append_json_string(out, listings_[symbol].symbol);
  if (full) {
    const double change = s.last_value - s.open_value;
    out.append(",\"priceChange\":\"");
    append_fixed8(out, change);
    const double percent = s.open_value != 0 ? 100.0 * change / s.open_value : 0.0;
    fmt::format_to(it, "\",\"priceChangePercent\":\"{:.3f}\",\"weightedAvgPrice\":\"", percent == 0 ? 0.0 : percent);
    append_fixed8(out, s.volume_value > 0 ? s.quote_value / s.volume_value : 0.0);
    fmt::format_to(it,
                   "\",\"prevClosePrice\":\"{}\",\"lastPrice\":\"{}\",\"lastQty\":\"0.00000000\","
                   "\"bidPrice\":\"{}\",\"bidQty\":\"0.00000000\",\"askPrice\":\"{}\",\"askQty\":\"0.00000000\"",
                   s.prev_close, s.last, s.last, s.last);
  }
  fmt::format_to(it, ",\"openPrice\":\"{}\",\"highPrice\":\"{}\",\"lowPrice\":\"{}\"", s.open, s.high, s.low);
  if (!full) fmt::format_to(it, ",\"lastPrice\":\"{}\"", s.last);
  fmt::format_to(it,
                 ",\"volume\":\"{}\",\"quoteVolume\":\"{}\",\"openTime\":{},\"closeTime\":{},\"firstId\":{},"
                 "\"lastId\":{},\"count\":{}}}",
                 s.volume, s.quote_volume, now - kDayMs, now, s.first_id, s.last_id, s.count);
}

}  // namespace screener::replay
