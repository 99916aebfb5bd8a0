// SPDX-License-Identifier: Apache-2.0
#include "common/kline_csv.hpp"
#include "common/line_reader.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <memory>
#include <unordered_map>

namespace screener {

double field_value(const shm::Bar& bar, KlineField field) noexcept {
  switch (field) {
    case KlineField::Open: return bar.open;
    case KlineField::High: return bar.high;
    case KlineField::Low: return bar.low;
    case KlineField::Close: return bar.close;
    case KlineField::Volume: return bar.volume;
    case KlineField::QuoteVolume: return bar.quote_volume;
    case KlineField::TakerBuyBaseVolume: return bar.taker_buy_base_volume;
    case KlineField::TakerBuyQuoteVolume: return bar.taker_buy_quote_volume;
  }
  return 0.0;
}

std::string_view KlineSeries::text(std::size_t index, KlineField field) const noexcept {
  const TextRef& ref = text_refs_[index];
  std::uint64_t offset = ref.offset;
  const auto f = static_cast<std::size_t>(field);
  for (std::size_t i = 0; i < f; ++i) offset += ref.length[i];
  return std::string_view(text_).substr(offset, ref.length[f]);
}

void KlineSeries::append(const shm::Bar& bar, std::span<const std::string_view, kKlineFieldCount> texts) {
  TextRef ref{text_.size(), {}};
  for (std::size_t i = 0; i < kKlineFieldCount; ++i) {
    const std::string_view t = texts[i].size() <= 255 ? texts[i] : std::string_view{};
    ref.length[i] = static_cast<std::uint8_t>(t.size());
    text_.append(t);
  }
  bars_.push_back(bar);
  text_refs_.push_back(ref);
}

void KlineSeries::append_series(const KlineSeries& other) {
  const std::uint64_t shift = text_.size();
  text_.append(other.text_);
  bars_.insert(bars_.end(), other.bars_.begin(), other.bars_.end());
  for (TextRef ref : other.text_refs_) {
    ref.offset += shift;
    text_refs_.push_back(ref);
  }
}

void KlineSeries::reserve(std::size_t bars, std::size_t text_bytes) {
  bars_.reserve(bars);
  text_refs_.reserve(bars);
  text_.reserve(text_bytes);
}

void KlineSeries::shrink_to_fit() {
  bars_.shrink_to_fit();
  text_refs_.shrink_to_fit();
  text_.shrink_to_fit();
}

std::optional<Interval> interval_from_spacing(std::int64_t spacing_ms) noexcept {
  for (const auto& info : kIntervals)
    if (info.duration_ms == spacing_ms) return info.code;
  constexpr std::int64_t kDay = 86'400'000;
  if (spacing_ms >= 28 * kDay && spacing_ms <= 31 * kDay) return Interval::M1;
  return std::nullopt;
}

namespace {

constexpr std::int64_t kMicrosecondThreshold = 100'000'000'000'000;  // 1e14: ms epochs stay below until year 5138


/// Splits `line` on ',' into at most out.size() fields; returns the field count (more than
/// out.size() when there are extra fields).
std::size_t split_fields(std::string_view line, std::span<std::string_view> out) {
  std::size_t count = 0;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = line.find(',', start);
    const std::string_view field = line.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                                                     : comma - start);
    if (count < out.size()) out[count] = field;
    ++count;
    if (comma == std::string_view::npos) return count;
    start = comma + 1;
  }
}

/// A non-negative decimal: plain ("58720.45", "21554875.6999999993") or, from files written by
/// other tools, with an exponent ("6.38e-05").
std::optional<double> parse_decimal(std::string_view token) {
  if (token.empty() || token.size() > 255) return std::nullopt;
  if (!(token.front() >= '0' && token.front() <= '9') && token.front() != '.') return std::nullopt;
  double value = 0;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (ec != std::errc{} || end != token.data() + token.size()) return std::nullopt;
  return value;
}

/// The token as the text to re-send: Binance never sends exponents, so those values keep no text
/// (the replay then formats the double in plain notation).
std::string_view resend_text(std::string_view token) noexcept {
  return token.find_first_of("eE") == std::string_view::npos ? token : std::string_view{};
}

std::optional<std::int64_t> parse_integer(std::string_view token) {
  std::int64_t value = 0;
  if (token.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (ec != std::errc{} || end != token.data() + token.size()) return std::nullopt;
  return value;
}

/// Epoch ms from a ms or µs epoch (data.binance.vision spot files use µs from 2025 on).
std::int64_t to_ms(std::int64_t epoch) noexcept {
  return epoch > kMicrosecondThreshold ? epoch / 1000 : epoch;
}

std::string file_name_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

enum class Layout { SevenColumn, TwelveColumn };

constexpr std::string_view kSevenColumnHeader = "symbol,open_time_ms,open,high,low,close,volume";

/// Builds the series of one file, keeping per-symbol order and a few facts for the checks after.
class FileLoader {
 public:
  FileLoader(const std::string& path, const KlineCsvOptions& options) : path_(path), options_(options) {}

  std::expected<std::vector<KlineSeries>, std::string> load() {
    LineReader reader(path_);
    if (!reader.ok()) return std::unexpected(fmt::format("{}: cannot open the file", path_));
    std::size_t line_number = 0;
    std::optional<Layout> layout;
    while (auto line = reader.next()) {
      ++line_number;
      if (line->empty()) continue;
      if (!layout) {
        if (line->starts_with("symbol")) {
          if (*line != kSevenColumnHeader)
            return fail(line_number, fmt::format("unknown header, expected \"{}\"", kSevenColumnHeader), *line);
          layout = Layout::SevenColumn;
          continue;
        }
        layout = Layout::TwelveColumn;
        if (auto ok = start_twelve_column(line_number); !ok) return std::unexpected(ok.error());
        if (line->starts_with("open_time")) continue;  // the futures archive's header row
      }
      auto ok = *layout == Layout::SevenColumn ? seven_column_row(*line, line_number)
                                               : twelve_column_row(*line, line_number);
      if (!ok) return std::unexpected(ok.error());
    }
    if (!reader.error().empty()) return std::unexpected(fmt::format("{}: read error: {}", path_, reader.error()));
    std::erase_if(series_, [](const KlineSeries& s) { return s.empty(); });
    for (KlineSeries& s : series_) s.shrink_to_fit();
    if (auto ok = settle_interval(); !ok) return std::unexpected(ok.error());
    return std::move(series_);
  }

 private:
  template <typename Value>
  std::unexpected<std::string> fail(std::size_t line, std::string_view what, const Value& value) const {
    return std::unexpected(fmt::format("{}:{}: {} ({})", path_, line, what, value));
  }

  std::expected<void, std::string> start_twelve_column(std::size_t line_number) {
    std::string symbol = options_.symbol.value_or("");
    if (symbol.empty()) {
      const std::string name = file_name_of(path_);
      symbol = name.substr(0, name.find('-'));
      if (symbol.empty() || symbol.find('.') != std::string::npos)
        return fail(line_number, "cannot tell the symbol from the file name: give it explicitly", name);
    }
    series_.emplace_back(std::move(symbol), Interval::m1);
    last_open_.push_back(std::numeric_limits<std::int64_t>::min());
    return {};
  }

  std::size_t series_index(std::string_view symbol) {
    if (cached_ < series_.size() && series_[cached_].symbol() == symbol) return cached_;
    std::string key(symbol);
    auto [it, inserted] = index_.try_emplace(key, series_.size());
    if (inserted) {
      series_.emplace_back(std::move(key), Interval::m1);
      last_open_.push_back(std::numeric_limits<std::int64_t>::min());
    }
    cached_ = it->second;
    return cached_;
  }

  std::expected<void, std::string> add_bar(std::size_t index, const shm::Bar& bar,
                                           std::span<const std::string_view, kKlineFieldCount> texts,
                                           std::size_t line_number) {
    const std::int64_t previous = last_open_[index];
    if (bar.open_time_ms <= previous) {
      const char* what = bar.open_time_ms == previous ? "duplicate open time" : "open time out of order";
      return fail(line_number,
                  fmt::format("{} for {}: previous bar opened at {}", what, series_[index].symbol(), previous),
                  bar.open_time_ms);
    }
    if (previous != std::numeric_limits<std::int64_t>::min()) {
      const std::int64_t spacing = bar.open_time_ms - previous;
      if (min_spacing_ == 0 || spacing < min_spacing_) min_spacing_ = spacing;
    }
    last_open_[index] = bar.open_time_ms;
    series_[index].append(bar, texts);
    return {};
  }

  struct Prices {
    std::array<double, 4> values;  // open, high, low, close
  };

  /// Parses open/high/low/close from fields[first..first+3] and checks low <= open, close <= high.
  std::expected<Prices, std::string> prices(std::span<const std::string_view> fields, std::size_t first,
                                            std::size_t line_number) const {
    static constexpr std::array<std::string_view, 4> kNames{"open", "high", "low", "close"};
    Prices p{};
    for (std::size_t i = 0; i < 4; ++i) {
      const auto value = parse_decimal(fields[first + i]);
      if (!value) return fail(line_number, fmt::format("bad {} price", kNames[i]), fields[first + i]);
      p.values[i] = *value;
    }
    const auto [open, high, low, close] = p.values;
    if (low > high || open > high || close > high || open < low || close < low)
      return fail(line_number, "prices violate low <= open, close <= high",
                  fmt::format("o={} h={} l={} c={}", fields[first], fields[first + 1], fields[first + 2],
                              fields[first + 3]));
    return p;
  }

  std::expected<void, std::string> seven_column_row(std::string_view line, std::size_t line_number) {
    std::array<std::string_view, 7> f{};
    const std::size_t count = split_fields(line, f);
    if (count != 7) return fail(line_number, fmt::format("expected 7 columns, found {}", count), line);
    if (f[0].empty()) return fail(line_number, "empty symbol", line);
    const auto open_time = parse_integer(f[1]);
    if (!open_time || *open_time < 0) return fail(line_number, "bad open time", f[1]);
    const auto p = prices(f, 2, line_number);
    if (!p) return std::unexpected(p.error());
    const auto volume = parse_decimal(f[6]);
    if (!volume) return fail(line_number, "bad volume", f[6]);
    // The layout has no quote volume, trade count or taker volumes: they are 0, with no text.
    shm::Bar bar{to_ms(*open_time), p->values[0], p->values[1], p->values[2], p->values[3], *volume, 0.0, 0, 0.0,
                 0.0};
    const std::array<std::string_view, kKlineFieldCount> texts{
        resend_text(f[2]), resend_text(f[3]), resend_text(f[4]), resend_text(f[5]), resend_text(f[6]), {}, {}, {}};
    return add_bar(series_index(f[0]), bar, texts, line_number);
  }

  std::expected<void, std::string> twelve_column_row(std::string_view line, std::size_t line_number) {
    std::array<std::string_view, 12> f{};
    const std::size_t count = split_fields(line, f);
    if (count != 12 && count != 11)
      return fail(line_number, fmt::format("expected 12 columns, found {}", count), line);
    const auto open_time = parse_integer(f[0]);
    if (!open_time || *open_time < 0) return fail(line_number, "bad open time", f[0]);
    const auto close_time = parse_integer(f[6]);
    if (!close_time || to_ms(*close_time) <= to_ms(*open_time)) return fail(line_number, "bad close time", f[6]);
    const auto p = prices(f, 1, line_number);
    if (!p) return std::unexpected(p.error());
    static constexpr std::array<std::pair<std::size_t, std::string_view>, 4> kVolumes{
        {{5, "volume"}, {7, "quote volume"}, {9, "taker buy base volume"}, {10, "taker buy quote volume"}}};
    std::array<double, 4> volumes{};
    for (std::size_t i = 0; i < kVolumes.size(); ++i) {
      const auto value = parse_decimal(f[kVolumes[i].first]);
      if (!value) return fail(line_number, fmt::format("bad {}", kVolumes[i].second), f[kVolumes[i].first]);
      volumes[i] = *value;
    }
    const auto trades = parse_integer(f[8]);
    if (!trades || *trades < 0) return fail(line_number, "bad number of trades", f[8]);
    shm::Bar bar{to_ms(*open_time), p->values[0], p->values[1], p->values[2], p->values[3], volumes[0],
                 volumes[1], *trades, volumes[2], volumes[3]};
    const std::array<std::string_view, kKlineFieldCount> texts{
        resend_text(f[1]), resend_text(f[2]), resend_text(f[3]), resend_text(f[4]),
        resend_text(f[5]), resend_text(f[7]), resend_text(f[9]), resend_text(f[10])};
    if (first_span_ == 0) first_span_ = to_ms(*close_time) - to_ms(*open_time) + 1;
    close_checks_.push_back({line_number, bar.open_time_ms, to_ms(*close_time)});
    return add_bar(0, bar, texts, line_number);
  }

  /// Detects or checks the interval, then checks that every bar opens on its boundary.
  std::expected<void, std::string> settle_interval() {
    std::optional<Interval> interval = options_.interval;
    if (!interval) {
      const std::int64_t spacing = min_spacing_ != 0 ? min_spacing_ : first_span_;
      if (spacing == 0)
        return std::unexpected(
            fmt::format("{}: cannot detect the interval from a single bar per symbol: give it explicitly", path_));
      interval = interval_from_spacing(spacing);
      if (!interval)
        return std::unexpected(fmt::format("{}: bars are {} ms apart, which matches no Binance interval: give the "
                                           "interval explicitly",
                                           path_, spacing));
    }
    for (KlineSeries& s : series_) {
      s.set_interval(*interval);
      for (const shm::Bar& bar : s.bars())
        if (!is_bar_open_time(*interval, bar.open_time_ms))
          return std::unexpected(fmt::format("{}: {} bar of {} opens at {}, not on a {} boundary", path_,
                                             interval_name(*interval), s.symbol(), bar.open_time_ms,
                                             interval_name(*interval)));
    }
    for (const CloseCheck& check : close_checks_)
      if (check.close_ms != bar_close_time(*interval, check.open_ms))
        return fail(check.line, fmt::format("close time does not match a {} bar opening at {}",
                                            interval_name(*interval), check.open_ms),
                    check.close_ms);
    return {};
  }

  struct CloseCheck {
    std::size_t line;
    std::int64_t open_ms;
    std::int64_t close_ms;
  };

  const std::string& path_;
  const KlineCsvOptions& options_;
  std::vector<KlineSeries> series_;
  std::vector<std::int64_t> last_open_;
  std::unordered_map<std::string, std::size_t> index_;
  std::size_t cached_ = std::numeric_limits<std::size_t>::max();
  std::int64_t min_spacing_ = 0;
  std::int64_t first_span_ = 0;
  std::vector<CloseCheck> close_checks_;
};

}  // namespace

std::expected<std::vector<KlineSeries>, std::string> load_kline_csv(const std::string& path,
                                                                    const KlineCsvOptions& options) {
  return FileLoader(path, options).load();
}

std::expected<std::vector<KlineSeries>, std::string> load_kline_csv_files(std::span<const std::string> paths,
                                                                          const KlineCsvOptions& options) {
  struct Piece {
    KlineSeries series;
    std::string path;
  };
  std::vector<std::string> order;  // symbols in order of first appearance
  std::unordered_map<std::string, std::vector<Piece>> pieces;
  std::optional<Interval> interval = options.interval;
  std::string interval_path;
  for (const std::string& path : paths) {
    auto loaded = load_kline_csv(path, options);
    if (!loaded) return std::unexpected(loaded.error());
    for (KlineSeries& s : *loaded) {
      if (!interval) {
        interval = s.interval();
        interval_path = path;
      } else if (s.interval() != *interval) {
        return std::unexpected(fmt::format("{}: {} bars, but {} has {} bars: load one interval at a time", path,
                                           interval_name(s.interval()), interval_path, interval_name(*interval)));
      }
      auto& list = pieces[s.symbol()];
      if (list.empty()) order.push_back(s.symbol());
      list.push_back({std::move(s), path});
    }
  }
  std::vector<KlineSeries> result;
  result.reserve(order.size());
  for (const std::string& symbol : order) {
    auto& list = pieces[symbol];
    std::stable_sort(list.begin(), list.end(), [](const Piece& a, const Piece& b) {
      return a.series.bars().front().open_time_ms < b.series.bars().front().open_time_ms;
    });
    KlineSeries joined = std::move(list.front().series);
    for (std::size_t i = 1; i < list.size(); ++i) {
      const std::int64_t last = joined.bars().back().open_time_ms;
      const std::int64_t first = list[i].series.bars().front().open_time_ms;
      if (first <= last)
        return std::unexpected(fmt::format("{}: bars of {} from {} overlap an earlier file (up to {}, {})",
                                           list[i].path, symbol, first, last, list[i - 1].path));
      joined.append_series(list[i].series);
    }
    if (list.size() > 1) joined.shrink_to_fit();
    result.push_back(std::move(joined));
  }
  return result;
}

}  // namespace screener
