// SPDX-License-Identifier: Apache-2.0
#pragma once

// Typed addressing into a mapped segment: base + offset arithmetic, nothing else. The geometry
// and region table are copied out of the header once (they are immutable after READY), so the
// hot path never re-reads the header. BasicSegmentView<const std::byte> is what readers hold;
// only the writer holds the mutable flavour.

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "common/segment_layout.hpp"

namespace screener::shm {

template <class Byte>
class BasicSegmentView {
  static_assert(std::is_same_v<std::remove_const_t<Byte>, std::byte>);
  template <class T>
  using Ptr = std::conditional_t<std::is_const_v<Byte>, const T*, T*>;

 public:
  BasicSegmentView() noexcept = default;

  /// `base` must point at a segment whose header is already validated (or being built).
  explicit BasicSegmentView(Byte* base) noexcept
      : base_(base),
        geometry_(reinterpret_cast<const SegmentHeader*>(base)->geometry),
        regions_(reinterpret_cast<const SegmentHeader*>(base)->regions) {}

  [[nodiscard]] Byte* base() const noexcept { return base_; }
  [[nodiscard]] Ptr<SegmentHeader> header() const noexcept { return at<SegmentHeader>(0); }
  [[nodiscard]] const SegmentGeometry& geometry() const noexcept { return geometry_; }
  [[nodiscard]] const RegionTable& regions() const noexcept { return regions_; }

  [[nodiscard]] std::uint32_t max_symbols() const noexcept { return geometry_.max_symbols; }
  [[nodiscard]] std::uint32_t interval_count() const noexcept { return geometry_.interval_count; }
  [[nodiscard]] std::uint32_t ring_capacity() const noexcept { return geometry_.ring_capacity; }
  [[nodiscard]] std::uint32_t ring_count() const noexcept {
    return geometry_.max_symbols * geometry_.interval_count;
  }
  [[nodiscard]] std::uint32_t journal_capacity() const noexcept { return geometry_.journal_capacity; }

  [[nodiscard]] std::uint32_t ring_index(std::uint32_t symbol, std::uint32_t interval_index) const noexcept {
    return symbol * geometry_.interval_count + interval_index;
  }

  [[nodiscard]] Ptr<SymbolSlot> symbol_slot(std::uint32_t symbol) const noexcept {
    return at<SymbolSlot>(regions_.symbols_offset + std::uint64_t{symbol} * sizeof(SymbolSlot));
  }
  [[nodiscard]] Ptr<TickerSlot> ticker_slot(std::uint32_t symbol) const noexcept {
    return at<TickerSlot>(regions_.tickers_offset + std::uint64_t{symbol} * sizeof(TickerSlot));
  }
  [[nodiscard]] Ptr<RingControl> ring_control(std::uint32_t ring) const noexcept {
    return at<RingControl>(regions_.ring_controls_offset + std::uint64_t{ring} * sizeof(RingControl));
  }

  /// First element of one column of one ring; `T` is std::int64_t for OpenTime and Trades,
  /// double for the others.
  template <class T>
  [[nodiscard]] Ptr<T> column(std::uint32_t ring, Column column) const noexcept {
    static_assert(sizeof(T) == 8);
    return at<T>(regions_.ring_columns_offset + std::uint64_t{ring} * regions_.ring_stride +
                 std::uint64_t{static_cast<std::uint32_t>(column)} * regions_.column_stride);
  }

  [[nodiscard]] Ptr<JournalRecord> journal_records() const noexcept {
    return at<JournalRecord>(regions_.journal_offset);
  }
  [[nodiscard]] std::uint32_t trader_capacity() const noexcept { return geometry_.trader_capacity; }
  [[nodiscard]] std::uint64_t trader_text_bytes() const noexcept { return geometry_.trader_text_bytes; }
  [[nodiscard]] Ptr<TraderTableHeader> trader_table() const noexcept {
    return at<TraderTableHeader>(regions_.trader_table_offset);
  }
  [[nodiscard]] Ptr<TraderEntry> trader_entries() const noexcept {
    return at<TraderEntry>(regions_.trader_table_offset + sizeof(TraderTableHeader));
  }
  /// The text area as 8-byte words: texts are copied word by word under the table's seqlock.
  [[nodiscard]] Ptr<std::uint64_t> trader_text_words() const noexcept {
    return at<std::uint64_t>(regions_.trader_table_offset + sizeof(TraderTableHeader) +
                             std::uint64_t{geometry_.trader_capacity} * sizeof(TraderEntry));
  }

  [[nodiscard]] Ptr<StatusHeader> status_header() const noexcept { return at<StatusHeader>(regions_.status_offset); }
  [[nodiscard]] Ptr<ConnectionStatus> status_connections() const noexcept {
    return at<ConnectionStatus>(regions_.status_offset + kStatusConnectionsOffset);
  }
  [[nodiscard]] Ptr<WorkerStatus> status_workers() const noexcept {
    return at<WorkerStatus>(regions_.status_offset + kStatusWorkersOffset);
  }
  [[nodiscard]] Ptr<TraderStatus> status_traders() const noexcept {
    return at<TraderStatus>(regions_.status_offset + kStatusTradersOffset);
  }
  [[nodiscard]] Ptr<RecentSignal> status_recent_signals() const noexcept {
    return at<RecentSignal>(regions_.status_offset + kStatusTradersOffset +
                            std::uint64_t{geometry_.trader_capacity} * sizeof(TraderStatus));
  }

 private:
  template <class T>
  [[nodiscard]] Ptr<T> at(std::uint64_t offset) const noexcept {
    return reinterpret_cast<Ptr<T>>(base_ + offset);
  }

  Byte* base_ = nullptr;
  SegmentGeometry geometry_{};
  RegionTable regions_{};
};

using SegmentView = BasicSegmentView<const std::byte>;
using MutableSegmentView = BasicSegmentView<std::byte>;

}  // namespace screener::shm
