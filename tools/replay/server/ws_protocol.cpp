// SPDX-License-Identifier: Apache-2.0
#include "tools/replay/server/ws_protocol.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <unordered_set>

namespace screener::replay {

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void split_streams(std::string_view list, std::vector<std::string>& out) {
  std::unordered_set<std::string_view> seen;
  for (std::size_t start = 0; start <= list.size();) {
    std::size_t end = list.find('/', start);
    if (end == std::string_view::npos) end = list.size();
    const std::string_view name = list.substr(start, end - start);
    if (!name.empty() && seen.insert(name).second) out.emplace_back(name);
    start = end + 1;
  }
}

constexpr std::string_view kMethodList =
    "`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`";

ControlError invalid_request(std::string_view why, std::string id_json = "null") {
  return ControlError{2, fmt::format("Invalid request: {}", why), std::move(id_json)};
}

// Binance accepts a 64-bit signed integer, an alphanumeric string of at most 36 characters, or
// null; anything else is refused with the (older) wording its error table still uses.
std::optional<std::string> id_to_json(const simdjson::dom::element& id) {
  using simdjson::dom::element_type;
  switch (id.type()) {
    case element_type::INT64: return fmt::format("{}", std::int64_t(id));
    case element_type::NULL_VALUE: return std::string("null");
    case element_type::STRING: {
      const std::string_view text = id;
      if (text.size() > 36) return std::nullopt;
      if (!std::all_of(text.begin(), text.end(), [](char c) {
            return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
          }))
        return std::nullopt;
      return fmt::format("\"{}\"", text);
    }
    default: return std::nullopt;
  }
}

}  // namespace

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> query_params(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t start = 0; start < query.size();) {
    std::size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view pair = query.substr(start, end - start);
    if (!pair.empty()) {
      const std::size_t eq = pair.find('=');
      if (eq == std::string_view::npos)
        out.emplace_back(percent_decode(pair), std::string());
      else
        out.emplace_back(percent_decode(pair.substr(0, eq)), percent_decode(pair.substr(eq + 1)));
    }
    start = end + 1;
  }
  return out;
}

std::optional<std::string> query_param(std::string_view query, std::string_view key) {
  for (auto& [name, value] : query_params(query))
    if (name == key) return std::move(value);
  return std::nullopt;
}

std::optional<StreamRequest> parse_stream_target(std::string_view target) {
  const std::size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query = question == std::string_view::npos ? std::string_view() : target.substr(question + 1);
  StreamRequest request;
  if (path == "/ws" || path == "/ws/") return request;
  if (path.starts_with("/ws/")) {
    split_streams(percent_decode(path.substr(4)), request.streams);
    return request;
  }
  if (path == "/stream" || path == "/stream/") {
    request.combined = true;
    if (auto streams = query_param(query, "streams")) split_streams(*streams, request.streams);
    return request;
  }
  return std::nullopt;
}

bool is_valid_stream_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 256) return false;
  for (const char c : name) {
    const auto byte = static_cast<unsigned char>(c);
    // Non-ASCII bytes are allowed: symbols may be UTF-8.
    if (byte <= 0x20 || byte == 0x7f || c == '"' || c == '\\' || c == '/') return false;
  }
  return name.front() == '!' || name.find('@') != std::string_view::npos;
}

std::variant<ControlRequest, ControlError> parse_control_message(std::string_view text) {
  // One parser per thread: the server runs on one thread, and the test client may use others.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (const auto error = parser.parse(text.data(), text.size()).get(doc); error != simdjson::SUCCESS)
    return ControlError{3, fmt::format("Invalid JSON: {}", simdjson::error_message(error)), "null"};
  simdjson::dom::object object;
  if (doc.get(object) != simdjson::SUCCESS) return invalid_request("expected a JSON object");

  simdjson::dom::element id;
  if (object["id"].get(id) != simdjson::SUCCESS) return invalid_request("request ID must be an unsigned integer");
  auto id_json = id_to_json(id);
  if (!id_json) return invalid_request("request ID must be an unsigned integer");

  simdjson::dom::element method_element;
  if (object["method"].get(method_element) != simdjson::SUCCESS)
    return invalid_request("missing field `method`", *id_json);
  std::string_view method_name;
  if (method_element.get(method_name) != simdjson::SUCCESS)
    return invalid_request(fmt::format("invalid type for `method`, expected one of {}", kMethodList), *id_json);

  ControlRequest request;
  request.id_json = *id_json;
  if (method_name == "SUBSCRIBE")
    request.method = ControlMethod::Subscribe;
  else if (method_name == "UNSUBSCRIBE")
    request.method = ControlMethod::Unsubscribe;
  else if (method_name == "LIST_SUBSCRIPTIONS")
    request.method = ControlMethod::ListSubscriptions;
  else if (method_name == "SET_PROPERTY")
    request.method = ControlMethod::SetProperty;
  else if (method_name == "GET_PROPERTY")
    request.method = ControlMethod::GetProperty;
  else
    return invalid_request(fmt::format("unknown variant `{}`, expected one of {}", method_name, kMethodList), *id_json);

  simdjson::dom::array params;   // a default array has no tape: only touch it when has_params
  simdjson::dom::element params_element;
  const bool has_params = object["params"].get(params_element) == simdjson::SUCCESS &&
                          params_element.type() != simdjson::dom::element_type::NULL_VALUE;
  if (has_params && params_element.get(params) != simdjson::SUCCESS)
    return invalid_request("`params` must be an array", *id_json);
  const std::size_t param_count = has_params ? params.size() : 0;

  switch (request.method) {
    case ControlMethod::Subscribe:
    case ControlMethod::Unsubscribe: {
      if (!has_params) return invalid_request("missing field `params`", *id_json);
      std::unordered_set<std::string_view> seen;
      for (const auto param : params) {
        std::string_view name;
        if (param.get(name) != simdjson::SUCCESS || !is_valid_stream_name(name))
          return invalid_request("invalid stream", *id_json);
        if (seen.insert(name).second) request.streams.emplace_back(name);
      }
      break;
    }
    case ControlMethod::ListSubscriptions:
      if (param_count > 0) return invalid_request("too many parameters", *id_json);
      break;
    case ControlMethod::SetProperty:
    case ControlMethod::GetProperty: {
      const std::size_t expected = request.method == ControlMethod::SetProperty ? 2 : 1;
      if (param_count > expected) return invalid_request("too many parameters", *id_json);
      std::string_view property;
      if (param_count == 0 || params.at(0).get(property) != simdjson::SUCCESS)
        return invalid_request("property name must be a string", *id_json);
      if (property != "combined") return ControlError{0, "Unknown property", *id_json};
      if (request.method == ControlMethod::SetProperty) {
        bool value = false;
        if (param_count < 2 || params.at(1).get(value) != simdjson::SUCCESS)
          return ControlError{1, "Invalid value type: expected Boolean", *id_json};
        request.combined = value;
      }
      break;
    }
  }
  return request;
}

std::string control_result_null(std::string_view id_json) { return fmt::format(R"({{"result":null,"id":{}}})", id_json); }

std::string control_result_bool(bool value, std::string_view id_json) {
  return fmt::format(R"({{"result":{},"id":{}}})", value, id_json);
}

std::string control_result_list(const std::vector<std::string>& streams, std::string_view id_json) {
  std::string out = R"({"result":[)";
  for (std::size_t i = 0; i < streams.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    out += json_escape(streams[i]);
    out += '"';
  }
  out += fmt::format(R"(],"id":{}}})", id_json);
  return out;
}

std::string control_error_reply(const ControlError& error) {
  return fmt::format(R"({{"error":{{"code":{},"msg":"{}"}},"id":{}}})", error.code, json_escape(error.msg),
                     error.id_json);
}

std::string wrap_combined(std::string_view stream, std::string_view payload) {
  std::string out;
  out.reserve(stream.size() + payload.size() + 22);
  out += R"({"stream":")";
  out += stream;   // validated names contain nothing to escape
  out += R"(","data":)";
  out += payload;
  out += '}';
  return out;
}


}  // namespace screener::replay
