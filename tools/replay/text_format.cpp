// SPDX-License-Identifier: Apache-2.0
#include "tools/replay/text_format.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>

namespace screener::replay {

namespace {
bool parses_back_to(std::string_view text, double value) {
  double back = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), back);
  return ec == std::errc{} && end == text.data() + text.size() && back == value;
}
}  // namespace

void append_decimal(std::string& out, double value) {
  std::array<char, 96> buffer{};
  for (int precision = 8; precision <= 24; ++precision) {
    const auto result = fmt::format_to_n(buffer.data(), buffer.size(), "{:.{}f}", value, precision);
    if (result.size > buffer.size()) break;
    const std::string_view text(buffer.data(), result.size);
    if (parses_back_to(text, value)) {
      out.append(text);
      return;
    }
  }
  fmt::format_to(std::back_inserter(out), "{}", value);
}

std::string format_decimal(double value) {
  std::string out;
  append_decimal(out, value);
  return out;
}

void append_fixed8(std::string& out, double value) {
  if (value == 0.0) value = 0.0;  // no "-0.00000000"
  fmt::format_to(std::back_inserter(out), "{:.8f}", value);
}

std::string units_text(std::int64_t units) {
  return fmt::format("{}.{:08}", units / 100'000'000, units % 100'000'000);
}

std::optional<double> parse_plain_decimal(std::string_view text) noexcept {
  if (text.empty()) return std::nullopt;
  int dots = 0;
  int digits = 0;
  for (const char c : text) {
    if (c == '.') ++dots;
    else if (c >= '0' && c <= '9') ++digits;
    else return std::nullopt;
  }
  if (dots > 1 || digits == 0) return std::nullopt;
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  for (const char c : text) {
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<unsigned>(c));
        else
          out.push_back(c);
    }
  }
  out.push_back('"');
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

int decimal_places(std::string_view text) noexcept {
  const std::size_t dot = text.find('.');
  return dot == std::string_view::npos ? 0 : static_cast<int>(text.size() - dot - 1);
}

std::string step_text(int decimals) {
  if (decimals <= 0) return "1.00000000";
  std::string text = "0.";
  text.append(static_cast<std::size_t>(decimals - 1), '0');
  text.push_back('1');
  if (decimals < 8) text.append(static_cast<std::size_t>(8 - decimals), '0');
  return text;
}

}  // namespace screener::replay
