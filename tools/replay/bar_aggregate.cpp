// SPDX-License-Identifier: Apache-2.0
#include "tools/replay/bar_aggregate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "tools/replay/text_format.hpp"

namespace screener::replay {

namespace {

void fold_values(BarAgg& a, const shm::Bar& b, std::int64_t source, std::int64_t first_id, std::int64_t last_id) {
  if (a.bars == 0) {
    a.open = {b.open, source};
    a.high = {b.high, source};
    a.low = {b.low, source};
    a.close = {b.close, source};
    a.volume = {b.volume, source};
    a.quote_volume = {b.quote_volume, source};
    a.taker_base = {b.taker_buy_base_volume, source};
    a.taker_quote = {b.taker_buy_quote_volume, source};
    a.trades = b.trades;
    a.first_id = first_id;
    a.last_id = last_id;
  } else {
    // Strict comparisons: on a tie the earlier bar's text stays, so the choice is deterministic.
    if (b.high > a.high.value) a.high = {b.high, source};
    if (b.low < a.low.value) a.low = {b.low, source};
    a.close = {b.close, source};
    a.volume = {a.volume.value + b.volume, kComputed};
    a.quote_volume = {a.quote_volume.value + b.quote_volume, kComputed};
    a.taker_base = {a.taker_base.value + b.taker_buy_base_volume, kComputed};
    a.taker_quote = {a.taker_quote.value + b.taker_buy_quote_volume, kComputed};
    a.trades += b.trades;
    if (first_id >= 0) {
      if (a.first_id < 0) a.first_id = first_id;
      a.last_id = last_id;
    }
  }
  ++a.bars;
}

struct Point {
  double value;
  std::string text;
};

std::string text_or_formatted(const SymbolBars& symbol, std::size_t index, KlineField field) {
  const std::string_view text = symbol.series.text(index, field);
  return text.empty() ? format_decimal(field_value(symbol.bar(index), field)) : std::string(text);
}

}  // namespace

void fold_bar(BarAgg& agg, const SymbolBars& symbol, std::size_t index) {
  fold_values(agg, symbol.bar(index), static_cast<std::int64_t>(index), symbol.first_id(index),
              symbol.last_id(index));
}

void fold_forming(BarAgg& agg, const SymbolBars& symbol, const FormingBar& forming) {
  if (forming.complete) {
    fold_bar(agg, symbol, forming.index);
    return;
  }
  fold_values(agg, forming.bar, kPartial, forming.first_id, forming.last_id);
}

FormingBar make_forming(const SymbolBars& symbol, std::size_t index, std::uint32_t update, std::uint32_t updates) {
  FormingBar fb;
  fb.index = index;
  const shm::Bar& b = symbol.bar(index);
  fb.bar = b;
  if (update + 1 >= updates) {
    fb.complete = true;
    fb.first_id = symbol.first_id(index);
    fb.last_id = symbol.last_id(index);
    for (std::size_t f = 0; f < kKlineFieldCount; ++f)
      fb.text[f] = text_or_formatted(symbol, index, static_cast<KlineField>(f));
    return fb;
  }
  const double fraction = static_cast<double>(update + 1) / static_cast<double>(updates);

  const Point open{b.open, text_or_formatted(symbol, index, KlineField::Open)};
  const Point high{b.high, text_or_formatted(symbol, index, KlineField::High)};
  const Point low{b.low, text_or_formatted(symbol, index, KlineField::Low)};
  const Point close{b.close, text_or_formatted(symbol, index, KlineField::Close)};
  const bool rising = b.close >= b.open;
  const std::array<const Point*, 4> path{&open, rising ? &low : &high, rising ? &high : &low, &close};
  const double position = 3.0 * fraction;
  const int segment = std::min(2, static_cast<int>(position));
  const double along = position - segment;
  const Point& from = *path[static_cast<std::size_t>(segment)];
  const Point& to = *path[static_cast<std::size_t>(segment) + 1];

  // The price between two vertices, on the symbol's tick; a rounding that lands on or past a
  // vertex takes the vertex itself, text included.
  Point price = from;
  if (along > 0 && from.value != to.value) {
    const double scale = std::pow(10.0, std::min(symbol.price_decimals, 8));
    const double raw = from.value + (to.value - from.value) * along;
    std::string text = fmt::format("{:.8f}", std::round(raw * scale) / scale);
    const double value = parse_plain_decimal(text).value_or(raw);
    const Point& lower = from.value < to.value ? from : to;
    const Point& upper = from.value < to.value ? to : from;
    if (value <= lower.value) price = lower;
    else if (value >= upper.value) price = upper;
    else price = Point{value, std::move(text)};
  }
  const Point* running_high = &open;
  const Point* running_low = &open;
  for (int k = 1; k <= segment; ++k) {
    const Point* vertex = path[static_cast<std::size_t>(k)];
    if (vertex->value > running_high->value) running_high = vertex;
    if (vertex->value < running_low->value) running_low = vertex;
  }
  const Point forming_high = price.value > running_high->value ? price : *running_high;
  const Point forming_low = price.value < running_low->value ? price : *running_low;

  fb.bar.high = forming_high.value;
  fb.bar.low = forming_low.value;
  fb.bar.close = price.value;
  fb.text[static_cast<std::size_t>(KlineField::Open)] = open.text;
  fb.text[static_cast<std::size_t>(KlineField::High)] = forming_high.text;
  fb.text[static_cast<std::size_t>(KlineField::Low)] = forming_low.text;
  fb.text[static_cast<std::size_t>(KlineField::Close)] = price.text;

  // Amounts grow with the fraction, rounded to 8 decimals (monotone, so they never fall between
  // updates) and never past the bar's own total.
  const auto amount = [&](KlineField field, double& slot) {
    const double total = field_value(b, field);
    std::string& text = fb.text[static_cast<std::size_t>(field)];
    if (total > 0) {
      std::string candidate = fmt::format("{:.8f}", total * fraction);
      const double value = parse_plain_decimal(candidate).value_or(total);
      if (value < total) {
        slot = value;
        text = std::move(candidate);
        return;
      }
    }
    slot = total;
    text = text_or_formatted(symbol, index, field);
  };
  amount(KlineField::Volume, fb.bar.volume);
  amount(KlineField::QuoteVolume, fb.bar.quote_volume);
  amount(KlineField::TakerBuyBaseVolume, fb.bar.taker_buy_base_volume);
  amount(KlineField::TakerBuyQuoteVolume, fb.bar.taker_buy_quote_volume);

  if (b.trades > 0) {
    fb.bar.trades = std::clamp<std::int64_t>(
        static_cast<std::int64_t>(std::floor(static_cast<double>(b.trades) * fraction)), 1, b.trades);
    fb.first_id = symbol.first_trade_id[index];
    fb.last_id = fb.first_id + fb.bar.trades - 1;
  } else {
    fb.bar.trades = 0;
  }
  return fb;
}

void append_val(std::string& out, const Val& value, KlineField field, const SymbolBars& symbol,
                const FormingBar* forming) {
  if (value.source >= 0) {
    const std::string_view text = symbol.series.text(static_cast<std::size_t>(value.source), field);
    if (!text.empty()) {
      out.append(text);
      return;
    }
  } else if (value.source == kPartial && forming != nullptr) {
    out.append(forming->text[static_cast<std::size_t>(field)]);
    return;
  }
  append_decimal(out, value.value);
}

namespace {
void append_quoted(std::string& out, const Val& value, KlineField field, const SymbolBars& symbol,
                   const FormingBar* forming) {
  out.push_back('"');
  append_val(out, value, field, symbol, forming);
  out.push_back('"');
}
}  // namespace

void append_kline_event(std::string& out, std::int64_t event_ms, const SymbolBars& symbol, Interval interval,
                        const BarAgg& agg, bool closed, const FormingBar* forming) {
  auto it = std::back_inserter(out);
  fmt::format_to(it, "{{\"e\":\"kline\",\"E\":{},\"s\":", event_ms);
  append_json_string(out, symbol.listing.symbol);
  fmt::format_to(it, ",\"k\":{{\"t\":{},\"T\":{},\"s\":", agg.open_time_ms, bar_close_time(interval, agg.open_time_ms));
  append_json_string(out, symbol.listing.symbol);
  fmt::format_to(it, ",\"i\":\"{}\",\"f\":{},\"L\":{},\"o\":", interval_name(interval), agg.first_id, agg.last_id);
  append_quoted(out, agg.open, KlineField::Open, symbol, forming);
  out.append(",\"c\":");
  append_quoted(out, agg.close, KlineField::Close, symbol, forming);
  out.append(",\"h\":");
  append_quoted(out, agg.high, KlineField::High, symbol, forming);
  out.append(",\"l\":");
  append_quoted(out, agg.low, KlineField::Low, symbol, forming);
  out.append(",\"v\":");
  append_quoted(out, agg.volume, KlineField::Volume, symbol, forming);
  fmt::format_to(it, ",\"n\":{},\"x\":{},\"q\":", agg.trades, closed ? "true" : "false");
  append_quoted(out, agg.quote_volume, KlineField::QuoteVolume, symbol, forming);
  out.append(",\"V\":");
  append_quoted(out, agg.taker_base, KlineField::TakerBuyBaseVolume, symbol, forming);
  out.append(",\"Q\":");
  append_quoted(out, agg.taker_quote, KlineField::TakerBuyQuoteVolume, symbol, forming);
  out.append(",\"B\":\"0\"}}");
}

void append_kline_array(std::string& out, const SymbolBars& symbol, Interval interval, const BarAgg& agg,
                        const FormingBar* forming) {
  auto it = std::back_inserter(out);
  fmt::format_to(it, "[{},", agg.open_time_ms);
  append_quoted(out, agg.open, KlineField::Open, symbol, forming);
  out.push_back(',');
  append_quoted(out, agg.high, KlineField::High, symbol, forming);
  out.push_back(',');
  append_quoted(out, agg.low, KlineField::Low, symbol, forming);
  out.push_back(',');
  append_quoted(out, agg.close, KlineField::Close, symbol, forming);
  out.push_back(',');
  append_quoted(out, agg.volume, KlineField::Volume, symbol, forming);
  fmt::format_to(it, ",{},", bar_close_time(interval, agg.open_time_ms));
  append_quoted(out, agg.quote_volume, KlineField::QuoteVolume, symbol, forming);
  fmt::format_to(it, ",{},", agg.trades);
  append_quoted(out, agg.taker_base, KlineField::TakerBuyBaseVolume, symbol, forming);
  out.push_back(',');
  append_quoted(out, agg.taker_quote, KlineField::TakerBuyQuoteVolume, symbol, forming);
  out.append(",\"0\"]");
}

}  // namespace screener::replay
