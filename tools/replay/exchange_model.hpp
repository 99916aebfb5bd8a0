// SPDX-License-Identifier: Apache-2.0
#pragma once

// The exchange that screener-replay simulates, without any networking: a market clock over a
// source of klines, the frames Binance would push at each step, and the REST answers it would
// give. The network server (server/) only moves these strings; everything it serves is decided
// here, so it can be tested without sockets.

#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
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

  /// Changes a listed symbol's exchange status ("TRADING", "BREAK", "HALT", …) from now on:
  /// exchangeInfo reports it (and its symbolStatus= filter sees it), and while it is anything
  /// but "TRADING" the symbol's kline frames are left out of every step, as on the real exchange,
  /// until it is "TRADING" again. The status text is taken as given (the caller checks the name).
  /// Returns false, changing nothing, when `symbol` is not listed.
  virtual bool set_listing_status(std::string_view symbol, std::string_view status) = 0;

  /// GET /api/v3/exchangeInfo, /api/v3/klines, /api/v3/ticker/24hr with their query strings
  /// (already split: target path and raw query). Unknown paths: 404 with a Binance error body.
  /// Also /api/v3/ping and /api/v3/time (weight 1), which clients call before anything else.
  [[nodiscard]] virtual RestAnswer rest(std::string_view path, std::string_view query) const = 0;

  /// The REQUEST_WEIGHT limit per minute that exchangeInfo advertises; the server enforces it.
  [[nodiscard]] virtual int request_weight_limit() const = 0;
  /// The interval of the source's bars, from which every served interval is aggregated
  /// (the interval of the kline streams seen, for a capture).
  [[nodiscard]] virtual Interval base_interval() const = 0;
};

// ---------------------------------------------------------------------------------------------
// Building a model

/// A deterministic random market: `symbols` symbols SYN000USDT, SYN001USDT, … at 1m.
struct SyntheticSource {
  std::uint64_t seed = 1;
  std::size_t symbols = 20;
  std::int64_t start_ms = 1'704'067'200'000;      ///< open of the first live bar (2024-01-01); floored to 1m
  std::size_t history_bars = 1500;                ///< bars before start_ms, served over REST only
  std::optional<std::size_t> live_bars;           ///< bars from start_ms on; nothing: endless
};

/// Kline CSV files (common/kline_csv.hpp): the 7-column multi-symbol file or 12-column archive files.
struct CsvSource {
  std::vector<std::string> files;
  std::optional<std::string> symbol;              ///< 12-column files: override the file-name symbol
  std::optional<Interval> interval;               ///< override interval detection
};

/// A recorded capture, replayed verbatim with its original timing: JSONL lines
/// {"recv_ns":…,"conn":…,"frame":"…"} (screenerd --record) or cryptofeed's `<epoch_s>: <frame>`.
struct CaptureSource {
  std::string file;
};

/// Live streaming starts after this many base bars of history (a timeline position) …
struct LiveFromBars {
  std::size_t history_bars;
};
/// … or at the first base bar opening at or after this time.
struct LiveFromTime {
  std::int64_t time_ms;
};

struct ModelOptions {
  std::variant<SyntheticSource, CsvSource, CaptureSource> source = SyntheticSource{};
  /// Kline intervals streamed (REST serves any interval the base bars can build). Empty: those of
  /// 1m 5m 15m 1h 4h 1d that the base interval can build.
  std::vector<Interval> intervals;
  /// Nothing: synthetic starts at start_ms; CSV keeps min(1440, half the bars) as history.
  /// Ignored for captures.
  std::optional<std::variant<LiveFromBars, LiveFromTime>> live_from;
  /// Forming (x=false) updates per base bar. 0: one per 2 s of market time (1 for 1s bars).
  std::uint32_t updates_per_bar = 0;
  /// The REQUEST_WEIGHT per minute advertised in exchangeInfo.
  int weight_limit = 6000;
};

/// Builds the model, loading files as needed. Errors name the file or option and the value.
[[nodiscard]] std::expected<std::unique_ptr<ExchangeModel>, std::string> make_exchange_model(
    const ModelOptions& options);

}  // namespace screener::replay
