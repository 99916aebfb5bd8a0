// SPDX-License-Identifier: Apache-2.0
#include "worker/signal_json.hpp"

#include <cmath>

#include <fmt/format.h>

#include "common/json_escape.hpp"
#include "common/signal_id.hpp"

namespace screener::worker {

namespace {

void append_number(std::string& out, double v) {
  if (std::isfinite(v)) {
    fmt::format_to(std::back_inserter(out), "{}", v);
  } else {
    out += "null";
  }
}

void append_string(std::string& out, std::string_view text) {
  out += '"';
  append_json_escaped(out, text);
  out += '"';
}

}  // namespace

std::string format_signal_json(const SignalFields& s) {
  std::string out;
  out.reserve(256);
  out += "{\"id\":\"";
  out += format_signal_id(s.id);
  fmt::format_to(std::back_inserter(out), "\",\"ts\":{},\"trader\":", s.ts_ms);
  append_string(out, s.trader);
  out += ",\"symbol\":";
  append_string(out, s.symbol);
  out += ",\"interval\":";
  append_string(out, s.interval);
  fmt::format_to(std::back_inserter(out), ",\"bar_open_time\":{},\"close\":", s.bar_open_time_ms);
  append_number(out, s.close);
  out += ",\"values\":{";
  for (std::size_t i = 0; i < s.values.size(); ++i) {
    if (i > 0) out += ',';
    append_string(out, s.values[i].label);
    out += ':';
    append_number(out, s.values[i].value);
  }
  out += "},\"late\":";
  out += s.late ? "true" : "false";
  if (s.intrabar) out += ",\"intrabar\":true";
  out += '}';
  return out;
}

}  // namespace screener::worker
