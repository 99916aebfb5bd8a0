// SPDX-License-Identifier: Apache-2.0
#include "tools/replay/server/fault_switches.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>

namespace screener::replay {

namespace {

std::optional<std::uint64_t> parse_count(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

struct Span {
  std::size_t begin = std::string_view::npos;
  std::size_t end = std::string_view::npos;
  [[nodiscard]] bool found() const noexcept { return begin != std::string_view::npos; }
};

// The value token of `"key":` at or after `from`: a string with its quotes, or a bare number,
// boolean or null. Good enough for the compact payloads the model writes; keys are case-sensitive.
Span find_value(std::string_view text, std::string_view key, std::size_t from) {
  const std::string needle = fmt::format("\"{}\"", key);
  for (std::size_t at = text.find(needle, from); at != std::string_view::npos; at = text.find(needle, at + 1)) {
    std::size_t i = at + needle.size();
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
    if (i >= text.size() || text[i] != ':') continue;
    ++i;
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
    if (i >= text.size()) return {};
    if (text[i] == '"') {
      const std::size_t close = text.find('"', i + 1);
      if (close == std::string_view::npos) return {};
      return {i, close + 1};
    }
    std::size_t end = i;
    while (end < text.size() && text[end] != ',' && text[end] != '}' && text[end] != ']' && text[end] != ' ') ++end;
    return {i, end};
  }
  return {};
}

// Offset of the kline object's opening brace, or npos when `text` holds no kline.
std::size_t kline_object(std::string_view text) {
  if (text.find("\"kline\"") == std::string_view::npos) return std::string_view::npos;
  const Span k = find_value(text, "k", 0);
  if (!k.found() || text[k.begin] != '{') return std::string_view::npos;
  return k.begin;
}

std::string truncated(std::string_view wire) { return std::string(wire.substr(0, wire.size() / 2)); }

}  // namespace

bool is_symbol_status(std::string_view status) noexcept {
  for (const std::string_view known :
       {"PRE_TRADING", "TRADING", "POST_TRADING", "END_OF_DAY", "HALT", "AUCTION_MATCH", "BREAK"})
    if (status == known) return true;
  return false;
}

std::optional<std::string> parse_status_change(std::string_view text, StatusChange& out) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size())
    return fmt::format("status takes <SYMBOL>:<STATUS> (BTCUSDT:BREAK), not '{}'", text);
  const std::string_view status = text.substr(colon + 1);
  if (!is_symbol_status(status))
    return fmt::format("'{}' is not a symbol status (PRE_TRADING, TRADING, POST_TRADING, END_OF_DAY, HALT, "
                       "AUCTION_MATCH, BREAK)",
                       status);
  out.symbol = std::string(text.substr(0, colon));
  out.status = std::string(status);
  return std::nullopt;
}

std::optional<std::string> apply_fault_param(std::string_view name, std::string_view value, FaultOptions& rules,
                                             FaultActions& actions) {
  if (name == "status") {
    StatusChange change;
    if (auto error = parse_status_change(value, change)) return error;
    actions.status_changes.push_back(std::move(change));
    return std::nullopt;
  }
  if (name == "drop" || name == "server_shutdown" || name == "stall") {
    if (value != "now") return fmt::format("fault '{}' takes the value 'now', not '{}'", name, value);
    if (name == "drop") actions.drop_now = true;
    if (name == "server_shutdown") actions.server_shutdown_now = true;
    if (name == "stall") actions.stall_now = true;
    return std::nullopt;
  }
  const auto count = parse_count(value);
  std::uint64_t* target = nullptr;
  if (name == "drop_after_frames") target = &rules.drop_after_frames;
  else if (name == "stall_after_frames") target = &rules.stall_after_frames;
  else if (name == "stall_ms") target = &rules.stall_ms;
  else if (name == "malformed_every") target = &rules.malformed_every;
  else if (name == "server_shutdown_after_frames") target = &rules.server_shutdown_after_frames;
  else if (name == "rest_429") target = &rules.rest_429;
  else if (name == "rest_418") target = &rules.rest_418;
  else if (name == "skip_closed") target = &rules.skip_closed;
  else return fmt::format("unknown fault '{}'", name);
  if (!count) return fmt::format("fault '{}' takes a non-negative integer, not '{}'", name, value);
  *target = *count;
  return std::nullopt;
}

std::string faults_json(const FaultOptions& rules) {
  return fmt::format(
      R"({{"drop_after_frames":{},"stall_after_frames":{},"stall_ms":{},"malformed_every":{},)"
      R"("server_shutdown_after_frames":{},"rest_429":{},"rest_418":{},"skip_closed":{}}})",
      rules.drop_after_frames, rules.stall_after_frames, rules.stall_ms, rules.malformed_every,
      rules.server_shutdown_after_frames, rules.rest_429, rules.rest_418, rules.skip_closed);
}

std::string_view malformed_kind_name(MalformedKind kind) noexcept {
  switch (kind) {
    case MalformedKind::BadJson: return "bad_json";
    case MalformedKind::Truncated: return "truncated";
    case MalformedKind::NegativePrice: return "negative_price";
    case MalformedKind::HighBelowLow: return "high_below_low";
    case MalformedKind::MisalignedOpenTime: return "misaligned_open_time";
  }
  return "unknown";
}

bool is_closed_kline(std::string_view stream, std::string_view payload) noexcept {
  if (stream.find("@kline_") == std::string_view::npos) return false;
  const std::size_t k = kline_object(payload);
  if (k == std::string_view::npos) return false;
  const Span x = find_value(payload, "x", k);
  return x.found() && payload.substr(x.begin, x.end - x.begin) == "true";
}

std::string make_malformed(std::string_view wire, MalformedKind kind) {
  const std::size_t k = kline_object(wire);
  std::string out(wire);
  switch (kind) {
    case MalformedKind::BadJson:
      // A second opening brace is never valid JSON, whatever follows it.
      if (k == std::string_view::npos) return "{" + out;
      out.insert(k, "{");
      return out;
    case MalformedKind::Truncated: return truncated(wire);
    case MalformedKind::NegativePrice: {
      if (k == std::string_view::npos) return truncated(wire);
      const Span close = find_value(wire, "c", k);
      if (!close.found() || wire[close.begin] != '"') return truncated(wire);
      out.insert(close.begin + 1, "-");
      return out;
    }
    case MalformedKind::HighBelowLow: {
      if (k == std::string_view::npos) return truncated(wire);
      const Span high = find_value(wire, "h", k);
      const Span low = find_value(wire, "l", k);
      if (!high.found() || !low.found() || wire[high.begin] != '"') return truncated(wire);
      const double high_value = std::strtod(std::string(wire.substr(high.begin + 1, high.end - high.begin - 2)).c_str(), nullptr);
      // Any low above the high will do; twice the high plus one is above it for every price >= 0.
      const std::string new_low = fmt::format("\"{:.8f}\"", high_value * 2 + 1);
      out.replace(low.begin, low.end - low.begin, new_low);
      return out;
    }
    case MalformedKind::MisalignedOpenTime: {
      if (k == std::string_view::npos) return truncated(wire);
      // Shift t and T together, so the bar keeps its length and only its alignment is wrong.
      for (const std::string_view key : {"T", "t"}) {
        const Span time = find_value(out, key, k);
        if (!time.found()) return truncated(wire);
        std::int64_t value = 0;
        const char* first = out.data() + time.begin;
        if (std::from_chars(first, out.data() + time.end, value).ec != std::errc()) return truncated(wire);
        out.replace(time.begin, time.end - time.begin, fmt::format("{}", value + 1));
      }
      return out;
    }
  }
  return truncated(wire);
}

}  // namespace screener::replay
