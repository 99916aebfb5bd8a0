// SPDX-License-Identifier: Apache-2.0
#pragma once

// The exchange that screener-replay simulates, without any networking: a market clock over a
// source of klines, the frames Binance would push at each step, and the REST answers it would
// give. The network server (server/) only moves these strings; everything it serves is decided
// here, so it can be tested without sockets.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/interval.hpp"

namespace screener::replay {

/// One listed symbol, as exchangeInfo will describe it.
struct Listing {
  std::string symbol;       ///< "BTCUSDT" (UTF-8; may be non-ASCII)
  std::string base_asset;
  std::string quote_asset;
  std::string status = "TRADING";
  std::string tick_size = "0.00000100";   ///< decimal text, as Binance sends it
  std::string step_size = "0.00100000";
};

/// A frame due at a market time, on one stream.
struct StreamFrame {
  std::string stream;       ///< "btcusdt@kline_1m", "!miniTicker@arr", "!serverShutdown"
  std::string payload;      ///< the raw-stream payload JSON; the server wraps it for /stream
};

/// A REST answer: status, body and the weight the request costs.
struct RestAnswer {
  int status = 200;
  std::string body;
  int weight = 0;
};

/// Market clock speed.
struct Speed {
  enum class Mode { RealTime, Multiple, AsFastAsRead } mode = Mode::RealTime;
  double multiple = 1.0;    ///< for Mode::Multiple: market ms per wall ms
};

/// The simulated exchange. Not thread-safe: the server drives it from one strand.
class ExchangeModel {
 public:
  virtual ~ExchangeModel() = default;

  [[nodiscard]] virtual const std::vector<Listing>& listings() const = 0;
  [[nodiscard]] virtual const std::vector<Interval>& intervals() const = 0;

  /// Market time now (ms since the epoch).
  [[nodiscard]] virtual std::int64_t now_ms() const = 0;
  /// Market time of the next scheduled step, or nothing when the source is exhausted.
  [[nodiscard]] virtual std::optional<std::int64_t> next_step_ms() const = 0;
  /// Advances the clock to the next step and returns every frame due then, in order, for all
  /// streams (the server sends each connection the ones it subscribed to).
  virtual std::vector<StreamFrame> step() = 0;

  /// GET /api/v3/exchangeInfo, /api/v3/klines, /api/v3/ticker/24hr with their query strings
  /// (already split: target path and raw query). Unknown paths: 404 with a Binance error body.
  [[nodiscard]] virtual RestAnswer rest(std::string_view path, std::string_view query) const = 0;
};

}  // namespace screener::replay
