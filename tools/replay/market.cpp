// SPDX-License-Identifier: Apache-2.0
#include "tools/replay/market.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <unordered_set>

#include "tools/replay/text_format.hpp"

namespace screener::replay {

std::size_t SymbolBars::lower_bound(std::int64_t time_ms) const noexcept {
  const auto& bars = series.bars();
  const auto it = std::lower_bound(bars.begin(), bars.end(), time_ms,
                                   [](const shm::Bar& bar, std::int64_t t) { return bar.open_time_ms < t; });
  return static_cast<std::size_t>(it - bars.begin());
}

std::pair<std::string, std::string> split_symbol(std::string_view symbol) {
  static constexpr std::array<std::string_view, 40> kQuotes{
      "USDT", "FDUSD", "BUSD", "USDC", "TUSD", "USDP", "USDS", "DAI", "UST", "PAX", "BTC",  "ETH", "BNB", "XRP",
      "TRX",  "DOGE",  "DOT",  "EUR",  "GBP",  "AUD",  "TRY",  "BRL", "RUB", "UAH", "BIDR", "IDRT", "NGN", "ZAR",
      "JPY",  "ARS",   "PLN",  "RON",  "MXN",  "COP",  "CZK",  "VAI", "BVND", "AEUR", "EURI", "USD"};
  std::string_view best;
  for (const std::string_view quote : kQuotes)
    if (symbol.size() > quote.size() && symbol.ends_with(quote) && quote.size() > best.size()) best = quote;
  if (best.empty()) return {std::string(symbol), std::string()};
  return {std::string(symbol.substr(0, symbol.size() - best.size())), std::string(best)};
}

// ---------------------------------------------------------------------------------------------
// Synthetic source

namespace {

/// xoshiro256** seeded through splitmix64: fixed, portable sequences (std distributions are not
/// specified bit for bit, and "same seed, same frames" must hold across library versions).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) noexcept {
    for (auto& word : state_) {
      seed += 0x9e3779b97f4a7c15ULL;
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      word = z ^ (z >> 31);
    }
  }
  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }
  /// Uniform in [0, 1).
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Standard normal (Box-Muller, one value per call).
  double normal() noexcept {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::array<std::uint64_t, 4> state_{};
};

constexpr std::int64_t kUnitsPerOne = 100'000'000;     // amounts are generated in units of 1e-8
constexpr std::int64_t kMaxUnits = 900'000'000'000'000'000;
constexpr double kEmptyBarProbability = 0.02;

std::int64_t pow10(int exponent) noexcept {
  std::int64_t value = 1;
  for (int i = 0; i < exponent; ++i) value *= 10;
  return value;
}

std::int64_t clamp_units(double units) noexcept {
  if (!(units > 0)) return 0;
  return units >= static_cast<double>(kMaxUnits) ? kMaxUnits : static_cast<std::int64_t>(std::llround(units));
}

struct SyntheticSymbol {
  Rng rng{0};
  double anchor_log = 0;  ///< ln of the price the walk reverts to
  double log_price = 0;
  double sigma = 0;       ///< stdev of the per-bar log return
  double notional = 0;    ///< typical quote volume per bar
  double trade_size = 0;  ///< typical quote amount per trade
  int price_decimals = 8;
  int qty_decimals = 0;
  std::int64_t close_units = 0;
  std::int64_t next_trade_id = 0;
};

}  // namespace

class SyntheticGenerator {
 public:
  SyntheticGenerator(const SyntheticSource& source, std::int64_t first_open_ms, std::vector<SymbolBars>& out)
      : first_open_ms_(first_open_ms) {
    total_limit_ = source.live_bars ? std::optional(source.history_bars + *source.live_bars) : std::nullopt;
    for (std::size_t i = 0; i < source.symbols; ++i) {
      SyntheticSymbol s;
      s.rng = Rng(source.seed * 0x100000001b3ULL + i * 0x9e3779b97f4a7c15ULL + 0x5eed);
      // A spread of price levels; the first two pin the extremes Binance has (BTC-like above
      // 10 000, and sub-0.001 tokens whose prices need all 8 decimals).
      const double u = s.rng.uniform();
      const double log10_level = i == 0 ? 4.55 + 0.2 * u : i == 1 ? -3.6 + 0.4 * u : -3.3 + 7.9 * u;
      const auto magnitude = static_cast<int>(std::floor(log10_level));
      s.price_decimals = std::clamp(4 - magnitude, 2, 8);
      s.qty_decimals = std::clamp(magnitude + 1, 0, 5);
      s.anchor_log = log10_level * std::numbers::ln10;
      s.log_price = s.anchor_log;
      s.sigma = 0.0006 + 0.0025 * s.rng.uniform();
      s.notional = std::pow(10.0, 3.0 + 2.5 * s.rng.uniform());
      s.trade_size = std::pow(10.0, 1.3 + 1.2 * s.rng.uniform());
      const std::int64_t tick = pow10(8 - s.price_decimals);
      s.close_units = std::max(tick, static_cast<std::int64_t>(std::llround(std::exp(s.log_price) * kUnitsPerOne / static_cast<double>(tick))) * tick);
      s.next_trade_id = 1'000'000 + static_cast<std::int64_t>(s.rng.next() % 900'000'000);
      symbols_.push_back(s);

      SymbolBars bars;
      bars.listing.symbol = fmt::format("SYN{:03}USDT", i);
      bars.listing.base_asset = fmt::format("SYN{:03}", i);
      bars.listing.quote_asset = "USDT";
      bars.listing.tick_size = step_text(s.price_decimals);
      bars.listing.step_size = step_text(s.qty_decimals);
      bars.series = KlineSeries(bars.listing.symbol, Interval::m1);
      bars.price_decimals = s.price_decimals;
      out.push_back(std::move(bars));
    }
  }

  /// Appends bars for every symbol until the timeline has `count` slots or the source's limit.
  void grow(std::size_t count, std::vector<SymbolBars>& symbols, std::vector<std::int64_t>& timeline) {
    if (total_limit_ && count > *total_limit_) count = *total_limit_;
    if (timeline.size() >= count) return;
    // Grow in chunks: the vectors amortise, and the server asks one slot ahead at every step.
    std::size_t target = std::max(count, timeline.size() + 240);
    if (total_limit_) target = std::min(target, *total_limit_);
    const std::size_t first = timeline.size();
    for (std::size_t k = first; k < target; ++k)
      timeline.push_back(first_open_ms_ + static_cast<std::int64_t>(k) * 60'000);
    for (std::size_t i = 0; i < symbols.size(); ++i) {
      symbols[i].series.reserve(target, target * 96);
      symbols[i].first_trade_id.reserve(target);
      for (std::size_t k = first; k < target; ++k) generate_bar(symbols_[i], symbols[i], timeline[k]);
    }
  }

 private:
  static void generate_bar(SyntheticSymbol& s, SymbolBars& out, std::int64_t open_ms) {
    const std::int64_t tick = pow10(8 - s.price_decimals);
    const std::int64_t lot = pow10(8 - s.qty_decimals);
    const std::int64_t open = s.close_units;
    std::int64_t high = open;
    std::int64_t low = open;
    std::int64_t close = open;
    std::int64_t volume = 0;
    std::int64_t quote = 0;
    std::int64_t taker_base = 0;
    std::int64_t taker_quote = 0;
    std::int64_t trades = 0;
    // Every draw happens whether or not the bar is empty, so one symbol's sequence never depends
    // on which of its bars came out empty.
    const bool empty = s.rng.uniform() < kEmptyBarProbability;
    const double z_return = s.rng.normal();
    const double z_high = s.rng.normal();
    const double z_low = s.rng.normal();
    const double z_volume = s.rng.normal();
    const double u_taker = s.rng.uniform();
    const double z_trades = s.rng.normal();
    if (!empty) {
      const double r = s.sigma * z_return - 0.02 * (s.log_price - s.anchor_log);
      s.log_price += r;
      const auto ticks = [tick](double units) { return units / static_cast<double>(tick); };
      close = std::max(tick, static_cast<std::int64_t>(std::llround(ticks(std::exp(s.log_price) * kUnitsPerOne))) * tick);
      const double up = std::exp(std::abs(z_high) * s.sigma * 0.7);
      const double down = std::exp(std::abs(z_low) * s.sigma * 0.7);
      high = static_cast<std::int64_t>(std::ceil(ticks(static_cast<double>(std::max(open, close)) * up))) * tick;
      low = static_cast<std::int64_t>(std::floor(ticks(static_cast<double>(std::min(open, close)) / down))) * tick;
      high = std::max({high, open, close});
      low = std::max(tick, std::min({low, open, close}));
      const double typical = static_cast<double>(high + low + close) / 3.0 / kUnitsPerOne;
      const double quote_target = s.notional * std::exp(0.5 * z_volume) * (1.0 + 50.0 * std::abs(r));
      const double qty_units = quote_target / typical * kUnitsPerOne;
      volume = std::max(lot, clamp_units(qty_units / static_cast<double>(lot)) * lot);
      taker_base = clamp_units(static_cast<double>(volume) * (0.3 + 0.4 * u_taker) / static_cast<double>(lot)) * lot;
      quote = clamp_units(static_cast<double>(volume) * typical);
      taker_quote = std::min(quote, clamp_units(static_cast<double>(taker_base) * typical));
      trades = std::max<std::int64_t>(
          1, static_cast<std::int64_t>(
                 std::llround(static_cast<double>(quote) / kUnitsPerOne / s.trade_size * std::exp(0.3 * z_trades))));
    }
    s.close_units = close;

    const std::array<std::string, kKlineFieldCount> texts{units_text(open),   units_text(high),
                                                          units_text(low),    units_text(close),
                                                          units_text(volume), units_text(quote),
                                                          units_text(taker_base), units_text(taker_quote)};
    std::array<double, kKlineFieldCount> values{};
    for (std::size_t f = 0; f < kKlineFieldCount; ++f) values[f] = parse_plain_decimal(texts[f]).value_or(0.0);
    const shm::Bar bar{open_ms, values[0], values[1], values[2], values[3], values[4], values[5],
                       trades,  values[6], values[7]};
    const std::array<std::string_view, kKlineFieldCount> views{texts[0], texts[1], texts[2], texts[3],
                                                               texts[4], texts[5], texts[6], texts[7]};
    out.series.append(bar, views);
    out.first_trade_id.push_back(s.next_trade_id);
    s.next_trade_id += trades;
  }

  std::int64_t first_open_ms_;
  std::optional<std::size_t> total_limit_;
  std::vector<SyntheticSymbol> symbols_;
};

// ---------------------------------------------------------------------------------------------

Market::Market() = default;
Market::Market(Market&&) noexcept = default;
Market& Market::operator=(Market&&) noexcept = default;
Market::~Market() = default;

std::expected<Market, std::string> Market::synthetic(const SyntheticSource& source) {
  if (source.symbols == 0) return std::unexpected(std::string("synthetic source: symbols must be at least 1"));
  if (source.symbols > 100'000)
    return std::unexpected(fmt::format("synthetic source: {} symbols is too many (at most 100000)", source.symbols));
  const std::int64_t live_open = bar_open_time(Interval::m1, source.start_ms);
  const std::int64_t first_open = live_open - static_cast<std::int64_t>(source.history_bars) * 60'000;
  if (first_open < 0)
    return std::unexpected(fmt::format("synthetic source: {} history bars before start {} reach before 1970",
                                       source.history_bars, source.start_ms));
  Market market;
  market.base_interval_ = Interval::m1;
  market.generator_ = std::make_unique<SyntheticGenerator>(source, first_open, market.symbols_);
  market.default_live_slot_ = source.history_bars;
  market.ensure_slots(source.history_bars + 2);
  return market;
}

std::expected<Market, std::string> Market::from_series(std::vector<KlineSeries> series) {
  Market market;
  if (series.empty()) return std::unexpected(std::string("the source holds no bars"));
  market.base_interval_ = series.front().interval();
  if (market.base_interval_ == Interval::M1)
    return std::unexpected(std::string("1M base bars cannot drive the replay clock: their length varies"));
  std::unordered_set<std::string> seen;
  std::size_t total = 0;
  for (const KlineSeries& s : series) {
    if (s.interval() != market.base_interval_)
      return std::unexpected(fmt::format("{} has {} bars but {} has {} bars", s.symbol(), interval_name(s.interval()),
                                         series.front().symbol(), interval_name(market.base_interval_)));
    if (!seen.insert(s.symbol()).second) return std::unexpected(fmt::format("symbol {} appears twice", s.symbol()));
    total += s.size();
  }
  market.timeline_.reserve(total);
  for (KlineSeries& s : series) {
    SymbolBars bars;
    bars.listing.symbol = s.symbol();
    auto [base, quote] = split_symbol(s.symbol());
    bars.listing.base_asset = std::move(base);
    bars.listing.quote_asset = std::move(quote);
    int price_places = 0;
    int qty_places = 0;
    bool price_text = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
      for (const KlineField f : {KlineField::Open, KlineField::High, KlineField::Low, KlineField::Close}) {
        const std::string_view text = s.text(i, f);
        price_text = price_text || !text.empty();
        price_places = std::max(price_places, decimal_places(text));
      }
      qty_places = std::max(qty_places, decimal_places(s.text(i, KlineField::Volume)));
    }
    bars.price_decimals = price_text ? std::min(price_places, 8) : 8;
    bars.listing.tick_size = step_text(bars.price_decimals);
    bars.listing.step_size = step_text(std::min(qty_places, 8));
    bars.first_trade_id.reserve(s.size());
    std::int64_t next_id = 1;
    for (const shm::Bar& bar : s.bars()) {
      bars.first_trade_id.push_back(next_id);
      next_id += bar.trades;
      market.timeline_.push_back(bar.open_time_ms);
    }
    bars.series = std::move(s);
    market.symbols_.push_back(std::move(bars));
  }
  std::sort(market.timeline_.begin(), market.timeline_.end());
  market.timeline_.erase(std::unique(market.timeline_.begin(), market.timeline_.end()), market.timeline_.end());
  market.timeline_.shrink_to_fit();
  market.default_live_slot_ = std::min<std::size_t>(1440, market.timeline_.size() / 2);
  return market;
}

bool Market::ensure_slots(std::size_t count) {
  if (timeline_.size() >= count) return true;
  if (!generator_) return false;
  generator_->grow(count, symbols_, timeline_);
  return timeline_.size() >= count;
}

}  // namespace screener::replay
