// SPDX-License-Identifier: Apache-2.0
#pragma once

// Parameter validation for every indicator, by the rule language's name. The batch functions and
// states assume valid parameters (they do not check: they run per bar); validate once at load time.
//
// Ranges (TA-Lib's, upper bound 100000 everywhere):
//  - period >= 2: sma, ema, wma, rsi, bbands, natr, adx, dx, plus_di, minus_di, cci, mfi, willr,
//    highest, lowest, stochrsi's RSI period, macd's fast and slow;
//  - period >= 1: atr, roc, change_pct, macd's signal, stoch's fastk/slowk/slowd, stochf's and
//    stochrsi's fastk/fastd;
//  - bbands' k: any finite number;
//  - no parameters: trange, obv, vwap.
// Deliberately stricter than TA-Lib: natr, plus_di and minus_di refuse n = 1 (TA-Lib returns
// unnormalised or unsmoothed values there).

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace screener::ta {

/// Returns std::nullopt when `params` are valid for `indicator`, otherwise a message such as
/// "rsi: period must be an integer in [2, 100000], got 1". Unknown names and wrong counts are errors.
[[nodiscard]] std::optional<std::string> validate_params(std::string_view indicator, std::span<const double> params);

/// The names validate_params() knows, in alphabetical order.
[[nodiscard]] std::vector<std::string_view> indicator_names();

}  // namespace screener::ta
