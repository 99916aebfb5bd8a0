// SPDX-License-Identifier: Apache-2.0
#pragma once

// The REST half of the simulated exchange, shared by the bar-driven market and the capture
// replay: query parsing, Binance's error bodies and weights, exchangeInfo, and the parameter
// handling of klines and ticker/24hr. The data behind klines and tickers comes from the subclass.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tools/replay/exchange_model.hpp"

namespace screener::replay {

/// A query string split into decoded name/value pairs ('+' is a space, %XX a byte).
class QueryParams {
 public:
  explicit QueryParams(std::string_view query);
  /// The first value of `name`; nothing when absent.
  [[nodiscard]] std::optional<std::string_view> get(std::string_view name) const;
  [[nodiscard]] bool has(std::string_view name) const { return get(name).has_value(); }

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

/// `["A","B"]` (or a bare `A`) as a list; nothing when malformed.
[[nodiscard]] std::optional<std::vector<std::string>> parse_symbol_list(std::string_view value);

/// Binance's error answer: {"code":<code>,"msg":"<msg>"}.
[[nodiscard]] RestAnswer error_answer(int status, int code, std::string_view msg, int weight);

/// 24 h rolling statistics of one symbol, texts ready to send.
struct TickerStats {
  bool any_bar = false;
  std::string open = "0.00000000", high = "0.00000000", low = "0.00000000", last = "0.00000000";
  std::string volume = "0.00000000", quote_volume = "0.00000000", prev_close = "0.00000000";
  double open_value = 0, last_value = 0, volume_value = 0, quote_value = 0;
  std::int64_t first_id = -1;
  std::int64_t last_id = -1;
  std::int64_t count = 0;
};

class RestExchange : public ExchangeModel {
 public:
  RestExchange(std::vector<Listing> listings, int weight_limit);

  [[nodiscard]] const std::vector<Listing>& listings() const override { return listings_; }
  [[nodiscard]] RestAnswer rest(std::string_view path, std::string_view query) const override;
  [[nodiscard]] int request_weight_limit() const override { return weight_limit_; }
  /// Changes listings()[i].status only; what a status means for the streams is the subclass's
  /// (see trading() and halted_kline_stream()).
  bool set_listing_status(std::string_view symbol, std::string_view status) override;

 protected:
  /// The body of a valid klines request (limit already checked, times in ms).
  [[nodiscard]] virtual std::string klines_body(std::size_t symbol, Interval interval,
                                                std::optional<std::int64_t> start_ms,
                                                std::optional<std::int64_t> end_ms, std::size_t limit) const = 0;
  /// Whether REST can build klines of `interval`.
  [[nodiscard]] virtual bool serves_klines(Interval interval) const = 0;
  [[nodiscard]] virtual TickerStats ticker_stats(std::size_t symbol) const = 0;

  [[nodiscard]] std::optional<std::size_t> symbol_index(std::string_view symbol) const;
  /// Whether the symbol's status is "TRADING": only then do its klines stream.
  [[nodiscard]] bool trading(std::size_t symbol) const noexcept { return listings_[symbol].status == "TRADING"; }
  /// Whether any listed symbol is not trading (a cheap check before filtering frames).
  [[nodiscard]] bool any_halted() const noexcept { return halted_ > 0; }
  /// Whether `stream` is "<symbol>@kline_<interval>" of a listed symbol that is not trading.
  [[nodiscard]] bool halted_kline_stream(std::string_view stream) const;

 private:
  [[nodiscard]] RestAnswer exchange_info(const QueryParams& params) const;
  [[nodiscard]] RestAnswer klines(const QueryParams& params) const;
  [[nodiscard]] RestAnswer ticker_24hr(const QueryParams& params) const;
  void append_ticker(std::string& out, std::size_t symbol, bool full) const;

  std::vector<Listing> listings_;
  std::unordered_map<std::string, std::size_t> index_;
  std::unordered_map<std::string, std::size_t> stream_index_;  ///< ascii_lower(symbol) -> index
  std::size_t halted_ = 0;                                      ///< listings not "TRADING"
  int weight_limit_;
};

}  // namespace screener::replay
