// SPDX-License-Identifier: Apache-2.0
#include "daemon/app/config_report.hpp"

#include <fmt/format.h>

#include "common/interval.hpp"
#include "common/segment_layout.hpp"

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
