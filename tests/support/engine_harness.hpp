// SPDX-License-Identifier: Apache-2.0
#pragma once

// An in-process stand-in for screenerd and screener-worker around one worker::Engine: a
// SegmentWriter holding a few symbols x {1m, 5m, 1h}, a read-only SegmentReader giving the engine
// its view, a journal cursor feeding engine.note(), and a sink collecting every signal. step() is
// one wake-up of the worker: publish, drain the journal into the engine, process().
//
// Also: bars built from prices, a deterministic random walk, trader table snapshots from trader
// file texts, and the few fields of a signal's JSON the tests look at.

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/interval.hpp"
#include "common/journal.hpp"
#include "common/segment_geometry.hpp"
#include "common/segment_reader.hpp"
#include "common/segment_writer.hpp"
#include "common/trader_table.hpp"
#include "tests/segment_test_support.hpp"
#include "worker/engine.hpp"

namespace screener::test {

/// 2024-01-01 00:00 UTC: aligned to every interval up to the day.
inline constexpr std::int64_t kEngineT0 = 1'704'067'200'000;
inline constexpr std::int64_t kMinuteMs = 60'000;
inline constexpr std::int64_t kHourMs = 3'600'000;
inline constexpr Interval kEngineIntervals[] = {Interval::m1, Interval::m5, Interval::h1};

/// Open time of the k-th 1m bar after kEngineT0.
[[nodiscard]] constexpr std::int64_t minute(std::int64_t k) noexcept { return kEngineT0 + k * kMinuteMs; }

/// A bar opening at `open_ms` that moves from `open` to `close`.
[[nodiscard]] inline shm::Bar price_bar(std::int64_t open_ms, double open, double close) {
  shm::Bar b{};
  b.open_time_ms = open_ms;
  b.open = open;
  b.close = close;
  b.high = (open > close ? open : close) + 0.25;
  b.low = (open < close ? open : close) - 0.25;
  b.volume = 10 + close / 100;
  b.quote_volume = b.volume * close;
  b.trades = 7;
  b.taker_buy_base_volume = b.volume / 2;
  b.taker_buy_quote_volume = b.quote_volume / 2;
  return b;
}

/// 1m bars from kEngineT0 + first minute, one per close, each opening at the previous close
/// (the first at its own close).
[[nodiscard]] inline std::vector<shm::Bar> minute_bars(const std::vector<double>& closes, std::int64_t first = 0) {
  std::vector<shm::Bar> bars;
  bars.reserve(closes.size());
  for (std::size_t i = 0; i < closes.size(); ++i)
    bars.push_back(price_bar(minute(first + static_cast<std::int64_t>(i)), i == 0 ? closes[0] : closes[i - 1],
                             closes[i]));
  return bars;
}

/// splitmix64: the same numbers on every platform and standard library.
class SplitMix {
 public:
  explicit SplitMix(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [-1, 1).
  double symmetric() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-52 - 1.0; }

 private:
  std::uint64_t state_;
};

/// `n` 1m bars of a random walk around 100 with full OHLCV, deterministic for a seed.
[[nodiscard]] inline std::vector<shm::Bar> random_walk(std::size_t n, std::uint64_t seed, double step = 0.6) {
  SplitMix rng(seed);
  std::vector<shm::Bar> bars;
  bars.reserve(n);
  double price = 100;
  for (std::size_t i = 0; i < n; ++i) {
    const double open = price;
    price = std::max(1.0, price + step * rng.symmetric());
    shm::Bar b = price_bar(minute(static_cast<std::int64_t>(i)), open, price);
    b.high += 0.3 * (rng.symmetric() + 1);
    b.low -= 0.3 * (rng.symmetric() + 1);
    b.volume = 50 + 40 * rng.symmetric();
    b.quote_volume = b.volume * price;
    b.trades = 100 + static_cast<std::int64_t>(50 * rng.symmetric());
    bars.push_back(b);
  }
  return bars;
}

// ------------------------------------------------------------------------------------- traders

/// The text of a trader file.
[[nodiscard]] inline std::string trader_toml(const std::string& name, const std::string& interval,
                                             const std::string& when, const std::string& extra = "") {
  return "name = \"" + name + "\"\ninterval = \"" + interval + "\"\nwhen = \"" + when + "\"\n" + extra;
}

struct TraderText {
  std::string name;
  std::string text;
  std::uint32_t owner = 0;
};

// ------------------------------------------------------------------------------------- signals

struct CapturedSignal {
  std::uint64_t id = 0;
  std::string json;
};

class VectorSink : public worker::SignalSink {
 public:
  void emit(std::uint64_t id, std::string json) override { signals.push_back(CapturedSignal{id, std::move(json)}); }
  std::vector<CapturedSignal> signals;
};

/// The raw text of a top-level scalar field (`"key":value`), up to the next ',' or '}'.
[[nodiscard]] inline std::string_view json_raw(std::string_view json, std::string_view key) {
  const std::string needle = "\"" + std::string(key) + "\":";
  const std::size_t at = json.find(needle);
  if (at == std::string_view::npos) return {};
  const std::size_t begin = at + needle.size();
  std::size_t end = begin;
  if (end < json.size() && json[end] == '"') {
    end = json.find('"', begin + 1);
    return json.substr(begin + 1, end - begin - 1);
  }
  while (end < json.size() && json[end] != ',' && json[end] != '}') ++end;
  return json.substr(begin, end - begin);
}

[[nodiscard]] inline std::int64_t json_int(std::string_view json, std::string_view key) {
  const std::string_view raw = json_raw(json, key);
  std::int64_t v = 0;
  const auto [end, error] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  if (error != std::errc{} || end != raw.data() + raw.size())
    throw std::runtime_error("no integer '" + std::string(key) + "' in " + std::string(json));
  return v;
}

[[nodiscard]] inline double parse_double(std::string_view raw) {
  double v = 0;
  const auto [end, error] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  if (error != std::errc{} || end != raw.data() + raw.size())
    throw std::runtime_error("not a number: '" + std::string(raw) + "'");
  return v;
}

[[nodiscard]] inline bool json_flag(std::string_view json, std::string_view key) {
  return json_raw(json, key) == "true";
}

/// The "values" object, in order; nullopt for null (not ready).
[[nodiscard]] inline std::vector<std::pair<std::string, std::optional<double>>> json_values(std::string_view json) {
  std::vector<std::pair<std::string, std::optional<double>>> out;
  constexpr std::string_view kKey = "\"values\":{";
  std::size_t at = json.find(kKey);
  if (at == std::string_view::npos) throw std::runtime_error("no values in " + std::string(json));
  at += kKey.size();
  for (int guard = 0; guard < 1000 && at < json.size() && json[at] != '}'; ++guard) {
    if (json[at] == ',') ++at;
    if (json[at] != '"') throw std::runtime_error("bad values in " + std::string(json));
    const std::size_t label_end = json.find('"', at + 1);
    std::string label(json.substr(at + 1, label_end - at - 1));
    at = label_end + 2;  // past '":'
    std::size_t end = at;
    while (end < json.size() && json[end] != ',' && json[end] != '}') ++end;
    const std::string_view raw = json.substr(at, end - at);
    out.emplace_back(std::move(label), raw == "null" ? std::nullopt : std::optional<double>(parse_double(raw)));
    at = end;
  }
  return out;
}

// ------------------------------------------------------------------------------------- harness

class EngineHarness {
 public:
  explicit EngineHarness(std::vector<std::string> symbols = {"ABCUSDT"}, std::uint32_t depth = 1024,
                         std::uint32_t journal = 4096)
      : symbols_(std::move(symbols)) {
    auto geometry = shm::make_geometry(static_cast<std::uint32_t>(symbols_.size()), kEngineIntervals, depth, journal,
                                       16, 16384);
    if (!geometry) throw std::runtime_error(geometry.error().message);
    auto writer = shm::SegmentWriter::create(shm::WriterOptions{name_.str(), *geometry, ""});
    if (!writer) throw std::runtime_error(writer.error().message);
    writer_ = std::make_unique<shm::SegmentWriter>(std::move(*writer));
    for (std::uint32_t s = 0; s < symbols_.size(); ++s) {
      shm::SymbolInfo info{};
      std::memcpy(info.symbol.data(), symbols_[s].data(), std::min(symbols_[s].size(), info.symbol.size() - 1));
      info.slot_state = static_cast<std::uint32_t>(shm::SlotState::Active);
      info.trading_status = static_cast<std::uint32_t>(shm::TradingStatus::Trading);
      info.tick_size = 0.01;
      info.step_size = 0.001;
      info.generation = 1;
      writer_->set_symbol(s, info);
    }
    writer_->heartbeat();
    writer_->publish();
    auto reader = shm::SegmentReader::attach(shm::ReaderOptions{name_.str()}, std::chrono::seconds(5));
    if (!reader) throw std::runtime_error(reader.error().message);
    reader_ = std::make_unique<shm::SegmentReader>(std::move(*reader));
  }
  ~EngineHarness() { engine_.reset(); }
  EngineHarness(const EngineHarness&) = delete;
  EngineHarness& operator=(const EngineHarness&) = delete;

  [[nodiscard]] shm::SegmentWriter& writer() { return *writer_; }
  [[nodiscard]] const shm::SegmentView& view() const { return reader_->view(); }
  [[nodiscard]] worker::Engine& engine() { return *engine_; }
  [[nodiscard]] VectorSink& sink() { return sink_; }
  [[nodiscard]] std::vector<CapturedSignal>& signals() { return sink_.signals; }

  /// A new engine (destroying the previous one) that reads the journal from its head on.
  worker::Engine& start_engine(worker::EngineOptions options = {}) {
    engine_.reset();
    if (!options.now_ms) options.now_ms = [] { return std::int64_t{1'800'000'000'000}; };
    cursor_ = shm::journal_cursor_at_head(view());
    engine_ = std::make_unique<worker::Engine>(view(), std::move(options), sink_);
    return *engine_;
  }
  void stop_engine() { engine_.reset(); }

  [[nodiscard]] static std::uint32_t interval_index(Interval interval) {
    for (std::uint32_t i = 0; i < std::size(kEngineIntervals); ++i)
      if (kEngineIntervals[i] == interval) return i;
    throw std::invalid_argument("interval not held");
  }

  shm::UpsertResult close_bar(std::uint32_t symbol, Interval interval, const shm::Bar& bar,
                              bool from_backfill = false) {
    return writer_->upsert_closed(symbol, interval_index(interval), bar, from_backfill);
  }
  void close_bars(std::uint32_t symbol, Interval interval, const std::vector<shm::Bar>& bars) {
    for (const shm::Bar& b : bars) close_bar(symbol, interval, b);
  }
  void forming(std::uint32_t symbol, Interval interval, const shm::Bar& bar) {
    writer_->write_forming(symbol, interval_index(interval), bar);
  }
  void set_complete(std::uint32_t symbol, Interval interval, bool complete) {
    writer_->set_ring_complete(symbol, interval_index(interval), complete);
  }
  /// Every ring of every symbol complete: the engine holds incomplete rings.
  void complete_all() {
    for (std::uint32_t s = 0; s < symbols_.size(); ++s)
      for (Interval iv : kEngineIntervals) set_complete(s, iv, true);
  }

  /// A new generation of the trader table; the traders' texts as trader files.
  [[nodiscard]] shm::TraderTableSnapshot table(const std::vector<TraderText>& traders, std::string state_dir = "") {
    shm::TraderTableSnapshot snapshot;
    snapshot.generation = ++generation_;
    snapshot.worker_count = 1;
    snapshot.state_dir = std::move(state_dir);
    for (const TraderText& t : traders)
      snapshot.traders.push_back(shm::TraderTableItem{t.name, t.owner, "/traders.d/" + t.name + ".toml", t.text,
                                                      shm::trader_content_hash(t.text)});
    return snapshot;
  }
  void apply(const std::vector<TraderText>& traders, std::string state_dir = "") {
    engine_->apply_table(table(traders, std::move(state_dir)));
  }

  /// One wake-up of the worker: publish what was written, deliver the journal, process().
  void step() {
    writer_->heartbeat();
    writer_->publish();
    for (int polls = 0; polls < 10'000; ++polls) {
      const shm::JournalPoll result =
          shm::journal_poll(view(), cursor_, 1024, [&](const shm::JournalEntry& e) { engine_->note(e); });
      if (result == shm::JournalPoll::Lapped) engine_->note_lapped();
      if (result != shm::JournalPoll::More) break;
    }
    engine_->process();
  }

  /// The signals emitted since the last call.
  std::vector<CapturedSignal> take() { return std::exchange(sink_.signals, {}); }

 private:
  ScopedSegmentName name_;
  std::vector<std::string> symbols_;
  std::unique_ptr<shm::SegmentWriter> writer_;
  std::unique_ptr<shm::SegmentReader> reader_;
  VectorSink sink_;
  std::unique_ptr<worker::Engine> engine_;
  shm::JournalCursor cursor_{};
  std::uint64_t generation_ = 0;
};

}  // namespace screener::test
