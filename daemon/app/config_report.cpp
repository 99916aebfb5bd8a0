// SPDX-License-Identifier: Apache-2.0
#include "daemon/app/config_report.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "common/interval.hpp"
#include "common/segment_layout.hpp"
#include "daemon/net/url.hpp"

namespace screener::app {

namespace {

std::string cooldown_text(const config::TraderSpec& t) {
  if (t.cooldown_bars > 0) return fmt::format("{} bars", t.cooldown_bars);
  if (t.cooldown.count() == 0) return "none";
  return fmt::format("{} s", t.cooldown.count() / 1000.0);
}

std::string warmup_text(const rules::CheckedRule& rule) {
  std::string out;
  for (const rules::IntervalBars& w : rule.warmup)
    out += fmt::format("{}{} bars of {}", out.empty() ? "" : ", ", w.bars, interval_name(w.interval));
  return out.empty() ? "none" : out;
}

std::string bracketed(const std::string& host) { return host.find(':') != std::string::npos ? "[" + host + "]" : host; }

/// Where a webhook posts, safe to print: the query and fragment are dropped (tokens live there),
/// and a URL taken from the environment keeps its path to itself as well, since it was put there
/// to stay out of files (Slack- and Discord-style hooks carry the secret in the path).
std::string webhook_target(const config::SinkConfig& sink) {
  const auto url = net::parse_url(sink.url);
  // Never the parser's error: it quotes the URL.
  if (!url) return "an unparsable URL";
  const std::string origin = fmt::format("{}://{}:{}", url->tls ? "https" : "http", bracketed(url->host), url->port);
  if (!sink.url_env.empty()) return fmt::format("{}/... (from ${}; path and query not shown)", origin, sink.url_env);
  const std::string path = url->target.substr(0, url->target.find_first_of("?#"));
  const bool cut = path.size() < url->target.size();
  return fmt::format("{}{}{}", origin, path.empty() ? "/" : path, cut ? " (query not shown)" : "");
}

std::string sink_line(const config::SinkConfig& sink) {
  if (sink.type == config::SinkConfig::Type::WebSocket)
    return fmt::format("  {} (websocket): serves ws://{}/signals", sink.name, sink.listen);
  std::string line = fmt::format("  {} (webhook): POST {}", sink.name, webhook_target(sink));
  // Header values are often credentials (Authorization): their names are enough to check.
  if (!sink.headers.empty()) {
    std::string names;
    for (const auto& header : sink.headers) names += (names.empty() ? "" : ", ") + header.first;
    line += fmt::format("; headers {}", names);
  }
  return line;
}

std::string routed_traders(const config::SinkConfig& sink, const traders::TraderRegistry& traders) {
  std::string names;
  for (const traders::LoadedTrader& t : traders.traders()) {
    const auto& listed = t.spec.sinks;
    if (t.spec.all_sinks || std::find(listed.begin(), listed.end(), sink.name) != listed.end())
      names += (names.empty() ? "" : " ") + t.spec.name;
  }
  return names.empty() ? "none" : names;
}

}  // namespace

std::string describe_configuration(const config::ScreenerConfig& config, const traders::TraderRegistry& traders) {
  const shm::SegmentGeometry g = config.geometry();
  std::string intervals;
  for (const Interval iv : config.market.intervals) intervals += (intervals.empty() ? "" : ",") + std::string(interval_name(iv));
  std::string out;
  auto line = [&out](std::string text) {
    out += text;
    out += '\n';
  };
  line(fmt::format("configuration {}: ok", config.source));
  line(fmt::format("segment       /dev/shm/{}: {} symbols x {} intervals ({}) x {} bars, {} bytes", config.segment.name,
                   g.max_symbols, g.interval_count, intervals, g.ring_capacity,
                   shm::total_size(shm::compute_regions(g))));
  line(fmt::format("exchange      {} and {}", config.exchange.ws_url, config.exchange.rest_url));
  if (config.universe.symbols.empty()) {
    line(fmt::format("universe      top {} TRADING symbols quoted in {}, refreshed every {} s", config.universe.top_n,
                     config.universe.quote_asset, config.universe.refresh.count()));
  } else {
    line(fmt::format("universe      {} symbols: {}", config.universe.symbols.size(),
                     fmt::join(config.universe.symbols, " ")));
  }
  line(fmt::format("workers       connect to {}; fired state in {}", config.socket_path(), config.state_dir()));
  const std::string jsonl = config.jsonl_path();
  line(fmt::format("signals       {}{}", jsonl.empty() ? "no file" : jsonl, config.signals.to_stdout ? ", stdout" : ""));
  line(config.metrics.listen.empty()
           ? std::string("metrics       off (no [metrics] listen)")
           : fmt::format("metrics       http://{}/metrics and /healthz", config.metrics.listen));
  line(fmt::format("sinks         {}", config.sinks.empty() ? std::string("none") : std::to_string(config.sinks.size())));
  for (const config::SinkConfig& sink : config.sinks) {
    line(sink_line(sink));
    line(fmt::format("    traders {}", routed_traders(sink, traders)));
  }
  line(fmt::format("traders       {} from {}", traders.traders().size(),
                   traders.dir().empty() ? std::string("<none>") : traders.dir()));
  for (const traders::LoadedTrader& t : traders.traders()) {
    const config::TraderSpec& s = t.spec;
    line(fmt::format("  {} ({})", s.name, s.file));
    const std::string when =
        s.on == config::EvaluateOn::Update
            ? fmt::format("at each {} close and on the forming bar (every {} ms at most)", interval_name(s.interval),
                          s.throttle.count())
            : fmt::format("at each {} close", interval_name(s.interval));
    line(fmt::format("    evaluated {}; symbols {}; cooldown {}; late signals: {}", when, s.symbols.to_string(),
                     cooldown_text(s), config::to_string(s.late)));
    line(fmt::format("    when {}", rules::to_string(s.rule)));
    line(fmt::format("    needs {}", warmup_text(s.rule)));
  }
  return out;
}

}  // namespace screener::app
