// SPDX-License-Identifier: Apache-2.0
#pragma once

// Text helpers for the payloads the model writes: decimal formatting that round-trips, JSON string
// escaping, and the fixed-point "units of 1e-8" text that Binance uses for prices and quantities.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace screener::replay {

/// `value` as decimal text that parses back to exactly `value`: 8 decimals like Binance when that
/// round-trips, otherwise the fewest further decimals that do (never exponent notation for the
/// magnitudes markets have; shortest round-trip text as a last resort).
[[nodiscard]] std::string format_decimal(double value);
void append_decimal(std::string& out, double value);

/// `value` with exactly 8 decimals ("0.35270000"), for derived statistics that need not round-trip.
void append_fixed8(std::string& out, double value);

/// Text of an amount in units of 1e-8 ("123456" -> "0.00123456"); `units` >= 0.
[[nodiscard]] std::string units_text(std::int64_t units);

/// A plain non-negative decimal; nothing for anything else (exponents, signs, "nan").
[[nodiscard]] std::optional<double> parse_plain_decimal(std::string_view text) noexcept;

/// Appends `text` as a JSON string literal, quotes included. UTF-8 passes through.
void append_json_string(std::string& out, std::string_view text);

/// ASCII lower case, for stream names ("BTCUSDT" -> "btcusdt"); other bytes pass through.
[[nodiscard]] std::string ascii_lower(std::string_view text);

/// Digits after the decimal point of a plain decimal ("58720.45" -> 2, "1" -> 0).
[[nodiscard]] int decimal_places(std::string_view text) noexcept;

/// "0.00000100" for 6 decimals: the tick or step size text of a quantity with `decimals` places.
[[nodiscard]] std::string step_text(int decimals);

}  // namespace screener::replay
