// SPDX-License-Identifier: Apache-2.0
#pragma once

// Applies validated market data to the segment and keeps each ring's completeness honest.
//
// A ring is complete when its initial backfill is done, the live stream has been seen to
// continue it without a hole since the last (re)connect, and no gap fill is outstanding. Any
// hole — a closed bar whose open time skips ahead, or a forming bar past a bar that never
// arrived closed (its x=true frame lost in a reconnect) — marks the ring incomplete and asks the
// GapFiller for exactly the missing open times; the ring becomes complete again once they are
// stored. Gap detection needs no wall clock, so it works the same at any replay speed.

#include <cstdint>
#include <span>
#include <vector>

#include "common/interval.hpp"
#include "common/segment_writer.hpp"
#include "daemon/feed/frame_parser.hpp"
#include "daemon/ingest/symbol_registry.hpp"

namespace screener::ingest {

/// Receives requests for missing closed bars: open times in [from_ms, to_ms).
class GapFiller {
 public:
  virtual ~GapFiller() = default;
  virtual void fill_gap(std::uint32_t symbol, std::uint32_t interval_index, std::int64_t from_ms,
                        std::int64_t to_ms) = 0;
};

struct MarketWriterStats {
  std::uint64_t klines = 0;
  std::uint64_t closed_bars = 0;
  std::uint64_t tickers = 0;
  std::uint64_t unknown_symbol = 0;     ///< klines of symbols not (or no longer) followed
  std::uint64_t unheld_interval = 0;    ///< klines of intervals the segment does not hold
  std::uint64_t gaps_detected = 0;
  std::uint64_t backfilled_bars = 0;    ///< bars stored from REST that were missing or changed
};

class MarketWriter {
 public:
  MarketWriter(shm::SegmentWriter& writer, const SymbolRegistry& registry, GapFiller& gaps);

  void apply_kline(const feed::KlineUpdate& update) noexcept;
  void apply_mini_tickers(std::span<const feed::MiniTickerUpdate> updates) noexcept;

  /// Closed bars from REST for one ring, in any order; each is upserted by open time.
  void apply_backfill(std::uint32_t symbol, std::uint32_t interval_index, std::span<const shm::Bar> bars) noexcept;
  /// The ring's initial history is stored (or the exchange had none to give).
  void initial_backfill_done(std::uint32_t symbol, std::uint32_t interval_index) noexcept;
  /// A gap fill for [from, to) finished; if bars are still missing, a new request follows.
  void gap_fill_done(std::uint32_t symbol, std::uint32_t interval_index) noexcept;
  /// A gap fill gave up (network, exchange errors): the ring stays incomplete and the next live
  /// frame asks again.
  void gap_fill_failed(std::uint32_t symbol, std::uint32_t interval_index) noexcept;
  /// The live stream of these rings was interrupted: incomplete until the stream is seen again.
  void stream_lost(std::uint32_t symbol, std::uint32_t interval_index) noexcept;

  [[nodiscard]] bool complete(std::uint32_t symbol, std::uint32_t interval_index) const noexcept;
  [[nodiscard]] std::size_t complete_rings() const noexcept;
  [[nodiscard]] const MarketWriterStats& stats() const noexcept { return stats_; }
  /// Index of `interval` in the segment, or -1.
  [[nodiscard]] int interval_index(Interval interval) const noexcept { return interval_index_[static_cast<std::size_t>(interval)]; }
  [[nodiscard]] Interval interval_at(std::uint32_t index) const noexcept { return intervals_[index]; }
  [[nodiscard]] std::uint32_t interval_count() const noexcept { return interval_count_; }

 private:
  static constexpr std::int64_t kNone = INT64_MIN;

  struct RingTrack {
    std::int64_t newest_closed_ms = kNone;   ///< newest closed bar stored
    std::int64_t gap_until_ms = kNone;        ///< open time up to which a gap fill is outstanding
    std::int64_t settled_until_ms = kNone;    ///< bars opening before this are as complete as the
                                              ///< exchange can make them (a maintenance window stays a gap)
    bool initial_done = false;
    bool live_seen = false;                   ///< a live frame continued the history since (re)connect
    bool published_complete = false;
  };

  RingTrack& track(std::uint32_t symbol, std::uint32_t interval_index) noexcept {
    return rings_[symbol * interval_count_ + interval_index];
  }
  void store_closed(std::uint32_t symbol, std::uint32_t interval_index, const shm::Bar& bar, bool from_rest) noexcept;
  /// Every bar before `open_time_ms` must be stored: asks for the missing ones if not.
  void check_continuity(std::uint32_t symbol, std::uint32_t interval_index, std::int64_t open_time_ms) noexcept;
  void update_complete(std::uint32_t symbol, std::uint32_t interval_index) noexcept;

  shm::SegmentWriter& writer_;
  const SymbolRegistry& registry_;
  GapFiller& gaps_;
  std::uint32_t interval_count_;
  std::vector<Interval> intervals_;
  std::array<int, 17> interval_index_{};
  std::vector<RingTrack> rings_;
  MarketWriterStats stats_;
};

}  // namespace screener::ingest
