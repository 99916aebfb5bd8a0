// SPDX-License-Identifier: Apache-2.0
#include "common/indicators/params.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace screener::ta {

namespace {

constexpr double kMaxPeriod = 100000;

struct ParamSpec {
  std::string_view name;
  double min;  ///< integer parameter with this minimum (and kMaxPeriod maximum); NaN: any finite real
};

struct IndicatorSpec {
  std::string_view name;
  std::array<ParamSpec, 3> params;
  std::size_t count;
};

constexpr double kReal = std::numeric_limits<double>::quiet_NaN();

// Alphabetical, for indicator_names().
constexpr std::array kSpecs{
    IndicatorSpec{"adx", {{{"period", 2}}}, 1},
    IndicatorSpec{"atr", {{{"period", 1}}}, 1},
    IndicatorSpec{"bbands", {{{"period", 2}, {"k", kReal}}}, 2},
    IndicatorSpec{"cci", {{{"period", 2}}}, 1},
    IndicatorSpec{"change_pct", {{{"period", 1}}}, 1},
    IndicatorSpec{"dx", {{{"period", 2}}}, 1},
    IndicatorSpec{"ema", {{{"period", 2}}}, 1},
    IndicatorSpec{"highest", {{{"period", 2}}}, 1},
    IndicatorSpec{"lowest", {{{"period", 2}}}, 1},
    IndicatorSpec{"macd", {{{"fast", 2}, {"slow", 2}, {"signal", 1}}}, 3},
    IndicatorSpec{"mfi", {{{"period", 2}}}, 1},
    IndicatorSpec{"minus_di", {{{"period", 2}}}, 1},
    IndicatorSpec{"natr", {{{"period", 2}}}, 1},
    IndicatorSpec{"obv", {}, 0},
    IndicatorSpec{"plus_di", {{{"period", 2}}}, 1},
    IndicatorSpec{"roc", {{{"period", 1}}}, 1},
    IndicatorSpec{"rsi", {{{"period", 2}}}, 1},
    IndicatorSpec{"sma", {{{"period", 2}}}, 1},
    IndicatorSpec{"stoch", {{{"fastk", 1}, {"slowk", 1}, {"slowd", 1}}}, 3},
    IndicatorSpec{"stochf", {{{"fastk", 1}, {"fastd", 1}}}, 2},
    IndicatorSpec{"stochrsi", {{{"period", 2}, {"fastk", 1}, {"fastd", 1}}}, 3},
    IndicatorSpec{"trange", {}, 0},
    IndicatorSpec{"vwap", {}, 0},
    IndicatorSpec{"willr", {{{"period", 2}}}, 1},
    IndicatorSpec{"wma", {{{"period", 2}}}, 1},
};

}  // namespace

std::optional<std::string> validate_params(std::string_view indicator, std::span<const double> params) {
  const auto* spec =
      std::find_if(kSpecs.begin(), kSpecs.end(), [&](const IndicatorSpec& s) { return s.name == indicator; });
  if (spec == kSpecs.end()) return fmt::format("unknown indicator '{}'", indicator);
  if (params.size() != spec->count) {
    return fmt::format("{}: expected {} parameter{}, got {}", indicator, spec->count, spec->count == 1 ? "" : "s",
                       params.size());
  }
  for (std::size_t i = 0; i < spec->count; ++i) {
    const ParamSpec& p = spec->params[i];
    const double v = params[i];
    if (std::isnan(p.min)) {
      if (!std::isfinite(v)) return fmt::format("{}: {} must be a finite number, got {}", indicator, p.name, v);
      continue;
    }
    if (!std::isfinite(v) || v != std::floor(v) || v < p.min || v > kMaxPeriod) {
      return fmt::format("{}: {} must be an integer in [{}, {}], got {}", indicator, p.name, p.min, kMaxPeriod, v);
    }
  }
  return std::nullopt;
}

std::vector<std::string_view> indicator_names() {
  std::vector<std::string_view> names;
  names.reserve(kSpecs.size());
  for (const IndicatorSpec& s : kSpecs) names.push_back(s.name);
  return names;
}

}  // namespace screener::ta
