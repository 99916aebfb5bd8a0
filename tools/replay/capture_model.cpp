// SPDX-License-Identifier: Apache-2.0
#include "tools/replay/capture_model.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <unordered_set>

#include "common/line_reader.hpp"
#include "tools/replay/market.hpp"
#include "tools/replay/text_format.hpp"

namespace screener::replay {

namespace {

std::string ascii_upper(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

std::string_view string_field(simdjson::dom::element element, std::string_view key) {
  std::string_view value;
  if (element[key].get(value) != simdjson::SUCCESS) return {};
  return value;
}

/// The stream Binance would name for a raw payload; empty when it is not stream data.
std::string stream_of_payload(simdjson::dom::element payload) {
  simdjson::dom::array array;
  if (payload.get(array) == simdjson::SUCCESS) {
    simdjson::dom::element first;
    if (array.at(0).get(first) != simdjson::SUCCESS) return {};
    const std::string_view e = string_field(first, "e");
    if (e == "24hrMiniTicker") return "!miniTicker@arr";
    if (e == "24hrTicker") return "!ticker@arr";
    if (e.ends_with("Ticker") && e.size() > 6) return fmt::format("!ticker_{}@arr", e.substr(0, e.size() - 6));
    return {};
  }
  if (!payload.is_object()) return {};
  const std::string_view e = string_field(payload, "e");
  const std::string symbol = ascii_lower(string_field(payload, "s"));
  if (e == "serverShutdown") return "!serverShutdown";
  if (symbol.empty()) return {};
  if (e == "kline") {
    std::string_view interval;
    if (payload["k"]["i"].get(interval) != simdjson::SUCCESS) return {};
    return fmt::format("{}@kline_{}", symbol, interval);
  }
  if (e == "24hrMiniTicker") return symbol + "@miniTicker";
  if (e == "24hrTicker") return symbol + "@ticker";
  if (e == "aggTrade") return symbol + "@aggTrade";
  if (e == "trade") return symbol + "@trade";
  if (e == "depthUpdate") return symbol + "@depth";
  if (e == "avgPrice") return symbol + "@avgPrice";
  if (e.ends_with("Ticker") && e.size() > 6) return fmt::format("{}@ticker_{}", symbol, e.substr(0, e.size() - 6));
  if (e.empty() && payload["u"].error() == simdjson::SUCCESS && payload["b"].error() == simdjson::SUCCESS)
    return symbol + "@bookTicker";  // spot bookTicker has no "e"
  return {};
}

void collect_symbols(simdjson::dom::element payload, std::vector<std::string>& out) {
  simdjson::dom::array array;
  if (payload.get(array) == simdjson::SUCCESS) {
    for (simdjson::dom::element item : array) {
      const std::string_view s = string_field(item, "s");
      if (!s.empty()) out.emplace_back(s);
    }
  } else if (payload.is_object()) {
    const std::string_view s = string_field(payload, "s");
    if (!s.empty()) out.emplace_back(s);
  }
}

/// Milliseconds of a decimal epoch in seconds ("1633998512.0633569" -> 1633998512063).
std::optional<std::int64_t> seconds_text_to_ms(std::string_view text) {
  const std::size_t dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  std::int64_t seconds = 0;
  const auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), seconds);
  if (ec != std::errc{} || end != whole.data() + whole.size() || whole.empty()) return std::nullopt;
  std::int64_t ms = 0;
  if (dot != std::string_view::npos) {
    const std::string_view fraction = text.substr(dot + 1);
    for (std::size_t i = 0; i < fraction.size(); ++i) {
      if (fraction[i] < '0' || fraction[i] > '9') return std::nullopt;
      if (i < 3) ms += (fraction[i] - '0') * (i == 0 ? 100 : i == 1 ? 10 : 1);
    }
  }
  return seconds * 1000 + ms;
}

enum class CaptureFormat { Jsonl, Cryptofeed };

struct CaptureLine {
  std::int64_t time_ms = 0;
  std::string frame;
};

/// Reads the capture's lines as (time, frame text); the header of a cryptofeed file sets start_ms.
class CaptureReader {
 public:
  explicit CaptureReader(const std::string& path) : path_(path), reader_(path) {}

  [[nodiscard]] bool ok() const { return reader_.ok(); }
  [[nodiscard]] std::optional<std::int64_t> start_ms() const { return start_ms_; }

  /// The next frame line; nothing at the end; an error names file and line.
  std::expected<std::optional<CaptureLine>, std::string> next() {
    while (auto line = reader_.next()) {
      ++line_number_;
      if (line->empty()) continue;
      if (!format_) {
        if (line->front() == '{') {
          format_ = CaptureFormat::Jsonl;
        } else {
          const std::size_t arrow = line->find(" <-> ");
          if (arrow == std::string_view::npos)
            return fail("neither a JSONL capture nor a cryptofeed capture (no \"<url> <-> <epoch>\" header)",
                        line->substr(0, 80));
          format_ = CaptureFormat::Cryptofeed;
          start_ms_ = seconds_text_to_ms(line->substr(arrow + 5));
          if (!start_ms_) return fail("bad epoch in the cryptofeed header", line->substr(arrow + 5));
          continue;
        }
      }
      return *format_ == CaptureFormat::Jsonl ? jsonl_line(*line) : cryptofeed_line(*line);
    }
    if (!reader_.error().empty()) return std::unexpected(fmt::format("{}: read error: {}", path_, reader_.error()));
    return std::optional<CaptureLine>{};
  }

  [[nodiscard]] std::string where() const { return fmt::format("{}:{}", path_, line_number_); }

 private:
  template <typename Value>
  std::unexpected<std::string> fail(std::string_view what, const Value& value) const {
    return std::unexpected(fmt::format("{}:{}: {} ({})", path_, line_number_, what, value));
  }

  std::expected<std::optional<CaptureLine>, std::string> jsonl_line(std::string_view line) {
    simdjson::dom::element doc;
    if (parser_.parse(line.data(), line.size()).get(doc) != simdjson::SUCCESS)
      return fail("invalid JSON", line.substr(0, 80));
    std::int64_t recv_ns = 0;
    std::string_view frame;
    if (doc["recv_ns"].get(recv_ns) != simdjson::SUCCESS)
      return fail("missing or non-integer recv_ns", line.substr(0, 80));
    if (doc["frame"].get(frame) != simdjson::SUCCESS) return fail("missing or non-string frame", line.substr(0, 80));
    return std::optional<CaptureLine>{CaptureLine{recv_ns / 1'000'000, std::string(frame)}};
  }

  std::expected<std::optional<CaptureLine>, std::string> cryptofeed_line(std::string_view line) {
    const std::size_t colon = line.find(": ");
    if (colon == std::string_view::npos) return fail("expected \"<epoch_s>: <frame>\"", line.substr(0, 80));
    const auto ms = seconds_text_to_ms(line.substr(0, colon));
    if (!ms) return fail("bad epoch", line.substr(0, colon));
    return std::optional<CaptureLine>{CaptureLine{*ms, std::string(line.substr(colon + 2))}};
  }

  std::string path_;
  LineReader reader_;
  std::size_t line_number_ = 0;
  std::optional<CaptureFormat> format_;
  std::optional<std::int64_t> start_ms_;
  simdjson::dom::parser parser_;
};

struct TimedFrame {
  std::int64_t time_ms;
  StreamFrame frame;
};

class CaptureModel final : public RestExchange {
 public:
  CaptureModel(std::string path, std::vector<Listing> listings, std::vector<Interval> intervals,
               std::int64_t start_ms, int weight_limit)
      : RestExchange(std::move(listings), weight_limit),
        path_(std::move(path)),
        intervals_(std::move(intervals)),
        reader_(path_),
        now_(start_ms) {
    advance();
  }

  [[nodiscard]] const std::vector<Interval>& intervals() const override { return intervals_; }
  [[nodiscard]] std::int64_t now_ms() const override { return now_; }
  [[nodiscard]] std::optional<std::int64_t> next_step_ms() const override {
    if (!pending_) return std::nullopt;
    return pending_->time_ms;
  }
  std::vector<StreamFrame> step() override {
    std::vector<StreamFrame> frames;
    if (!pending_) return frames;
    now_ = pending_->time_ms;
    while (pending_ && pending_->time_ms <= now_) {
      // Recorded kline frames of a symbol set not TRADING are left out (and lost: a capture has
      // no bars to serve over REST). Other recorded frames, tickers included, pass verbatim.
      if (!halted_kline_stream(pending_->frame.stream)) frames.push_back(std::move(pending_->frame));
      advance();
    }
    return frames;
  }
  [[nodiscard]] Interval base_interval() const override {
    return intervals_.empty() ? Interval::m1 : intervals_.front();
  }

 protected:
  [[nodiscard]] std::string klines_body(std::size_t, Interval, std::optional<std::int64_t>,
                                        std::optional<std::int64_t>, std::size_t) const override {
    return "[]";
  }
  [[nodiscard]] bool serves_klines(Interval) const override { return true; }
  [[nodiscard]] TickerStats ticker_stats(std::size_t) const override { return TickerStats{}; }

 private:
  /// Reads the next stream frame into pending_. The file was validated at open, so errors here
  /// (the file changed underneath) end the replay.
  void advance() {
    pending_.reset();
    for (;;) {
      auto line = reader_.next();
      if (!line || !*line) return;
      auto split = split_frame((*line)->frame);
      if (!split || !*split) continue;
      // Recorders of several connections may interleave slightly: time never runs backwards.
      const std::int64_t time = std::max((*line)->time_ms, last_time_);
      last_time_ = time;
      pending_ = TimedFrame{time, StreamFrame{std::move((*split)->stream), std::move((*split)->payload)}};
      return;
    }
  }

  std::string path_;
  std::vector<Interval> intervals_;
  CaptureReader reader_;
  std::int64_t now_;
  std::int64_t last_time_ = 0;
  std::optional<TimedFrame> pending_;
};

}  // namespace

std::expected<std::optional<SplitFrame>, std::string> split_frame(std::string_view frame) {
  // One parser per thread: frames are parsed at open and again while replaying.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(frame.data(), frame.size()).get(doc) != simdjson::SUCCESS)
    return std::unexpected(fmt::format("invalid JSON frame ({})", frame.substr(0, 80)));
  SplitFrame out;
  simdjson::dom::element data;
  std::string_view stream;
  if (doc.is_object() && doc["stream"].get(stream) == simdjson::SUCCESS &&
      doc["data"].get(data) == simdjson::SUCCESS) {
    out.stream = std::string(stream);
    // Keep the payload's bytes when the frame has Binance's exact wrapper; re-serialise otherwise.
    std::string prefix = "{\"stream\":";
    append_json_string(prefix, stream);
    prefix.append(",\"data\":");
    if (frame.starts_with(prefix) && frame.ends_with('}'))
      out.payload = std::string(frame.substr(prefix.size(), frame.size() - prefix.size() - 1));
    else
      out.payload = simdjson::minify(data);
    collect_symbols(data, out.symbols);
    if (out.symbols.empty() && !stream.starts_with('!') && stream.find('@') != std::string_view::npos)
      out.symbols.push_back(ascii_upper(stream.substr(0, stream.find('@'))));
    return std::optional<SplitFrame>{std::move(out)};
  }
  out.stream = stream_of_payload(doc);
  if (out.stream.empty()) return std::optional<SplitFrame>{};
  out.payload = std::string(frame);
  collect_symbols(doc, out.symbols);
  return std::optional<SplitFrame>{std::move(out)};
}

std::expected<std::unique_ptr<ExchangeModel>, std::string> make_capture_model(const std::string& file,
                                                                            int weight_limit) {
  CaptureReader reader(file);
  if (!reader.ok()) return std::unexpected(fmt::format("{}: cannot open the capture", file));
  std::vector<std::string> symbols;
  std::unordered_set<std::string> seen;
  std::set<Interval> intervals;
  std::optional<std::int64_t> first_time;
  std::size_t frames = 0;
  for (;;) {
    auto line = reader.next();
    if (!line) return std::unexpected(line.error());
    if (!*line) break;
    auto split = split_frame((*line)->frame);
    if (!split) return std::unexpected(fmt::format("{}: {}", reader.where(), split.error()));
    if (!*split) continue;
    ++frames;
    if (!first_time) first_time = (*line)->time_ms;
    for (std::string& symbol : (*split)->symbols)
      if (seen.insert(symbol).second) symbols.push_back(std::move(symbol));
    const std::size_t at = (*split)->stream.find("@kline_");
    if (at != std::string::npos)
      if (const auto interval = parse_interval(std::string_view((*split)->stream).substr(at + 7)))
        intervals.insert(*interval);
  }
  if (frames == 0) return std::unexpected(fmt::format("{}: the capture holds no stream frames", file));
  std::vector<Listing> listings;
  for (const std::string& symbol : symbols) {
    Listing listing;
    listing.symbol = symbol;
    auto [base, quote] = split_symbol(symbol);
    listing.base_asset = std::move(base);
    listing.quote_asset = std::move(quote);
    listings.push_back(std::move(listing));
  }
  const std::int64_t start = reader.start_ms().value_or(*first_time);
  return std::make_unique<CaptureModel>(file, std::move(listings),
                                        std::vector<Interval>(intervals.begin(), intervals.end()),
                                        std::min(start, *first_time), weight_limit);
}

}  // namespace screener::replay
