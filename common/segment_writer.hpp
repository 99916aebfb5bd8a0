// SPDX-License-Identifier: Apache-2.0
#pragma once

// The single writer of a segment: creates it, owns it for life, writes market data into it and
// publishes batches to the readers.
//
// Start-up: exclusive flock on the lock file (a second writer is refused and told the holder's
// pid) -> unlink any stale object -> shm_open(O_CREAT|O_EXCL) -> ftruncate + posix_fallocate
// (a too-small /dev/shm fails here, with the sizes, not as SIGBUS later) -> group and mode 0640
// -> header and regions -> state READY, stored last with release.
//
// Publishing: every write lands in the segment and the journal at once; publish() ends a batch
// with publish_seq += 1, futex_word += 1 and one shared FUTEX_WAKE, and does nothing when the
// batch was empty, so there is at most one wake per batch.

#include <cstdint>
#include <expected>
#include <string>

#include "common/kline_ring.hpp"
#include "common/segment_error.hpp"
#include "common/segment_layout.hpp"
#include "common/segment_name.hpp"
#include "common/segment_view.hpp"
#include "common/status_board.hpp"
#include "common/trader_table.hpp"

namespace screener::shm {

struct WriterOptions {
  std::string name = "screener";   ///< segment name; see parse_segment_name
  SegmentGeometry geometry{};      ///< from make_geometry
  std::string group;               ///< group allowed to read the segment; empty: the writer's own
};

class SegmentWriter {
 public:
  /// Creates and initialises the segment; READY on success.
  [[nodiscard]] static std::expected<SegmentWriter, SegmentError> create(const WriterOptions& options);

  SegmentWriter(SegmentWriter&& other) noexcept;
  SegmentWriter& operator=(SegmentWriter&& other) noexcept;
  SegmentWriter(const SegmentWriter&) = delete;
  SegmentWriter& operator=(const SegmentWriter&) = delete;
  /// Marks the segment SHUTDOWN, wakes every reader, unlinks it and releases the lock.
  ~SegmentWriter();

  [[nodiscard]] const MutableSegmentView& view() const noexcept { return view_; }
  [[nodiscard]] const SegmentName& name() const noexcept { return name_; }
  [[nodiscard]] std::uint64_t epoch() const noexcept;
  [[nodiscard]] std::uint64_t size_bytes() const noexcept { return size_; }

  /// Stamps the liveness heartbeat readers age against their timeout. Call every 10-100 ms.
  void heartbeat() noexcept;

  void set_symbol(std::uint32_t symbol, const SymbolInfo& info) noexcept;
  void write_ticker(std::uint32_t symbol, const Ticker& ticker) noexcept;
  void write_forming(std::uint32_t symbol, std::uint32_t interval_index, const Bar& bar) noexcept;
  /// Stores a closed bar by open time (append, overwrite or gap fill); journals what changed.
  /// `from_backfill`: the bar came from REST, not the live stream (workers mark signals on it late).
  UpsertResult upsert_closed(std::uint32_t symbol, std::uint32_t interval_index, const Bar& bar,
                             bool from_backfill = false) noexcept;
  void set_ring_complete(std::uint32_t symbol, std::uint32_t interval_index, bool complete) noexcept;

  /// Writes a new generation of the trader table (see trader_table.hpp); the next publish() wakes
  /// the workers to read it. An error, and nothing changed, when it does not fit.
  [[nodiscard]] std::expected<std::uint64_t, std::string> publish_trader_table(const TraderTableContent& content);
  /// Writes the status region (see status_board.hpp) for `screenerctl status`. Not a batch: it
  /// wakes nobody and does not make the next publish() wake anybody either.
  void publish_status(const StatusSnapshot& status) noexcept;
  /// Ends a batch: publish sequence, futex word, one FUTEX_WAKE. Returns false, and wakes
  /// nobody, when nothing was written since the last publish.
  bool publish() noexcept;

  /// SHUTDOWN, wake, unlink, unlock. Idempotent; the destructor calls it.
  void shutdown() noexcept;

 private:
  SegmentWriter() = default;
  void journal(std::uint32_t symbol, std::uint8_t interval_index, JournalKind kind) noexcept;

  SegmentName name_;
  MutableSegmentView view_;
  std::uint64_t size_ = 0;
  int shm_fd_ = -1;
  int lock_fd_ = -1;
  bool dirty_ = false;
};

}  // namespace screener::shm
