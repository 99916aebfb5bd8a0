// SPDX-License-Identifier: Apache-2.0
#pragma once

// Kline frames in Binance's exact combined-stream format, generated in memory: shared by
// parse_bench (random, independent frames) and ingest_bench (a consistent timeline per stream).
//
//   Rng                 splitmix64, so every run generates the same bytes
//   make_symbols        N distinct symbols with log-uniform prices ("BTC"-quoted down to ~1e-7)
//   append_kline_frame  one frame, byte for byte in the layout of the real 2021 capture, from
//                       given values (8-decimal strings, "B":"0")
//   make_kline_frame    one frame with random values (what parse_bench parses)
//   Arena               frames back to back, each followed by kFramePadding spare bytes: the
//                       receive-buffer layout FrameParser::parse_padded parses in place

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/interval.hpp"
#include "common/segment_layout.hpp"
#include "daemon/feed/frame_parser.hpp"

namespace screener::bench {

/// The six intervals the daemon follows by default (the order of kDefaultIntervals).
inline constexpr std::array<Interval, 6> kKlineIntervals{Interval::m1, Interval::m5, Interval::m15,
                                                         Interval::h1, Interval::h4, Interval::d1};

/// splitmix64: deterministic, so every run parses the same bytes.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }

 private:
  std::uint64_t state_;
};

struct SymbolState {
  std::string upper;
  std::string lower;
  double price;
  std::int64_t next_trade_id;
};

inline std::vector<SymbolState> make_symbols(std::size_t count, Rng& rng) {
  static constexpr std::array<std::string_view, 5> kQuotes{"USDT", "USDT", "USDT", "BTC", "FDUSD"};
  std::set<std::string> seen;
  std::vector<SymbolState> symbols;
  while (symbols.size() < count) {
    std::string base;
    const std::size_t length = 2 + rng.below(5);
    for (std::size_t i = 0; i < length; ++i) base += static_cast<char>('A' + rng.below(26));
    const std::string_view quote = kQuotes[rng.below(kQuotes.size())];
    std::string upper = base + std::string(quote);
    if (!seen.insert(upper).second) continue;
    std::string lower = upper;
    for (char& c : lower)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    // Log-uniform price: BTC-quoted pairs down to ~1e-7, USDT pairs up to ~6e4.
    const double price = quote == "BTC" ? std::pow(10.0, -7.0 + 5.0 * rng.uniform())
                                        : std::pow(10.0, -4.0 + 8.8 * rng.uniform());
    symbols.push_back({std::move(upper), std::move(lower), price, static_cast<std::int64_t>(rng.below(1'000'000'000))});
  }
  return symbols;
}

/// Binance's rendering of prices and quantities: always 8 decimals.
inline std::string decimal8(double value) { return fmt::format("{:.8f}", value); }

/// The values of one kline event besides its symbol, interval and event time.
struct KlineFields {
  shm::Bar bar;                 ///< t o h l c v q n V Q
  std::int64_t first_trade_id;  ///< k.f; -1 for a candle without trades
  std::int64_t last_trade_id;   ///< k.L; -1 for a candle without trades
  bool closed;                  ///< k.x
};

/// Appends one frame, byte for byte in the layout of the real 2021 capture (with "B":"0").
inline void append_kline_frame(std::string& out, const SymbolState& s, Interval interval, std::int64_t event_time,
                               const KlineFields& k) {
  const shm::Bar& b = k.bar;
  fmt::format_to(
      std::back_inserter(out),
      R"({{"stream":"{}@kline_{}","data":{{"e":"kline","E":{},"s":"{}","k":{{"t":{},"T":{},"s":"{}","i":"{}",)"
      R"("f":{},"L":{},"o":"{:.8f}","c":"{:.8f}","h":"{:.8f}","l":"{:.8f}","v":"{:.8f}","n":{},"x":{},)"
      R"("q":"{:.8f}","V":"{:.8f}","Q":"{:.8f}","B":"0"}}}}}})",
      s.lower, interval_name(interval), event_time, s.upper, b.open_time_ms, bar_close_time(interval, b.open_time_ms),
      s.upper, interval_name(interval), k.first_trade_id, k.last_trade_id, b.open, b.close, b.high, b.low, b.volume,
      b.trades, k.closed ? "true" : "false", b.quote_volume, b.taker_buy_base_volume, b.taker_buy_quote_volume);
}

/// One frame with random values around the symbol's price (parse_bench's frames): 1 in 50 is a
/// candle without trades, 1 in 30 is closed. Moves s.price and s.next_trade_id on.
inline std::string make_kline_frame(SymbolState& s, Interval interval, std::int64_t event_time, Rng& rng) {
  const std::int64_t t = bar_open_time(interval, event_time);
  const bool empty = rng.below(50) == 0;
  const bool closed = rng.below(30) == 0;
  const double step = std::max(s.price * 1e-4, 1e-8);
  const double open = std::max(s.price, 1e-8);
  double close = open;
  double high = open;
  double low = open;
  double volume = 0;
  std::int64_t trades = 0;
  if (!empty) {
    close = std::max(open + (rng.uniform() - 0.5) * 20 * step, 1e-8);
    high = std::max(open, close) + rng.uniform() * 5 * step;
    low = std::max(std::min(open, close) - rng.uniform() * 5 * step, 1e-8);
    volume = 1 + rng.uniform() * 100000 / std::sqrt(open);
    trades = 1 + static_cast<std::int64_t>(rng.below(3000));
  }
  s.price = close;
  const double taker = volume * rng.uniform();
  const double mid = (high + low) / 2;
  const std::int64_t first = trades == 0 ? -1 : s.next_trade_id;
  const std::int64_t last = trades == 0 ? -1 : s.next_trade_id + trades - 1;
  s.next_trade_id += trades;
  std::string frame;
  append_kline_frame(frame, s, interval, event_time,
                     KlineFields{shm::Bar{t, open, high, low, close, volume, volume * mid, trades, taker, taker * mid},
                                 first, last, closed});
  return frame;
}

/// Frames laid out back to back in one buffer, each followed by kFramePadding spare bytes.
struct Arena {
  std::string bytes;
  std::vector<std::pair<std::size_t, std::size_t>> frames;  // offset, length

  void add(std::string_view frame) {
    frames.emplace_back(bytes.size(), frame.size());
    bytes.append(frame);
    bytes.append(feed::kFramePadding, ' ');
  }
  /// Opens a frame at the end of the buffer: append its bytes to `bytes`, then call end_frame().
  [[nodiscard]] std::size_t begin_frame() const noexcept { return bytes.size(); }
  void end_frame(std::size_t offset) {
    frames.emplace_back(offset, bytes.size() - offset);
    bytes.append(feed::kFramePadding, ' ');
  }
  /// Empties the buffer, keeping its capacity (no allocation once it has grown).
  void clear() noexcept {
    bytes.clear();
    frames.clear();
  }
  [[nodiscard]] const char* data(std::size_t frame) const noexcept { return bytes.data() + frames[frame].first; }
  [[nodiscard]] std::size_t length(std::size_t frame) const noexcept { return frames[frame].second; }
};

}  // namespace screener::bench
