// SPDX-License-Identifier: Apache-2.0
#include "daemon/ingest/universe.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

namespace screener::ingest {

namespace {
bool tradable(const feed::SymbolListing& listing) {
  return listing.status == shm::TradingStatus::Trading && listing.spot_allowed &&
         listing.symbol.size() <= shm::kSymbolNameCapacity;
}
}  // namespace

SymbolListing to_listing(const feed::SymbolListing& listing) {
  return SymbolListing{listing.symbol, listing.base_asset, listing.quote_asset, listing.status, listing.tick_size,
                       listing.step_size};
}

UniverseChoice choose_universe(const feed::ExchangeInfo& info, const std::vector<feed::TickerSnapshot>& tickers,
                               const config::UniverseConfig& config) {
  UniverseChoice choice;
  std::unordered_map<std::string_view, const feed::SymbolListing*> by_name;
  for (const auto& listing : info.symbols) by_name.emplace(listing.symbol, &listing);

  if (!config.symbols.empty()) {
    for (const auto& symbol : config.symbols) {
      const auto it = by_name.find(symbol);
      if (it == by_name.end()) {
        choice.warnings.push_back(fmt::format("universe.symbols: the exchange does not list '{}'", symbol));
      } else if (!tradable(*it->second)) {
        choice.warnings.push_back(fmt::format("universe.symbols: '{}' is {}, not TRADING; it joins when it trades",
                                              symbol, it->second->status_text));
      } else {
        choice.follow.push_back(to_listing(*it->second));
      }
    }
    return choice;
  }

  std::vector<std::pair<double, const feed::SymbolListing*>> ranked;
  std::unordered_map<std::string_view, double> volume;
  for (const auto& ticker : tickers) volume[ticker.symbol] = ticker.ticker.quote_volume_24h;
  for (const auto& listing : info.symbols) {
    if (!tradable(listing) || listing.quote_asset != config.quote_asset) continue;
    const auto it = volume.find(listing.symbol);
    ranked.emplace_back(it == volume.end() ? 0.0 : it->second, &listing);
  }
  // Highest volume first; ties by name, so the pick is reproducible.
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second->symbol < b.second->symbol;
  });
  if (ranked.empty())
    choice.warnings.push_back(fmt::format("no TRADING symbol is quoted in '{}'", config.quote_asset));
  for (std::size_t i = 0; i < ranked.size() && i < config.top_n; ++i) choice.follow.push_back(to_listing(*ranked[i].second));
  return choice;
}

UniverseChange diff_universe(const feed::ExchangeInfo& info, const std::set<std::string>& followed,
                             const std::set<std::string>& known, const std::set<std::string>& retired,
                                          const config::UniverseConfig& config) {
  UniverseChange change;
  std::set<std::string> listed;
  for (const auto& listing : info.symbols) {
    listed.insert(listing.symbol);
    const bool is_followed = followed.contains(listing.symbol);
    if (is_followed && !tradable(listing)) {
      change.retire.push_back(to_listing(listing));
      continue;
    }
    if (is_followed || !tradable(listing)) continue;
    const bool wanted = retired.contains(listing.symbol) ||
                        (config.symbols.empty()
                            ? listing.quote_asset == config.quote_asset && !known.contains(listing.symbol)
                            : std::find(config.symbols.begin(), config.symbols.end(), listing.symbol) !=
                                  config.symbols.end());
    if (wanted) change.add.push_back(to_listing(listing));
  }
  for (const auto& symbol : followed) {
    if (!listed.contains(symbol)) {
      SymbolListing gone;
      gone.symbol = symbol;
      gone.status = shm::TradingStatus::Delisted;
      change.retire.push_back(gone);
    }
  }
  return change;
}

}  // namespace screener::ingest
