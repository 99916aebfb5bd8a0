// SPDX-License-Identifier: Apache-2.0
#include "config/screener_config.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <fstream>
#include <sstream>

#include "common/segment_geometry.hpp"
#include "common/segment_name.hpp"
#include "config/table_reader.hpp"

namespace screener::config {

namespace {

std::string known_interval_names() {
  std::string names;
  for (const auto& info : kIntervals) names += (names.empty() ? "" : " ") + std::string(info.name);
  return names;
}

SegmentConfig read_segment(TableReader table) {
  SegmentConfig segment;
  segment.name = table.string("name", segment.name);
  segment.max_symbols = static_cast<std::uint32_t>(
      table.integer("max_symbols", segment.max_symbols, 1, shm::kMaxSymbolsLimit));
  segment.journal_capacity = static_cast<std::uint32_t>(table.integer(
      "journal_capacity", segment.journal_capacity, shm::kMinJournalCapacity, shm::kMaxJournalCapacity));
  if ((segment.journal_capacity & (segment.journal_capacity - 1)) != 0)
    table.fail("journal_capacity", fmt::format("must be a power of two, got {}", segment.journal_capacity));
  segment.group = table.string("group", segment.group);
  segment.heartbeat_timeout = std::chrono::milliseconds(
      table.integer("heartbeat_timeout_ms", segment.heartbeat_timeout.count(), 100, 600'000));
  segment.max_traders = static_cast<std::uint32_t>(
      table.integer("max_traders", segment.max_traders, 1, shm::kMaxTraderCapacity));
  segment.trader_text_bytes = static_cast<std::uint32_t>(table.integer(
      "trader_text_bytes", segment.trader_text_bytes, shm::kMinTraderTextBytes, shm::kMaxTraderTextBytes));
  if (segment.trader_text_bytes % 8 != 0)
    table.fail("trader_text_bytes", fmt::format("must be a multiple of 8, got {}", segment.trader_text_bytes));
  if (auto name = shm::parse_segment_name(segment.name); !name) table.fail("name", name.error().message);
  table.reject_unknown_keys();
  return segment;
}

MarketConfig read_market(TableReader table) {
  MarketConfig market;
  std::vector<std::string> defaults;
  for (const Interval interval : market.intervals) defaults.emplace_back(interval_name(interval));
  const auto names = table.strings("intervals", defaults);
  if (names.empty() || names.size() > shm::kMaxIntervals)
    table.fail("intervals", fmt::format("list 1 to {} intervals, got {}", shm::kMaxIntervals, names.size()));
  market.intervals.clear();
  for (const auto& name : names) {
    const auto interval = parse_interval(name);
    if (!interval)
      table.fail("intervals", fmt::format("unknown interval '{}'; Binance's are: {}", name, known_interval_names()));
    for (const Interval seen : market.intervals)
      if (seen == *interval) table.fail("intervals", fmt::format("interval '{}' is listed twice", name));
    market.intervals.push_back(*interval);
  }
  market.depth = static_cast<std::uint32_t>(table.integer("depth", market.depth, 2, shm::kRingCapacityLimit));
  table.reject_unknown_keys();
  return market;
}

ExchangeConfig read_exchange(TableReader table) {
  ExchangeConfig exchange;
  exchange.ws_url = table.string("ws_url", exchange.ws_url);
  exchange.rest_url = table.string("rest_url", exchange.rest_url);
  exchange.ca_file = table.string("ca_file", exchange.ca_file);
  auto require_scheme = [&](std::string_view key, const std::string& url, std::string_view scheme) {
    if (!url.starts_with(fmt::format("{}://", scheme)) && !url.starts_with(fmt::format("{}s://", scheme)))
      table.fail(key, fmt::format("expected a {}:// or {}s:// URL, got '{}'", scheme, scheme, url));
  };
  require_scheme("ws_url", exchange.ws_url, "ws");
  require_scheme("rest_url", exchange.rest_url, "http");
  table.reject_unknown_keys();
  return exchange;
}

UniverseConfig read_universe(TableReader table) {
  UniverseConfig universe;
  universe.symbols = table.strings("symbols", {});
  for (const auto& symbol : universe.symbols) {
    if (symbol.empty() || symbol.size() > shm::kSymbolNameCapacity)
      table.fail("symbols", fmt::format("symbol '{}' must be 1 to {} bytes", symbol, shm::kSymbolNameCapacity));
  }
  universe.quote_asset = table.string("quote_asset", universe.quote_asset);
  universe.top_n = static_cast<std::uint32_t>(table.integer("top_n", universe.top_n, 1, shm::kMaxSymbolsLimit));
  universe.refresh = std::chrono::seconds(table.integer("refresh_seconds", universe.refresh.count(), 10, 86'400));
  table.reject_unknown_keys();
  return universe;
}

IngestConfig read_ingest(TableReader table) {
  IngestConfig ingest;
  ingest.streams_per_connection = static_cast<std::uint32_t>(
      table.integer("streams_per_connection", ingest.streams_per_connection, 1, 1024));
  ingest.watchdog = std::chrono::seconds(table.integer("watchdog_seconds", ingest.watchdog.count(), 1, 3600));
  ingest.rotate_after =
      std::chrono::seconds(table.integer("rotate_after_seconds", ingest.rotate_after.count(), 10, 86'000));
  ingest.reconnect_min =
      std::chrono::milliseconds(table.integer("reconnect_min_ms", ingest.reconnect_min.count(), 10, 60'000));
  ingest.reconnect_max =
      std::chrono::milliseconds(table.integer("reconnect_max_ms", ingest.reconnect_max.count(), 100, 600'000));
  if (ingest.reconnect_max < ingest.reconnect_min)
    table.fail("reconnect_max_ms", fmt::format("must be at least reconnect_min_ms ({}), got {}",
                                               ingest.reconnect_min.count(), ingest.reconnect_max.count()));
  ingest.max_connects_per_5min = static_cast<std::uint32_t>(
      table.integer("max_connects_per_5min", ingest.max_connects_per_5min, 1, 300));
  const std::int64_t share_percent = table.integer("rest_weight_percent", 80, 1, 100);
  ingest.rest_weight_share = static_cast<double>(share_percent) / 100.0;
  table.reject_unknown_keys();
  return ingest;
}

TradersConfig read_traders(TableReader table) {
  TradersConfig traders;
  const std::string dir = table.string("dir", traders.dir);
  traders.dir_is_default = dir == traders.dir;
  traders.dir = dir;
  traders.socket = table.string("socket", traders.socket);
  if (traders.socket.size() >= 108)
    table.fail("socket", fmt::format("'{}' is {} bytes; a Unix socket path holds at most 107", traders.socket,
                                     traders.socket.size()));
  traders.state_dir = table.string("state_dir", traders.state_dir);
  table.reject_unknown_keys();
  return traders;
}

SignalsConfig read_signals(TableReader table) {
  SignalsConfig signals;
  signals.jsonl = table.string("jsonl", signals.jsonl);
  signals.to_stdout = table.boolean("stdout", signals.to_stdout);
  table.reject_unknown_keys();
  return signals;
}

/// "HOST:PORT" with an IP host (IPv6 in brackets) and a port 0..65535; else why not.
std::optional<std::string> listen_problem(const std::string& text) {
  const auto colon = text.rfind(':');
  const std::string example = R"(expected "HOST:PORT" with an IP address, e.g. "127.0.0.1:9464" or "[::1]:9464")";
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return fmt::format("{}, got '{}'", example, text);
  std::string host = text.substr(0, colon);
  const std::string port = text.substr(colon + 1);
  if (host.starts_with('[') && host.ends_with(']')) {
    host = host.substr(1, host.size() - 2);
    if (host.empty() || host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos)
      return fmt::format("{}, got '{}'", example, text);
  } else {
    int dots = 0;
    for (const char c : host) {
      if (c == '.') ++dots;
      else if (c < '0' || c > '9') return fmt::format("{}: the host must be an IP address, got '{}'", example, text);
    }
    if (dots != 3) return fmt::format("{}: the host must be an IP address, got '{}'", example, text);
  }
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535)
    return fmt::format("{}: the port must be 0 to 65535, got '{}'", example, text);
  return std::nullopt;
}

MetricsConfig read_metrics(TableReader table) {
  MetricsConfig metrics;
  metrics.listen = table.string("listen", metrics.listen);
  if (!metrics.listen.empty())
    if (auto problem = listen_problem(metrics.listen)) table.fail("listen", *problem);
  table.reject_unknown_keys();
  return metrics;
}

bool valid_sink_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::ranges::all_of(name, [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

/// Why `url` cannot be a webhook URL, or nothing.
std::optional<std::string> webhook_url_problem(const std::string& url) {
  std::string_view rest;
  if (url.starts_with("http://")) rest = std::string_view(url).substr(7);
  else if (url.starts_with("https://")) rest = std::string_view(url).substr(8);
  else return "expected an http:// or https:// URL";
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty() || authority.starts_with(':')) return "the URL has no host";
  if (authority.find_first_of(" \t@") != std::string_view::npos) return "the URL's host part is not valid";
  return std::nullopt;
}

SinkConfig read_sink(TableReader table, const std::string& name, TableReader& parent) {
  SinkConfig sink;
  sink.name = name;
  if (!valid_sink_name(name))
    parent.fail(name, "a sink name is 1 to 64 characters of A-Z a-z 0-9 _ -");
  const std::string type = table.string("type", "");
  if (type == "webhook") {
    sink.type = SinkConfig::Type::Webhook;
    const std::string url = table.string("url", "");
    sink.url_env = table.string("url_env", "");
    if (!url.empty() && !sink.url_env.empty()) table.fail("url_env", "give either url or url_env, not both");
    if (url.empty() && sink.url_env.empty()) table.fail("url", "a webhook needs url, or url_env naming a variable that holds it");
    if (!sink.url_env.empty()) {
      const char* value = std::getenv(sink.url_env.c_str());
      if (value == nullptr || *value == '\0')
        table.fail("url_env", fmt::format("the environment variable {} is not set (or empty)", sink.url_env));
      sink.url = value;
      // The URL may hold a secret: the error names the variable, never the value.
      if (auto problem = webhook_url_problem(sink.url))
        table.fail("url_env", fmt::format("the URL in {}: {}", sink.url_env, *problem));
    } else {
      sink.url = url;
      if (auto problem = webhook_url_problem(sink.url)) table.fail("url", fmt::format("{}, got '{}'", *problem, url));
    }
    sink.timeout = std::chrono::milliseconds(table.integer("timeout_ms", sink.timeout.count(), 100, 120'000));
    sink.retries = static_cast<std::uint32_t>(table.integer("retries", sink.retries, 0, 100));
    sink.backoff = std::chrono::milliseconds(table.integer("backoff_ms", sink.backoff.count(), 1, 600'000));
    sink.backoff_max =
        std::chrono::milliseconds(table.integer("backoff_max_ms", sink.backoff_max.count(), 1, 3'600'000));
    if (sink.backoff_max < sink.backoff)
      table.fail("backoff_max_ms", fmt::format("must be at least backoff_ms ({})", sink.backoff.count()));
    sink.max_per_minute = static_cast<std::uint32_t>(table.integer("max_per_minute", sink.max_per_minute, 1, 600'000));
    TableReader headers = table.table("headers");
    for (const std::string& header : headers.keys()) {
      const std::string value = headers.string(header, "");
      const bool token = !header.empty() && std::ranges::all_of(header, [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      });
      if (!token) headers.fail(header, "a header name is letters, digits, - and _");
      if (value.find_first_of("\r\n") != std::string::npos) headers.fail(header, "a header value must be one line");
      sink.headers.emplace_back(header, value);
    }
    headers.reject_unknown_keys();
    sink.queue = static_cast<std::uint32_t>(table.integer("queue", sink.queue, 1, 10'000'000));
  } else if (type == "websocket") {
    sink.type = SinkConfig::Type::WebSocket;
    sink.listen = table.string("listen", "");
    if (auto problem = listen_problem(sink.listen)) table.fail("listen", *problem);
    sink.queue = static_cast<std::uint32_t>(table.integer("queue", 1024, 1, 1'000'000));
  } else if (type.empty()) {
    table.fail("type", R"(missing: a sink needs type = "webhook" or type = "websocket")");
  } else {
    table.fail("type", fmt::format(R"(unknown sink type "{}"; the types are "webhook" and "websocket")", type));
  }
  table.reject_unknown_keys();
  return sink;
}

std::vector<SinkConfig> read_sinks(TableReader table) {
  std::vector<SinkConfig> sinks;
  for (const std::string& name : table.keys()) sinks.push_back(read_sink(table.table(name), name, table));
  table.reject_unknown_keys();
  return sinks;
}

std::string environment_or(const char* variable, std::string fallback) {
  const char* value = std::getenv(variable);
  return value != nullptr && *value != '\0' ? std::string(value) : std::move(fallback);
}

}  // namespace

std::string ScreenerConfig::socket_path() const {
  if (!traders.socket.empty()) return traders.socket;
  // RUNTIME_DIRECTORY may list several directories separated by ':'; the first is ours.
  std::string runtime = environment_or("RUNTIME_DIRECTORY", "/tmp");
  runtime = runtime.substr(0, runtime.find(':'));
  return fmt::format("{}/screener-{}.sock", runtime, segment.name);
}

std::string ScreenerConfig::state_dir() const {
  if (!traders.state_dir.empty()) return traders.state_dir;
  // systemd's StateDirectory= first; then the system location for root and the XDG one for
  // anyone else, so that running screenerd by hand needs no write access to /var/lib.
  if (const char* systemd = std::getenv("STATE_DIRECTORY"); systemd != nullptr && *systemd != '\0') {
    const std::string state = systemd;
    return state.substr(0, state.find(':'));
  }
  if (::geteuid() == 0) return "/var/lib/screener";
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg != nullptr && *xdg == '/') return fmt::format("{}/screener", xdg);
  return fmt::format("{}/.local/state/screener", environment_or("HOME", "/tmp"));
}

std::string ScreenerConfig::jsonl_path() const {
  if (signals.jsonl == "-") return {};
  if (!signals.jsonl.empty()) return signals.jsonl;
  return state_dir() + "/signals.jsonl";
}

shm::SegmentGeometry ScreenerConfig::geometry() const {
  auto geometry = shm::make_geometry(segment.max_symbols, market.intervals, market.depth, segment.journal_capacity,
                                     segment.max_traders, segment.trader_text_bytes);
  if (!geometry) throw ConfigError(source, 1, 1, "segment", geometry.error().message);
  return *geometry;
}

ScreenerConfig parse_config(std::string_view text, std::string source) {
  toml::table document;
  try {
    document = toml::parse(text, source);
  } catch (const toml::parse_error& error) {
    throw ConfigError(source, error.source().begin.line, error.source().begin.column, "<syntax>",
                      std::string(error.description()));
  }
  ScreenerConfig config;
  config.source = source;
  TableReader root(document, "", source);
  config.segment = read_segment(root.table("segment"));
  config.market = read_market(root.table("market"));
  config.exchange = read_exchange(root.table("exchange"));
  config.universe = read_universe(root.table("universe"));
  config.ingest = read_ingest(root.table("ingest"));
  config.traders = read_traders(root.table("traders"));
  config.signals = read_signals(root.table("signals"));
  config.metrics = read_metrics(root.table("metrics"));
  config.sinks = read_sinks(root.table("sinks"));
  root.reject_unknown_keys();
  if (!config.universe.symbols.empty() && config.universe.symbols.size() > config.segment.max_symbols)
    throw ConfigError(source, 1, 1, "universe.symbols",
                      fmt::format("{} symbols listed but segment.max_symbols is {}", config.universe.symbols.size(),
                                  config.segment.max_symbols));
  (void)config.geometry();
  return config;
}

ScreenerConfig load_config(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw ConfigError(path, 0, 0, "<file>", "cannot open the configuration file");
  std::ostringstream text;
  text << file.rdbuf();
  return parse_config(text.str(), path);
}

}  // namespace screener::config
