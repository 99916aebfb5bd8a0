// SPDX-License-Identifier: Apache-2.0
#pragma once

// One signal as the JSON object that every sink receives (one line of the JSONL file):
//   {"id":"<16 hex>","ts":<ms>,"trader":"…","symbol":"…","interval":"5m","bar_open_time":<ms>,
//    "close":<number>,"values":{"rsi(14)":27.5,"ema(200)@1h":null},"late":false}
// plus "intrabar":true for traders evaluated on the forming bar. Numbers are shortest
// round-trip decimals; a value that is not ready is null. The id comes first: the daemon finds
// it there when it rebuilds its set of written ids (signal_id_in_json).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace screener::worker {

struct SignalValue {
  std::string_view label;
  double value;
};

struct SignalFields {
  std::uint64_t id = 0;
  std::int64_t ts_ms = 0;               ///< emission time, Unix ms
  std::string_view trader;
  std::string_view symbol;
  std::string_view interval;
  std::int64_t bar_open_time_ms = 0;
  double close = 0;
  std::span<const SignalValue> values;
  bool late = false;
  bool intrabar = false;
};

[[nodiscard]] std::string format_signal_json(const SignalFields& signal);

}  // namespace screener::worker
