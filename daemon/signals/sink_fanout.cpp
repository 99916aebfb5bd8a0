// SPDX-License-Identifier: Apache-2.0
#include "daemon/signals/sink_fanout.hpp"

#include "daemon/signals/webhook_sink.hpp"
#include "daemon/signals/websocket_sink.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

namespace screener::signals {

std::optional<std::string_view> trader_in_json(std::string_view json) noexcept {
  constexpr std::string_view kKey = "\"trader\":\"";
  const auto at = json.find(kKey);
  if (at == std::string_view::npos) return std::nullopt;
  const auto begin = at + kKey.size();
  const auto end = json.find('"', begin);
  if (end == std::string_view::npos) return std::nullopt;
  return json.substr(begin, end - begin);
}

SinkFanout::SinkFanout(std::vector<std::unique_ptr<SignalSink>> sinks) : sinks_(std::move(sinks)) {}

SinkFanout::~SinkFanout() { stop(); }

void SinkFanout::start() {
  for (std::size_t i = 0; i < sinks_.size(); ++i) {
    try {
      sinks_[i]->start();
    } catch (...) {
      for (std::size_t j = 0; j < i; ++j) sinks_[j]->stop();
      throw;
    }
  }
  started_ = true;
}

void SinkFanout::stop() noexcept {
  for (auto& sink : sinks_) sink->stop();
  started_ = false;
}

void SinkFanout::set_routes(std::map<std::string, std::vector<std::string>, std::less<>> routes) {
  std::map<std::string, std::vector<std::size_t>, std::less<>> indexes;
  for (auto& [trader, names] : routes) {
    std::vector<std::size_t>& list = indexes[trader];
    for (const std::string& name : names) {
      const auto it = std::ranges::find_if(sinks_, [&](const auto& sink) { return sink->name() == name; });
      if (it != sinks_.end()) list.push_back(static_cast<std::size_t>(it - sinks_.begin()));
    }
  }
  const std::lock_guard lock(routes_mutex_);
  routes_ = std::move(indexes);
}

void SinkFanout::dispatch(std::string_view json) {
  if (sinks_.empty()) return;
  const std::string_view trader = trader_in_json(json).value_or(std::string_view());
  auto shared = std::make_shared<const std::string>(json);
  std::vector<std::size_t> selected;
  {
    const std::lock_guard lock(routes_mutex_);
    if (const auto it = routes_.find(trader); it != routes_.end()) selected = it->second;
    else for (std::size_t i = 0; i < sinks_.size(); ++i) selected.push_back(i);
  }
  for (const std::size_t i : selected) sinks_[i]->enqueue(shared, trader);
}

std::vector<SinkStats> SinkFanout::stats() const {
  std::vector<SinkStats> stats;
  for (const auto& sink : sinks_) stats.push_back(sink->stats());
  return stats;
}

std::vector<std::unique_ptr<SignalSink>> make_sinks(const std::vector<config::SinkConfig>& sinks,
                                                    const std::string& ca_file) {
  std::vector<std::unique_ptr<SignalSink>> made;
  for (const config::SinkConfig& sink : sinks) {
    if (sink.type == config::SinkConfig::Type::Webhook) made.push_back(make_webhook_sink(sink, ca_file));
    else made.push_back(make_websocket_sink(sink));
  }
  return made;
}

}  // namespace screener::signals
