// SPDX-License-Identifier: Apache-2.0
#pragma once

// A signal's identity and the shape of its JSON, shared by the worker that emits it and the
// daemon that writes it.
//
// The id is a hash of what makes a signal unique (trader, symbol, interval, bar), so a worker
// that evaluates the same bar again after a restart produces the same id, and the daemon can
// write every id once. It travels twice: as SignalBody::id in the message, and inside the JSON
// as "id":"<16 lowercase hex digits>". The JSON copy is what lets a restarted daemon rebuild its
// set of written ids from the JSONL file.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/fnv1a.hpp"

namespace screener {

/// FNV-1a 64 over: trader '\0' symbol '\0' interval '\0' decimal bar open time (ms, '-' if
/// negative).
[[nodiscard]] constexpr std::uint64_t signal_id(std::string_view trader, std::string_view symbol,
                                                std::string_view interval,
                                                std::int64_t bar_open_time_ms) noexcept {
  constexpr std::string_view kSeparator{"\0", 1};
  std::uint64_t hash = fnv1a64(trader);
  hash = fnv1a64(kSeparator, hash);
  hash = fnv1a64(symbol, hash);
  hash = fnv1a64(kSeparator, hash);
  hash = fnv1a64(interval, hash);
  hash = fnv1a64(kSeparator, hash);
  char digits[20] = {};
  std::size_t begin = sizeof digits;
  // Through the unsigned magnitude so that INT64_MIN does not overflow.
  std::uint64_t magnitude = bar_open_time_ms < 0 ? 0 - static_cast<std::uint64_t>(bar_open_time_ms)
                                                 : static_cast<std::uint64_t>(bar_open_time_ms);
  do {
    digits[--begin] = static_cast<char>('0' + magnitude % 10);
    magnitude /= 10;
  } while (magnitude != 0);
  if (bar_open_time_ms < 0) hash = fnv1a64("-", hash);
  return fnv1a64(std::string_view(digits + begin, sizeof digits - begin), hash);
}

inline constexpr std::size_t kSignalIdHexDigits = 16;

/// The id as it appears in the JSON: 16 lowercase hex digits.
[[nodiscard]] constexpr std::string format_signal_id(std::uint64_t id) {
  constexpr char kHex[] = "0123456789abcdef";
  std::string text(kSignalIdHexDigits, '0');
  for (std::size_t i = kSignalIdHexDigits; i-- > 0; id >>= 4) text[i] = kHex[id & 0xF];
  return text;
}

/// The inverse of format_signal_id: exactly 16 lowercase hex digits, nothing otherwise.
[[nodiscard]] constexpr std::optional<std::uint64_t> parse_signal_id(std::string_view text) noexcept {
  if (text.size() != kSignalIdHexDigits) return std::nullopt;
  std::uint64_t id = 0;
  for (const char c : text) {
    std::uint64_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<std::uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<std::uint64_t>(c - 'a' + 10);
    } else {
      return std::nullopt;
    }
    id = (id << 4) | digit;
  }
  return id;
}

/// The value of the first `"id":"<16 hex digits>"` member in a signal's JSON (whitespace around
/// the colon allowed), nothing if there is none. The worker writes the id as the first member,
/// so this is not a JSON parser: a nested object's "id" member that came first would be taken.
[[nodiscard]] constexpr std::optional<std::uint64_t> signal_id_in_json(std::string_view json) noexcept {
  constexpr std::string_view kKey = "\"id\"";
  const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  for (std::size_t at = json.find(kKey); at != std::string_view::npos; at = json.find(kKey, at + 1)) {
    std::size_t pos = at + kKey.size();
    while (pos < json.size() && is_space(json[pos])) ++pos;
    if (pos >= json.size() || json[pos] != ':') continue;
    ++pos;
    while (pos < json.size() && is_space(json[pos])) ++pos;
    if (pos >= json.size() || json[pos] != '"') continue;
    ++pos;
    if (json.size() - pos < kSignalIdHexDigits + 1 || json[pos + kSignalIdHexDigits] != '"') continue;
    if (auto id = parse_signal_id(json.substr(pos, kSignalIdHexDigits))) return id;
  }
  return std::nullopt;
}

/// Why `json` cannot be the JSON of signal `id` (one line of the JSONL file), nothing if it can:
/// it must be a single line that starts with '{', ends with '}' and carries "id" equal to `id`.
[[nodiscard]] constexpr std::optional<std::string_view> signal_json_problem(std::uint64_t id,
                                                                            std::string_view json) noexcept {
  if (json.empty()) return "the JSON is empty";
  if (json.front() != '{' || json.back() != '}') {
    return "the JSON is not an object (must start with '{' and end with '}')";
  }
  if (json.find_first_of("\n\r") != std::string_view::npos) return "the JSON contains a line break";
  const std::optional<std::uint64_t> in_json = signal_id_in_json(json);
  if (!in_json) return "the JSON has no \"id\":\"<16 lowercase hex digits>\" member";
  if (*in_json != id) return "the JSON's \"id\" differs from the message's signal id";
  return std::nullopt;
}

}  // namespace screener
