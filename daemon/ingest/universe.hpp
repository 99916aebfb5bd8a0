// SPDX-License-Identifier: Apache-2.0
#pragma once

// Which symbols to follow, decided from exchangeInfo (and the 24 h tickers for a top-N pick), and
// how that set changes when exchangeInfo is fetched again.

#include <set>
#include <string>
#include <vector>

#include "config/screener_config.hpp"
#include "daemon/feed/rest_parsers.hpp"
#include "daemon/ingest/symbol_registry.hpp"

namespace screener::ingest {

struct UniverseChoice {
  std::vector<SymbolListing> follow;     ///< in priority order
  std::vector<std::string> warnings;     ///< configured symbols the exchange does not list, etc.
};

/// The start-up pick. Explicit list: those the exchange lists and trades. Otherwise the `top_n`
/// TRADING, spot-enabled symbols quoted in `quote_asset`, by 24 h quote volume (`tickers`).
[[nodiscard]] UniverseChoice choose_universe(const feed::ExchangeInfo& info,
                                             const std::vector<feed::TickerSnapshot>& tickers,
                                             const config::UniverseConfig& config);

struct UniverseChange {
  std::vector<SymbolListing> add;        ///< listed (again), or newly listed in the quote asset
  std::vector<SymbolListing> retire;     ///< followed, but no longer TRADING or no longer listed
};

/// What a fresh exchangeInfo changes. `followed` are the symbols followed now, `known` every
/// symbol the previous exchangeInfo listed (so that "new" means newly listed, not merely
/// outside the first top N), `retired` the symbols followed before that stopped trading (they
/// come back when they trade again).
[[nodiscard]] UniverseChange diff_universe(const feed::ExchangeInfo& info, const std::set<std::string>& followed,
                                          const std::set<std::string>& known, const std::set<std::string>& retired,
                                          const config::UniverseConfig& config);

[[nodiscard]] SymbolListing to_listing(const feed::SymbolListing& listing);

}  // namespace screener::ingest
