// SPDX-License-Identifier: Apache-2.0
#pragma once

// The whole indicator library (namespace screener::ta). See docs/indicators.md.

#include "common/indicators/bands.hpp"
#include "common/indicators/cci.hpp"
#include "common/indicators/common.hpp"
#include "common/indicators/directional.hpp"
#include "common/indicators/extremes.hpp"
#include "common/indicators/macd.hpp"
#include "common/indicators/mfi.hpp"
#include "common/indicators/momentum.hpp"
#include "common/indicators/moving_averages.hpp"
#include "common/indicators/obv.hpp"
#include "common/indicators/params.hpp"
#include "common/indicators/range.hpp"
#include "common/indicators/stochastic.hpp"
#include "common/indicators/vwap.hpp"
#include "common/indicators/willr.hpp"
