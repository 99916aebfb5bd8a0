// SPDX-License-Identifier: Apache-2.0
#include "tools/replay/market_model.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "tools/replay/text_format.hpp"

namespace screener::replay {

namespace {

constexpr std::int64_t kDayMs = 86'400'000;
constexpr std::int64_t kTickerPeriodMs = 1'000;

std::vector<Listing> listings_of(const Market& market) {
  std::vector<Listing> listings;
  listings.reserve(market.symbols().size());
  for (const SymbolBars& s : market.symbols()) listings.push_back(s.listing);
  return listings;
}

BarAgg fold_range(const SymbolBars& symbol, std::size_t lo, std::size_t hi) {
  BarAgg agg;
  for (std::size_t i = lo; i < hi; ++i) fold_bar(agg, symbol, i);
  return agg;
}

std::string val_text(const Val& value, KlineField field, const SymbolBars& symbol, const FormingBar* forming) {
  std::string out;
  append_val(out, value, field, symbol, forming);
  return out;
}

}  // namespace

bool can_build(Interval base, Interval interval) noexcept {
  if (base == interval) return true;
  const std::int64_t b = interval_info(base).duration_ms;
  if (b == 0) return false;
  if (interval == Interval::M1) return b <= kDayMs && kDayMs % b == 0;
  const std::int64_t d = interval_info(interval).duration_ms;
  if (d % b != 0) return false;
  if (interval == Interval::w1) return (4 * kDayMs) % b == 0;  // weeks start on Monday, 4 days after the epoch
  return true;
}

MarketModel::MarketModel(Market market, std::vector<Interval> intervals, std::size_t live_slot,
                         std::uint32_t updates, int weight_limit)
    : RestExchange(listings_of(market), weight_limit),
      market_(std::move(market)),
      intervals_(std::move(intervals)),
      updates_(updates),
      base_ms_(market_.base_ms()) {
  market_.ensure_slots(live_slot + 2);
  const auto& timeline = market_.timeline();
  if (live_slot < timeline.size()) {
    slot_ = live_slot;
    now_ = timeline[live_slot];
    next_ = now_;
  } else {
    slot_ = timeline.size();
    now_ = timeline.empty() ? 0 : timeline.back() + base_ms_;
  }
  state_.resize(market_.symbols().size());
  for (std::size_t s = 0; s < state_.size(); ++s) {
    const SymbolBars& symbol = market_.symbols()[s];
    SymbolState& st = state_[s];
    st.closed = symbol.lower_bound(now_ - base_ms_ + 1);
    st.open_bars.resize(intervals_.size());
    const std::string lower = ascii_lower(symbol.listing.symbol);
    for (std::size_t i = 0; i < intervals_.size(); ++i) {
      st.streams.push_back(fmt::format("{}@kline_{}", lower, interval_name(intervals_[i])));
      // A bar of this interval may have opened in the history: start from its closed base bars.
      if (st.closed == 0) continue;
      const std::size_t last = st.closed - 1;
      if (closes_bar(symbol, last, intervals_[i])) continue;
      const std::int64_t open = bar_open_time(intervals_[i], symbol.bar(last).open_time_ms);
      BarAgg agg = fold_range(symbol, symbol.lower_bound(open), st.closed);
      agg.open_time_ms = open;
      st.open_bars[i] = agg;
    }
  }
}

std::uint32_t MarketModel::last_update(std::int64_t offset) const noexcept {
  const std::int64_t u = updates_;
  const std::int64_t j = ((offset + 1) * u - 1) / base_ms_;
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(j, 0, u - 1));
}

std::int64_t MarketModel::update_offset(std::uint32_t update) const noexcept {
  return static_cast<std::int64_t>(update) * base_ms_ / updates_;
}

bool MarketModel::closes_bar(const SymbolBars& symbol, std::size_t index, Interval interval) const noexcept {
  const std::int64_t t = symbol.bar(index).open_time_ms;
  const std::int64_t open = bar_open_time(interval, t);
  if (t + base_ms_ == next_bar_open_time(interval, open)) return true;
  // A gap in the data (maintenance, a delisting) ends the bar at its last base bar present.
  return index + 1 < symbol.size() && bar_open_time(interval, symbol.bar(index + 1).open_time_ms) != open;
}

std::optional<FormingBar> MarketModel::forming_now(std::size_t s) const {
  if (!started_) return std::nullopt;
  const SymbolBars& symbol = market_.symbols()[s];
  const std::size_t k = state_[s].closed;
  if (k >= symbol.size() || symbol.bar(k).open_time_ms > now_) return std::nullopt;
  return make_forming(symbol, k, last_update(now_ - symbol.bar(k).open_time_ms), updates_);
}

std::vector<StreamFrame> MarketModel::step() {
  std::vector<StreamFrame> frames;
  if (!next_) return frames;
  const std::int64_t now = *next_;
  now_ = now;
  started_ = true;
  market_.ensure_slots(slot_ + 3);
  {
    const auto& timeline = market_.timeline();
    while (slot_ + 1 < timeline.size() && timeline[slot_ + 1] <= now) ++slot_;
  }

  std::vector<std::optional<BarAgg>> finals(intervals_.size());
  for (std::size_t s = 0; s < state_.size(); ++s) {
    const SymbolBars& symbol = market_.symbols()[s];
    SymbolState& st = state_[s];
    std::fill(finals.begin(), finals.end(), std::nullopt);
    bool closed_now = false;
    while (st.closed < symbol.size() && symbol.bar(st.closed).open_time_ms + base_ms_ <= now) {
      const std::size_t k = st.closed++;
      closed_now = true;
      for (std::size_t i = 0; i < intervals_.size(); ++i) {
        BarAgg& agg = st.open_bars[i];
        const std::int64_t open = bar_open_time(intervals_[i], symbol.bar(k).open_time_ms);
        if (agg.bars > 0 && agg.open_time_ms != open) agg = BarAgg{};
        agg.open_time_ms = open;
        fold_bar(agg, symbol, k);
        if (closes_bar(symbol, k, intervals_[i])) {
          finals[i] = agg;
          agg = BarAgg{};
        }
      }
    }
    std::optional<FormingBar> forming;
    if (st.closed < symbol.size() && symbol.bar(st.closed).open_time_ms <= now) {
      const std::int64_t offset = now - symbol.bar(st.closed).open_time_ms;
      const std::uint32_t j = last_update(offset);
      if (update_offset(j) == offset) forming = make_forming(symbol, st.closed, j, updates_);
    }
    if (!closed_now && !forming) continue;
    // A symbol that is not TRADING (set_listing_status) streams nothing, but its market goes on
    // underneath: the bookkeeping above still advances, so the bars it closes meanwhile exist over
    // REST (klines, ticker/24hr) as usual, and when it trades again its frames resume at the
    // clock, consistent with REST, with no bar closed twice. The halt is a quiet stream, not a
    // hole in the data; other symbols are not touched.
    if (!trading(s)) continue;
    for (std::size_t i = 0; i < intervals_.size(); ++i) {
      if (finals[i]) {
        std::string payload;
        append_kline_event(payload, now, symbol, intervals_[i], *finals[i], true, nullptr);
        frames.push_back({st.streams[i], std::move(payload)});
      }
      const BarAgg& open_bar = st.open_bars[i];
      if (forming) {
        const std::int64_t open = bar_open_time(intervals_[i], forming->bar.open_time_ms);
        BarAgg agg = open_bar.bars > 0 && open_bar.open_time_ms == open ? open_bar : BarAgg{};
        agg.open_time_ms = open;
        fold_forming(agg, symbol, *forming);
        std::string payload;
        append_kline_event(payload, now, symbol, intervals_[i], agg, false, &*forming);
        frames.push_back({st.streams[i], std::move(payload)});
      } else if (!finals[i] && open_bar.bars > 0) {
        // The base bar closed and no next one opens now (a gap): show the open bar as it stands.
        std::string payload;
        append_kline_event(payload, now, symbol, intervals_[i], open_bar, false, nullptr);
        frames.push_back({st.streams[i], std::move(payload)});
      }
    }
  }
  if (now % kTickerPeriodMs == 0) append_mini_tickers(frames);
  next_ = compute_next();
  return frames;
}

std::optional<std::int64_t> MarketModel::compute_next() {
  market_.ensure_slots(slot_ + 2);
  const auto& timeline = market_.timeline();
  if (slot_ >= timeline.size()) return std::nullopt;
  const std::int64_t t = timeline[slot_];
  const bool has_next_slot = slot_ + 1 < timeline.size();
  std::optional<std::int64_t> kline;
  if (now_ < t) {
    kline = t;
  } else if (now_ < t + base_ms_) {
    const std::uint32_t j = last_update(now_ - t) + 1;
    kline = j < updates_ ? t + update_offset(j) : t + base_ms_;
  } else if (has_next_slot) {
    kline = timeline[slot_ + 1];
  }
  const std::int64_t tick = (now_ / kTickerPeriodMs + 1) * kTickerPeriodMs;
  const bool tick_covered = (t <= tick && tick <= t + base_ms_) ||
                            (has_next_slot && timeline[slot_ + 1] <= tick && tick <= timeline[slot_ + 1] + base_ms_);
  if (tick_covered && (!kline || tick < *kline)) return tick;
  return kline;
}

BarAgg MarketModel::day_stats(std::size_t s, const FormingBar* forming, std::size_t& lo) const {
  const SymbolBars& symbol = market_.symbols()[s];
  lo = symbol.lower_bound(now_ - kDayMs + 1);
  BarAgg agg = fold_range(symbol, lo, std::max(lo, state_[s].closed));
  if (forming != nullptr) fold_forming(agg, symbol, *forming);
  return agg;
}

void MarketModel::append_mini_tickers(std::vector<StreamFrame>& frames) {
  std::string payload = "[";
  for (std::size_t s = 0; s < state_.size(); ++s) {
    // Nothing trades while a symbol is not TRADING: it leaves the ticker array. Its last_ticker
    // stays as last sent, so it reappears with its then-current stats when it trades again.
    if (!trading(s)) continue;
    const SymbolBars& symbol = market_.symbols()[s];
    SymbolState& st = state_[s];
    // The window's closed bars change once per base bar: refold them only then.
    const std::size_t lo = symbol.lower_bound(now_ - kDayMs + 1);
    const std::size_t hi = std::max(lo, st.closed);
    if (lo != st.window_lo || hi != st.window_hi || (st.window.bars == 0 && hi > lo)) {
      st.window = fold_range(symbol, lo, hi);
      st.window_lo = lo;
      st.window_hi = hi;
    }
    const std::optional<FormingBar> forming = forming_now(s);
    BarAgg agg = st.window;
    if (forming) fold_forming(agg, symbol, *forming);
    if (agg.bars == 0) continue;
    const std::array<double, 6> values{agg.close.value,  agg.open.value,         agg.high.value,
                                       agg.low.value,    agg.volume.value,       agg.quote_volume.value};
    if (st.ticker_sent && values == st.last_ticker) continue;
    st.ticker_sent = true;
    st.last_ticker = values;
    const FormingBar* f = forming ? &*forming : nullptr;
    if (payload.size() > 1) payload.push_back(',');
    fmt::format_to(std::back_inserter(payload), "{{\"e\":\"24hrMiniTicker\",\"E\":{},\"s\":", now_);
    append_json_string(payload, symbol.listing.symbol);
    payload.append(",\"c\":\"");
    append_val(payload, agg.close, KlineField::Close, symbol, f);
    payload.append("\",\"o\":\"");
    append_val(payload, agg.open, KlineField::Open, symbol, f);
    payload.append("\",\"h\":\"");
    append_val(payload, agg.high, KlineField::High, symbol, f);
    payload.append("\",\"l\":\"");
    append_val(payload, agg.low, KlineField::Low, symbol, f);
    payload.append("\",\"v\":\"");
    append_val(payload, agg.volume, KlineField::Volume, symbol, f);
    payload.append("\",\"q\":\"");
    append_val(payload, agg.quote_volume, KlineField::QuoteVolume, symbol, f);
    payload.append("\"}");
  }
  if (payload.size() == 1) return;  // nothing changed: Binance sends no empty array
  payload.push_back(']');
  frames.push_back({"!miniTicker@arr", std::move(payload)});
}

TickerStats MarketModel::ticker_stats(std::size_t s) const {
  const SymbolBars& symbol = market_.symbols()[s];
  const std::optional<FormingBar> forming = forming_now(s);
  const FormingBar* f = forming ? &*forming : nullptr;
  std::size_t lo = 0;
  const BarAgg agg = day_stats(s, f, lo);
  TickerStats stats;
  const std::size_t closed = state_[s].closed;
  if (lo > 0 && lo <= closed)
    stats.prev_close = val_text(Val{symbol.bar(lo - 1).close, static_cast<std::int64_t>(lo - 1)}, KlineField::Close,
                                symbol, nullptr);
  if (agg.bars == 0) {
    if (closed > 0) {  // no bar in the last 24 h: the last price stands, nothing traded
      stats.last = val_text(Val{symbol.bar(closed - 1).close, static_cast<std::int64_t>(closed - 1)},
                            KlineField::Close, symbol, nullptr);
      stats.open = stats.high = stats.low = stats.last;
      stats.open_value = stats.last_value = symbol.bar(closed - 1).close;
    }
    return stats;
  }
  stats.any_bar = true;
  stats.open = val_text(agg.open, KlineField::Open, symbol, f);
  stats.high = val_text(agg.high, KlineField::High, symbol, f);
  stats.low = val_text(agg.low, KlineField::Low, symbol, f);
  stats.last = val_text(agg.close, KlineField::Close, symbol, f);
  stats.volume = val_text(agg.volume, KlineField::Volume, symbol, f);
  stats.quote_volume = val_text(agg.quote_volume, KlineField::QuoteVolume, symbol, f);
  stats.open_value = agg.open.value;
  stats.last_value = agg.close.value;
  stats.volume_value = agg.volume.value;
  stats.quote_value = agg.quote_volume.value;
  stats.first_id = agg.first_id;
  stats.last_id = agg.last_id;
  stats.count = agg.trades;
  return stats;
}

std::string MarketModel::klines_body(std::size_t s, Interval interval, std::optional<std::int64_t> start_ms,
                                     std::optional<std::int64_t> end_ms, std::size_t limit) const {
  const SymbolBars& symbol = market_.symbols()[s];
  const std::size_t closed = state_[s].closed;
  const std::optional<FormingBar> forming = forming_now(s);
  const auto group_of = [&](std::size_t i) { return bar_open_time(interval, symbol.bar(i).open_time_ms); };

  // Visible base bars: the closed ones and the forming one (the still-open bar, as Binance).
  std::size_t hi = closed + (forming ? 1 : 0);
  if (end_ms) hi = std::min(hi, symbol.lower_bound(next_bar_open_time(interval, bar_open_time(interval, *end_ms))));
  std::size_t lo = 0;
  if (start_ms) {
    const std::int64_t first_open = is_bar_open_time(interval, *start_ms)
                                        ? *start_ms
                                        : next_bar_open_time(interval, bar_open_time(interval, *start_ms));
    lo = symbol.lower_bound(first_open);
  } else {  // the newest `limit` bars up to hi
    lo = hi;
    for (std::size_t groups = 0; lo > 0 && groups < limit; ++groups) {
      const std::int64_t group = group_of(lo - 1);
      while (lo > 0 && group_of(lo - 1) == group) --lo;
    }
  }
  std::string body = "[";
  std::size_t count = 0;
  for (std::size_t i = lo; i < hi && count < limit; ++count) {
    BarAgg agg;
    agg.open_time_ms = group_of(i);
    const FormingBar* partial = nullptr;
    for (; i < hi && group_of(i) == agg.open_time_ms; ++i) {
      if (forming && i == closed) {
        fold_forming(agg, symbol, *forming);
        partial = &*forming;
      } else {
        fold_bar(agg, symbol, i);
      }
    }
    if (count > 0) body.push_back(',');
    append_kline_array(body, symbol, interval, agg, partial);
  }
  body.push_back(']');
  return body;
}

}  // namespace screener::replay
