// SPDX-License-Identifier: Apache-2.0
#pragma once

// What `screenerd --check-config` prints once the configuration and every trader file are valid:
// the segment it would create, where it would connect, the universe, the metrics endpoint, every
// signal sink with the traders routed to it (never a secret from a URL or header), and every
// trader with its rule as the checker read it and the history it needs.

#include <string>

#include "config/screener_config.hpp"
#include "daemon/traders/trader_registry.hpp"

namespace screener::app {

[[nodiscard]] std::string describe_configuration(const config::ScreenerConfig& config,
                                                 const traders::TraderRegistry& traders);

}  // namespace screener::app
