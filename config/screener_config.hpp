// SPDX-License-Identifier: Apache-2.0
#pragma once

// The daemon's configuration (screener.toml): the segment and the market data it holds.
// Every key has a default, so an empty file is a valid configuration.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/interval.hpp"
#include "common/segment_geometry.hpp"
#include "common/segment_layout.hpp"

namespace screener::config {

struct SegmentConfig {
  std::string name = "screener";             ///< /dev/shm/<name>
  std::uint32_t max_symbols = 400;
  std::uint32_t journal_capacity = 65536;    ///< records; a power of two
  std::string group;                         ///< group that may read the segment; empty: screenerd's own
  std::chrono::milliseconds heartbeat_timeout{5000};
  std::uint32_t max_traders = shm::kDefaultTraderCapacity;        ///< trader table entries
  std::uint32_t trader_text_bytes = shm::kDefaultTraderTextBytes;  ///< room for the trader files' texts
};

struct MarketConfig {
  std::vector<Interval> intervals{std::begin(shm::kDefaultIntervals), std::end(shm::kDefaultIntervals)};
  std::uint32_t depth = 1440;                ///< closed bars kept per (symbol, interval)
};

struct ExchangeConfig {
  std::string ws_url = "wss://stream.binance.com:9443";   ///< combined streams live under /stream
  std::string rest_url = "https://api.binance.com";
  std::string ca_file;                       ///< PEM CA bundle to trust; empty: the system store
};

/// Which symbols the daemon follows: an explicit list, or the top N of one quote asset.
struct UniverseConfig {
  std::vector<std::string> symbols;          ///< explicit list; when empty, quote_asset + top_n
  std::string quote_asset = "USDT";
  std::uint32_t top_n = 100;                 ///< by 24 h quote volume, TRADING symbols only
  std::chrono::seconds refresh{600};         ///< exchangeInfo refresh period
};

struct IngestConfig {
  std::uint32_t streams_per_connection = 1024;      ///< Binance allows 1024
  std::chrono::seconds watchdog{60};                ///< silence that closes a connection
  std::chrono::seconds rotate_after{23 * 3600};     ///< make-before-break, before Binance's 24 h cut
  std::chrono::milliseconds reconnect_min{500};
  std::chrono::milliseconds reconnect_max{60'000};
  std::uint32_t max_connects_per_5min = 250;        ///< Binance refuses more than 300 per IP
  double rest_weight_share = 0.8;                   ///< of the exchange's per-minute weight limit
};

/// Where the traders come from and how the workers reach the daemon.
struct TradersConfig {
  std::string dir = "/etc/screener/traders.d";  ///< *.toml, one trader each
  bool dir_is_default = true;                   ///< a missing default directory means "no traders"
  std::string socket;      ///< workers' Unix socket; empty: ${RUNTIME_DIRECTORY:-/tmp}/screener-<segment>.sock
  std::string state_dir;   ///< fired state and signals; empty: $STATE_DIRECTORY, /var/lib/screener for root,
                           ///< ${XDG_STATE_HOME:-~/.local/state}/screener for other users
};

/// Where signals are written.
struct SignalsConfig {
  std::string jsonl;       ///< JSON Lines file; empty: <state_dir>/signals.jsonl; "-": none
  bool to_stdout = true;   ///< one line per signal on stdout (the journal under systemd)
};

/// The metrics endpoint: GET /metrics (Prometheus text format) and /healthz.
struct MetricsConfig {
  std::string listen;      ///< "HOST:PORT"; empty: no endpoint
};

/// One `[sinks.NAME]` table: somewhere signals are also delivered, after the JSONL record.
struct SinkConfig {
  enum class Type : std::uint8_t { Webhook, WebSocket };
  std::string name;                              ///< the table's name, used by traders' `sinks`
  Type type = Type::Webhook;
  // type = "webhook"
  std::string url;                               ///< http:// or https://; from `url` or `url_env`
  std::string url_env;                           ///< the variable the URL came from, if any
  std::chrono::milliseconds timeout{3000};       ///< per attempt
  std::uint32_t retries = 5;                     ///< attempts after the first
  std::chrono::milliseconds backoff{500};        ///< first retry delay, doubling
  std::chrono::milliseconds backoff_max{30'000}; ///< cap of the doubling
  std::uint32_t max_per_minute = 60;             ///< token bucket: rate and burst
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra request headers
  // type = "websocket"
  std::string listen;                            ///< "HOST:PORT"
  // both
  std::uint32_t queue = 10'000;                  ///< webhook: signals waiting; websocket: per client
};

struct ScreenerConfig {
  std::string source;                        ///< file it came from, or "<defaults>"
  SegmentConfig segment;
  MarketConfig market;
  ExchangeConfig exchange;
  UniverseConfig universe;
  IngestConfig ingest;
  TradersConfig traders;
  SignalsConfig signals;
  MetricsConfig metrics;
  std::vector<SinkConfig> sinks;               ///< sorted by name

  /// The workers' socket path with the defaults applied.
  [[nodiscard]] std::string socket_path() const;
  /// The workers' state directory with the defaults applied.
  [[nodiscard]] std::string state_dir() const;
  /// The JSON Lines file with the defaults applied; empty when signals go to no file.
  [[nodiscard]] std::string jsonl_path() const;

  /// The segment geometry these settings describe (validated).
  [[nodiscard]] shm::SegmentGeometry geometry() const;
};

/// Parses TOML text; `source` names it in error messages. Throws ConfigError.
[[nodiscard]] ScreenerConfig parse_config(std::string_view text, std::string source);

/// Reads and parses a file. Throws ConfigError (also for a missing or unreadable file).
[[nodiscard]] ScreenerConfig load_config(const std::string& path);

}  // namespace screener::config
