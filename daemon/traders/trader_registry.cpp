// SPDX-License-Identifier: Apache-2.0
#include "daemon/traders/trader_registry.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "config/config_error.hpp"
#include "daemon/traders/assignment.hpp"

namespace screener::traders {

TraderRegistry::TraderRegistry(const config::ScreenerConfig& config)
    : dir_(config.traders.dir),
      dir_is_default_(config.traders.dir_is_default),
      socket_path_(config.socket_path()),
      state_dir_(config.state_dir()) {
  check_.held = config.market.intervals;
  check_.history_bars = static_cast<int>(config.market.depth);
  std::vector<std::string> sink_names;
  for (const config::SinkConfig& sink : config.sinks) sink_names.push_back(sink.name);
  check_.sink_names = std::move(sink_names);
}

std::expected<std::string, std::string> TraderRegistry::load() {
  std::vector<LoadedTrader> loaded;
  if (dir_.empty() || (dir_is_default_ && !std::filesystem::exists(dir_))) {
    // No traders directory configured, or the default one not installed: ingest runs alone.
  } else {
    std::vector<config::TraderSpec> specs;
    try {
      specs = config::load_traders_dir(dir_, check_);
    } catch (const std::exception& error) {
      return std::unexpected(std::string(error.what()));
    }
    for (config::TraderSpec& spec : specs) {
      // The text published is the text validated: read it once more and check it again, so a
      // file edited between the two reads is caught rather than published unchecked.
      std::ifstream file(spec.file);
      std::ostringstream text;
      text << file.rdbuf();
      if (!file) return std::unexpected(fmt::format("{}: cannot read the trader file", spec.file));
      try {
        spec = config::parse_trader(text.str(), spec.file, check_);
      } catch (const std::exception& error) {
        return std::unexpected(fmt::format("{} (the file changed while it was loaded)", error.what()));
      }
      loaded.push_back(LoadedTrader{spec.name, spec.file, text.str(), std::move(spec)});
    }
  }
  std::map<std::string, std::string> old_text;
  for (const LoadedTrader& t : traders_) old_text[t.name] = t.text;
  int added = 0;
  int changed = 0;
  for (const LoadedTrader& t : loaded) {
    const auto it = old_text.find(t.name);
    if (it == old_text.end()) {
      ++added;
    } else {
      if (it->second != t.text) ++changed;
      old_text.erase(it);
    }
  }
  const auto removed = old_text.size();
  traders_ = std::move(loaded);
  return fmt::format("{} traders from {} (+{} added, -{} removed, ~{} changed)", traders_.size(),
                     dir_.empty() ? "<none>" : dir_, added, removed, changed);
}

shm::TraderTableContent TraderRegistry::table(std::span<const std::uint32_t> workers) const {
  shm::TraderTableContent content;
  content.socket_path = socket_path_;
  content.state_dir = state_dir_;
  content.worker_count = static_cast<std::uint32_t>(workers.size());
  for (const LoadedTrader& t : traders_)
    content.traders.push_back(shm::TraderTableItem{t.name, assign_owner(t.name, workers), t.path, t.text, 0});
  return content;
}

}  // namespace screener::traders
