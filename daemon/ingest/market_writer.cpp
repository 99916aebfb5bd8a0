// SPDX-License-Identifier: Apache-2.0
#include "daemon/ingest/market_writer.hpp"

#include <algorithm>

#include "common/segment_geometry.hpp"

namespace screener::ingest {

MarketWriter::MarketWriter(shm::SegmentWriter& writer, const SymbolRegistry& registry, GapFiller& gaps)
    : writer_(writer), registry_(registry), gaps_(gaps), interval_count_(writer.view().interval_count()) {
  interval_index_.fill(-1);
  for (std::uint32_t i = 0; i < interval_count_; ++i) {
    const Interval interval = shm::geometry_interval(writer.view().geometry(), i);
    intervals_.push_back(interval);
    interval_index_[static_cast<std::size_t>(interval)] = static_cast<int>(i);
  }
  rings_.resize(std::size_t{writer.view().max_symbols()} * interval_count_);
}

void MarketWriter::apply_kline(const feed::KlineUpdate& update) noexcept {
  ++stats_.klines;
  const auto symbol = registry_.find(update.symbol);
  if (!symbol) {
    ++stats_.unknown_symbol;
    return;
  }
  const int index = interval_index(update.interval);
  if (index < 0) {
    ++stats_.unheld_interval;
    return;
  }
  const auto interval_index = static_cast<std::uint32_t>(index);
  RingTrack& ring = track(*symbol, interval_index);
  check_continuity(*symbol, interval_index, update.bar.open_time_ms);
  if (update.closed) {
    store_closed(*symbol, interval_index, update.bar, false);
    // The bar is history now; the next forming bar starts with the next frame.
    writer_.write_forming(*symbol, interval_index, shm::Bar{});
  } else {
    writer_.write_forming(*symbol, interval_index, update.bar);
  }
  if (!ring.live_seen && ring.gap_until_ms == kNone) ring.live_seen = true;
  update_complete(*symbol, interval_index);
}

void MarketWriter::apply_mini_tickers(std::span<const feed::MiniTickerUpdate> updates) noexcept {
  // !miniTicker@arr carries the whole exchange: symbols we do not follow are not errors.
  for (const auto& update : updates) {
    if (const auto symbol = registry_.find(update.symbol)) {
      writer_.write_ticker(*symbol, update.ticker);
      ++stats_.tickers;
    }
  }
}

void MarketWriter::store_closed(std::uint32_t symbol, std::uint32_t interval_index, const shm::Bar& bar,
                                bool from_rest) noexcept {
  const shm::UpsertResult result = writer_.upsert_closed(symbol, interval_index, bar, from_rest);
  RingTrack& ring = track(symbol, interval_index);
  if (result == shm::UpsertResult::Appended || result == shm::UpsertResult::Inserted ||
      result == shm::UpsertResult::Replaced) {
    ring.newest_closed_ms = std::max(ring.newest_closed_ms, bar.open_time_ms);
    if (from_rest) ++stats_.backfilled_bars;
    if (!from_rest) ++stats_.closed_bars;
  }
}

void MarketWriter::check_continuity(std::uint32_t symbol, std::uint32_t interval_index,
                                    std::int64_t open_time_ms) noexcept {
  RingTrack& ring = track(symbol, interval_index);
  // Before the initial backfill there is no history to continue; the backfill covers it.
  if (!ring.initial_done || ring.newest_closed_ms == kNone) return;
  const std::int64_t expected =
      std::max(next_bar_open_time(intervals_[interval_index], ring.newest_closed_ms), ring.settled_until_ms);
  if (open_time_ms <= expected) return;  // continues the history (or repeats what is stored)
  if (ring.gap_until_ms != kNone && ring.gap_until_ms >= open_time_ms) return;  // already asked
  ++stats_.gaps_detected;
  const std::int64_t from = ring.gap_until_ms != kNone ? std::max(expected, ring.gap_until_ms) : expected;
  ring.gap_until_ms = open_time_ms;
  ring.live_seen = false;
  update_complete(symbol, interval_index);
  gaps_.fill_gap(symbol, interval_index, from, open_time_ms);
}

void MarketWriter::apply_backfill(std::uint32_t symbol, std::uint32_t interval_index,
                                  std::span<const shm::Bar> bars) noexcept {
  for (const auto& bar : bars) store_closed(symbol, interval_index, bar, true);
}

void MarketWriter::initial_backfill_done(std::uint32_t symbol, std::uint32_t interval_index) noexcept {
  track(symbol, interval_index).initial_done = true;
  update_complete(symbol, interval_index);
}

void MarketWriter::gap_fill_done(std::uint32_t symbol, std::uint32_t interval_index) noexcept {
  RingTrack& ring = track(symbol, interval_index);
  const std::int64_t until = ring.gap_until_ms;
  ring.gap_until_ms = kNone;
  // What the exchange returned for the range is all there is: bars it does not have (an exchange
  // maintenance window) stay a gap in the data, not a hole to ask for again and again.
  if (until != kNone) ring.settled_until_ms = std::max(ring.settled_until_ms, until);
  ring.live_seen = true;
  update_complete(symbol, interval_index);
}

void MarketWriter::gap_fill_failed(std::uint32_t symbol, std::uint32_t interval_index) noexcept {
  RingTrack& ring = track(symbol, interval_index);
  ring.gap_until_ms = kNone;
  ring.live_seen = false;
  update_complete(symbol, interval_index);
}

void MarketWriter::stream_lost(std::uint32_t symbol, std::uint32_t interval_index) noexcept {
  track(symbol, interval_index).live_seen = false;
  update_complete(symbol, interval_index);
}

bool MarketWriter::complete(std::uint32_t symbol, std::uint32_t interval_index) const noexcept {
  const RingTrack& ring = rings_[symbol * interval_count_ + interval_index];
  return ring.initial_done && ring.live_seen && ring.gap_until_ms == kNone;
}

std::size_t MarketWriter::complete_rings() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(rings_.begin(), rings_.end(), [](const RingTrack& r) { return r.published_complete; }));
}

void MarketWriter::update_complete(std::uint32_t symbol, std::uint32_t interval_index) noexcept {
  RingTrack& ring = track(symbol, interval_index);
  const bool now = complete(symbol, interval_index);
  if (now == ring.published_complete) return;
  ring.published_complete = now;
  writer_.set_ring_complete(symbol, interval_index, now);
}

}  // namespace screener::ingest
