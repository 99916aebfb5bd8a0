// SPDX-License-Identifier: Apache-2.0
#pragma once

// The segment ABI: every struct that lives in /dev/shm/<name>, its size and offsets asserted at
// compile time, and the arithmetic that places the regions. Shared words are only ever touched
// through common/shm_atomic.hpp and common/seqlock.hpp.
//
//   offset 0      SegmentHeader (one 4 KiB page): identity, geometry, region table, hot words
//   symbols       SymbolSlot[max_symbols]                 seqlocked metadata, 128 B each
//   tickers       TickerSlot[max_symbols]                 seqlocked 24 h statistics, 128 B each
//   ring controls RingControl[max_symbols * intervals]    head, ring sequence, forming bar; 256 B each
//   ring columns  per ring, kColumnCount columns of ring_capacity 8-byte values (columnar)
//   journal       JournalRecord[journal_capacity]         what changed, 16 B each
//   trader table  TraderTableHeader, TraderEntry[trader_capacity], trader file texts
//                 (seqlocked as a whole: which traders run and which worker owns each)
//   status        StatusHeader, ConnectionStatus[16], WorkerStatus[64], TraderStatus[trader_capacity],
//                 RecentSignal[16] (seqlocked as a whole: screenerd's counters, once a second)
//
// Ring r of symbol slot s and interval index i is r = s * interval_count + i.
// Every region starts on a 4 KiB boundary; every hot word has a 128-byte line to itself.

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "common/seqlock.hpp"

namespace screener::shm {

inline constexpr std::uint64_t kSegmentMagic = 0x31524e4545524353ULL;  // "SCREENR1" in memory
inline constexpr std::uint32_t kLayoutVersion = 2;
inline constexpr std::size_t kLineSpan = 128;  // two cache lines: adjacent-line prefetch included
inline constexpr std::size_t kPageSize = 4096;
inline constexpr std::size_t kHeaderSize = kPageSize;
inline constexpr std::size_t kMaxIntervals = 16;
inline constexpr std::size_t kSymbolNameCapacity = 32;  // bytes of UTF-8: Binance symbols may be non-ASCII
inline constexpr std::size_t kAssetNameCapacity = 16;

enum class SegmentState : std::uint32_t { Init = 0, Ready = 1, Shutdown = 2 };

/// The configurable dimensions. Written once, before READY.
struct SegmentGeometry {
  std::uint32_t max_symbols;
  std::uint32_t interval_count;
  std::uint32_t ring_capacity;      ///< closed bars kept per (symbol, interval)
  std::uint32_t journal_capacity;   ///< records; a power of two
  std::array<std::uint8_t, kMaxIntervals> interval_codes;  ///< screener::Interval values
  std::uint32_t trader_capacity;    ///< entries in the trader table
  std::uint32_t trader_text_bytes;  ///< bytes for the trader files' texts; a multiple of 8
};
static_assert(sizeof(SegmentGeometry) == 40);

/// Byte offsets from the segment base, and byte lengths, of every region.
struct RegionTable {
  std::uint64_t symbols_offset;
  std::uint64_t symbols_bytes;
  std::uint64_t tickers_offset;
  std::uint64_t tickers_bytes;
  std::uint64_t ring_controls_offset;
  std::uint64_t ring_controls_bytes;
  std::uint64_t ring_columns_offset;
  std::uint64_t ring_columns_bytes;
  std::uint64_t column_stride;   ///< bytes from one column of a ring to the next
  std::uint64_t ring_stride;     ///< bytes from one ring's first column to the next ring's
  std::uint64_t journal_offset;
  std::uint64_t journal_bytes;
  std::uint64_t trader_table_offset;
  std::uint64_t trader_table_bytes;
  std::uint64_t status_offset;
  std::uint64_t status_bytes;
};
static_assert(sizeof(RegionTable) == 128);

/// The first page. Identity fields are written once before `state` becomes READY (release);
/// the four hot words after them each own a 128-byte line.
struct SegmentHeader {
  std::uint64_t magic;
  std::uint32_t layout_version;
  std::uint32_t header_size;
  std::uint64_t total_size;
  std::uint64_t layout_hash;
  std::uint64_t writer_epoch;      ///< CLOCK_REALTIME ns at creation: unique per writer incarnation
  std::uint32_t writer_pid;
  std::uint32_t reserved0;
  std::uint64_t created_unix_ns;
  SegmentGeometry geometry;
  RegionTable regions;
  std::array<std::uint8_t, 512 - 224> reserved1;

  std::uint32_t state;             ///< SegmentState
  std::array<std::uint8_t, kLineSpan - 4> pad_state;
  std::uint64_t heartbeat_ns;      ///< writer's CLOCK_MONOTONIC, stamped periodically
  std::array<std::uint8_t, kLineSpan - 8> pad_heartbeat;
  std::uint32_t futex_word;        ///< bumped once per published batch; readers FUTEX_WAIT on it
  std::array<std::uint8_t, kLineSpan - 4> pad_futex;
  std::uint64_t publish_seq;       ///< batches published; the 64-bit truth behind the futex word
  std::array<std::uint8_t, kLineSpan - 8> pad_publish;
  std::uint64_t journal_head;      ///< journal records ever written
  std::array<std::uint8_t, kLineSpan - 8> pad_journal;

  std::array<std::uint8_t, kHeaderSize - 512 - 5 * kLineSpan> reserved2;
};
static_assert(std::is_standard_layout_v<SegmentHeader> && std::is_trivially_copyable_v<SegmentHeader>);
static_assert(sizeof(SegmentHeader) == kHeaderSize);
static_assert(offsetof(SegmentHeader, magic) == 0);
static_assert(offsetof(SegmentHeader, layout_version) == 8);
static_assert(offsetof(SegmentHeader, header_size) == 12);
static_assert(offsetof(SegmentHeader, total_size) == 16);
static_assert(offsetof(SegmentHeader, layout_hash) == 24);
static_assert(offsetof(SegmentHeader, writer_epoch) == 32);
static_assert(offsetof(SegmentHeader, writer_pid) == 40);
static_assert(offsetof(SegmentHeader, created_unix_ns) == 48);
static_assert(offsetof(SegmentHeader, geometry) == 56);
static_assert(offsetof(SegmentHeader, regions) == 96);
static_assert(offsetof(SegmentHeader, reserved1) == 224);
static_assert(offsetof(SegmentHeader, state) == 512);
static_assert(offsetof(SegmentHeader, heartbeat_ns) == 640);
static_assert(offsetof(SegmentHeader, futex_word) == 768);
static_assert(offsetof(SegmentHeader, publish_seq) == 896);
static_assert(offsetof(SegmentHeader, journal_head) == 1024);
static_assert(offsetof(SegmentHeader, futex_word) % 4 == 0, "futex(2) needs a 4-byte aligned word");

enum class SlotState : std::uint32_t { Free = 0, Active = 1, Retired = 2 };

/// Binance's symbol status, as stored; the names are the exchange's.
enum class TradingStatus : std::uint32_t {
  Unknown = 0, PreTrading, Trading, PostTrading, EndOfDay, Halt, AuctionMatch, Break,
  CancelOnly, Delisted,
};

/// One symbol's metadata. Names are UTF-8 byte strings, NUL-padded; no padding bytes anywhere.
struct SymbolInfo {
  std::array<char, kSymbolNameCapacity> symbol;
  std::array<char, kAssetNameCapacity> base_asset;
  std::array<char, kAssetNameCapacity> quote_asset;
  std::uint32_t slot_state;        ///< SlotState
  std::uint32_t trading_status;    ///< TradingStatus
  double tick_size;
  double step_size;
  std::uint64_t generation;        ///< bumped when the slot is given to another symbol
};
static_assert(sizeof(SymbolInfo) == 32 + 16 + 16 + 4 + 4 + 8 + 8 + 8, "no padding");

/// 24 h rolling statistics of one symbol.
struct Ticker {
  double last_price;
  double open_24h;
  double high_24h;
  double low_24h;
  double base_volume_24h;
  double quote_volume_24h;
  double price_change;
  double price_change_pct;
  std::int64_t event_time_ms;
};
static_assert(sizeof(Ticker) == 9 * 8, "no padding");

/// One kline. The closed bars live column by column; the forming bar lives whole in its seqlock.
struct Bar {
  std::int64_t open_time_ms;
  double open;
  double high;
  double low;
  double close;
  double volume;
  double quote_volume;
  std::int64_t trades;
  double taker_buy_base_volume;
  double taker_buy_quote_volume;
};
static_assert(sizeof(Bar) == 10 * 8, "no padding");

struct SymbolSlot {
  SeqlockSlot<SymbolInfo> info;
  std::array<std::uint8_t, kLineSpan - sizeof(SeqlockSlot<SymbolInfo>)> pad;
};
static_assert(sizeof(SymbolSlot) == kLineSpan && std::is_trivially_copyable_v<SymbolSlot>);

struct TickerSlot {
  SeqlockSlot<Ticker> ticker;
  std::array<std::uint8_t, kLineSpan - sizeof(SeqlockSlot<Ticker>)> pad;
};
static_assert(sizeof(TickerSlot) == kLineSpan && std::is_trivially_copyable_v<TickerSlot>);

/// Ring flags (RingControl::flags).
inline constexpr std::uint32_t kRingComplete = 1U << 0;  ///< backfilled and gap-free

/// Control block of one (symbol, interval) ring. The first line is the closed history's seqlock
/// and head; the second is the forming bar, which changes every frame and so must not share a
/// line with the head that readers poll.
struct RingControl {
  std::uint64_t closed_seq;        ///< seqlock over head + column slots; odd while a write is under way
  std::uint64_t head;              ///< closed bars ever stored; slot of bar k is k % ring_capacity
  std::uint64_t rewrite_count;     ///< bumped whenever stored history changes other than by appending
  std::uint32_t flags;             ///< kRingComplete
  std::uint32_t reserved0;
  std::int64_t backfilled_through_ms;  ///< newest open time ever stored from REST (backfill); 0: none
  std::array<std::uint8_t, kLineSpan - 40> pad_closed;
  SeqlockSlot<Bar> forming;        ///< open_time_ms == 0: no forming bar
  std::array<std::uint8_t, kLineSpan - sizeof(SeqlockSlot<Bar>)> pad_forming;
};
static_assert(sizeof(RingControl) == 2 * kLineSpan && std::is_trivially_copyable_v<RingControl>);
static_assert(offsetof(RingControl, closed_seq) == 0);
static_assert(offsetof(RingControl, head) == 8);
static_assert(offsetof(RingControl, rewrite_count) == 16);
static_assert(offsetof(RingControl, flags) == 24);
static_assert(offsetof(RingControl, backfilled_through_ms) == 32);
static_assert(offsetof(RingControl, forming) == kLineSpan);

/// The columns of a ring, in storage order. Each holds ring_capacity 8-byte values.
enum class Column : std::uint32_t {
  OpenTime = 0,  // int64 ms
  Open, High, Low, Close, Volume, QuoteVolume,
  Trades,        // int64
  TakerBuyBaseVolume, TakerBuyQuoteVolume,
};
inline constexpr std::uint32_t kColumnCount = 10;

enum class JournalKind : std::uint8_t {
  Ticker = 1,    ///< a ticker slot changed (interval is kNoInterval)
  Forming = 2,   ///< the forming bar of a ring changed
  Closed = 3,    ///< a closed bar was appended to a ring
  Rewrite = 4,   ///< a ring's stored history changed in place (backfill, correction, reset)
  Symbol = 5,    ///< a symbol's metadata changed (interval is kNoInterval)
  RingFlags = 6, ///< a ring's flags changed (complete / incomplete)
};
inline constexpr std::uint8_t kNoInterval = 0xFF;

/// One journal entry: word 0 is the record's 1-based journal sequence (0 while being written),
/// word 1 packs symbol slot (bits 0-31), interval index (32-39) and kind (40-47).
struct JournalRecord {
  std::uint64_t sequence;
  std::uint64_t packed;
};
static_assert(sizeof(JournalRecord) == 16);

[[nodiscard]] constexpr std::uint64_t pack_journal(std::uint32_t symbol, std::uint8_t interval_index,
                                                   JournalKind kind) noexcept {
  return std::uint64_t{symbol} | (std::uint64_t{interval_index} << 32) |
         (std::uint64_t{static_cast<std::uint8_t>(kind)} << 40);
}

// ---------------------------------------------------------------------------------------------
// Trader table: the traders screenerd validated, each trader file's text, and the worker that
// owns it. Workers compile the texts themselves with the same code the daemon validated them
// with, so the segment carries source, not a compiled form whose ABI would have to be frozen.
// The whole table is one seqlock (TraderTableHeader::seq): it changes only on a reload or a
// rebalance, and a reader copies it in one go.

inline constexpr std::size_t kTraderNameCapacity = 64;
inline constexpr std::size_t kSocketPathCapacity = 112;  // sun_path holds 108
inline constexpr std::size_t kStateDirCapacity = 256;
inline constexpr std::uint32_t kUnassigned = 0xFFFF'FFFFU;

struct TraderTableHeader {
  std::uint64_t seq;                ///< seqlock over everything in the table; odd while written
  std::uint64_t generation;         ///< bumped by every publication; 0: nothing published yet
  std::uint32_t trader_count;
  std::uint32_t worker_count;       ///< workers the assignment was made for
  std::uint64_t text_bytes;         ///< bytes of the text area in use
  std::uint64_t published_unix_ns;
  std::array<char, kSocketPathCapacity> socket_path;  ///< where workers connect (NUL-padded)
  std::array<char, kStateDirCapacity> state_dir;      ///< where workers persist fired state
  std::array<std::uint8_t, kPageSize - 40 - kSocketPathCapacity - kStateDirCapacity> reserved;
};
static_assert(sizeof(TraderTableHeader) == kPageSize && std::is_trivially_copyable_v<TraderTableHeader>);
static_assert(offsetof(TraderTableHeader, seq) == 0);
static_assert(offsetof(TraderTableHeader, generation) == 8);
static_assert(offsetof(TraderTableHeader, socket_path) == 40);

/// One trader. Its file's text and path live in the text area, at 8-byte aligned offsets.
struct TraderEntry {
  std::array<char, kTraderNameCapacity> name;  ///< NUL-padded (no NUL when 64 bytes long)
  std::uint32_t owner;              ///< worker index, or kUnassigned
  std::uint32_t text_length;        ///< bytes of the trader file
  std::uint64_t text_offset;        ///< from the start of the text area
  std::uint64_t path_offset;        ///< the file's path, for messages
  std::uint32_t path_length;
  std::uint32_t reserved0;
  std::uint64_t content_hash;       ///< FNV-1a of the text: an unchanged trader keeps its state
  std::array<std::uint8_t, 24> reserved1;
};
static_assert(sizeof(TraderEntry) == 128 && std::is_trivially_copyable_v<TraderEntry>);
static_assert(offsetof(TraderEntry, owner) == 64);
static_assert(offsetof(TraderEntry, text_offset) == 72);

// ---------------------------------------------------------------------------------------------
// Status: screenerd's own counters for `screenerctl status` (and nothing else reads them). One
// seqlock (StatusHeader::seq) over the header, every array and the recent signals; written about
// once a second by the daemon's io thread, word by word (common/status_board.hpp). It never
// wakes the workers: a status write is not a publish.

inline constexpr std::size_t kStatusMaxConnections = 16;
inline constexpr std::size_t kStatusMaxWorkers = 64;
inline constexpr std::size_t kStatusRecentSignals = 16;
inline constexpr std::size_t kStatusRejectReasons = 32;      ///< room for daemon/feed RejectReason values
inline constexpr std::size_t kStatusErrorCapacity = 512;     ///< last reload error text, NUL-padded
inline constexpr std::size_t kStatusSignalCapacity = 1024;   ///< one signal's JSON line, NUL-padded

/// The first page of the status region: counters since the daemon started, and how many entries
/// of each array below are in use.
struct StatusHeader {
  std::uint64_t seq;                    ///< seqlock over the whole region; odd while written
  std::uint64_t generation;             ///< status writes so far; 0: none yet
  std::int64_t updated_unix_ms;         ///< when this status was written
  std::int64_t started_unix_ms;         ///< when screenerd started
  double frames_per_second;             ///< WebSocket frames over the last second
  std::uint64_t frames_total;
  std::uint64_t frames_kline;
  std::uint64_t frames_ticker;
  std::uint64_t frames_other;           ///< ignored and control frames
  std::uint64_t parse_errors_total;     ///< rejected frames
  std::uint64_t connects;
  std::uint64_t reconnects;
  std::uint64_t rotations;
  std::uint64_t closed_bars;
  std::uint64_t backfilled_bars;
  std::uint64_t gaps_detected;
  std::uint64_t rest_requests;
  std::uint64_t rest_429;
  std::uint64_t rest_418;
  std::int64_t rest_weight_used;        ///< in the current minute
  std::int64_t rest_weight_limit;       ///< the share of the exchange's limit screenerd allows itself
  std::uint64_t signals_written;
  std::uint64_t signals_duplicates;
  std::uint64_t signals_rejected;
  std::uint64_t signal_write_errors;
  std::uint64_t reloads_ok;
  std::uint64_t reloads_failed;
  std::int64_t last_reload_unix_ms;     ///< 0: no reload yet
  std::uint32_t last_reload_ok;         ///< 1: the last reload was applied
  std::uint32_t symbols_active;
  std::uint32_t rings_complete;
  std::uint32_t connection_count;       ///< ConnectionStatus entries in use
  std::uint32_t worker_count;           ///< WorkerStatus entries in use
  std::uint32_t trader_count;           ///< TraderStatus entries in use
  std::uint32_t recent_signal_count;    ///< RecentSignal entries in use, oldest first
  std::uint32_t reserved0;
  std::array<std::uint64_t, kStatusRejectReasons> parse_errors_by_reason;  ///< by RejectReason value
  std::array<char, kStatusErrorCapacity> last_reload_error;                ///< NUL-padded
  std::array<std::uint8_t, kPageSize - 1024> reserved1;
};
static_assert(sizeof(StatusHeader) == kPageSize && std::is_trivially_copyable_v<StatusHeader>);
static_assert(offsetof(StatusHeader, generation) == 8);
static_assert(offsetof(StatusHeader, frames_per_second) == 32);
static_assert(offsetof(StatusHeader, last_reload_ok) == 224);
static_assert(offsetof(StatusHeader, parse_errors_by_reason) == 256);
static_assert(offsetof(StatusHeader, last_reload_error) == 512);
static_assert(offsetof(StatusHeader, reserved1) == 1024);

/// One live WebSocket connection.
struct ConnectionStatus {
  std::uint32_t id;
  std::uint32_t streams;
  std::uint32_t open;                   ///< 1: open
  std::uint32_t reserved0;
  std::uint64_t frames;
  std::int64_t last_frame_unix_ms;      ///< 0: no frame yet
};
static_assert(sizeof(ConnectionStatus) == 32 && std::is_trivially_copyable_v<ConnectionStatus>);

/// One worker, as its last heartbeat described it.
struct WorkerStatus {
  std::uint32_t index;
  std::uint32_t pid;
  std::uint32_t connected;              ///< 1: connected now
  std::uint32_t traders;
  std::uint64_t table_generation;
  std::uint64_t journal_lag;            ///< records
  std::uint64_t evaluations;
  std::uint64_t signals;
  std::uint64_t suppressed;
  std::uint64_t eval_ns_total;
  std::uint64_t pending_signals;
  std::int64_t last_heartbeat_unix_ms;  ///< 0: none yet
  std::int64_t connected_since_unix_ms;
  std::array<std::uint8_t, 40> reserved;
};
static_assert(sizeof(WorkerStatus) == 128 && std::is_trivially_copyable_v<WorkerStatus>);
static_assert(offsetof(WorkerStatus, table_generation) == 16);
static_assert(offsetof(WorkerStatus, connected_since_unix_ms) == 80);

/// One trader of the current table.
struct TraderStatus {
  std::array<char, kTraderNameCapacity> name;  ///< NUL-padded
  std::uint32_t owner;                  ///< worker index, or kUnassigned
  std::uint32_t reserved0;
  std::uint64_t evaluations;            ///< as its worker reports them
  std::uint64_t signals;                ///< written by screenerd since it started
  std::uint64_t suppressed;             ///< as its worker reports them
  std::uint64_t worker_signals;         ///< emitted, as its worker reports them
  std::int64_t last_fire_unix_ms;       ///< the last signal's ts; 0: none
  std::array<char, kSymbolNameCapacity> last_fire_symbol;  ///< NUL-padded
  std::array<std::uint8_t, 16> reserved1;
};
static_assert(sizeof(TraderStatus) == 160 && std::is_trivially_copyable_v<TraderStatus>);
static_assert(offsetof(TraderStatus, owner) == 64);
static_assert(offsetof(TraderStatus, last_fire_symbol) == 112);

/// One signal line as written, NUL-padded (a longer line is cut).
struct RecentSignal {
  std::array<char, kStatusSignalCapacity> json;
};
static_assert(sizeof(RecentSignal) == kStatusSignalCapacity);

inline constexpr std::uint64_t kStatusConnectionsOffset = sizeof(StatusHeader);  ///< within the region
inline constexpr std::uint64_t kStatusWorkersOffset =
    kStatusConnectionsOffset + kStatusMaxConnections * sizeof(ConnectionStatus);
inline constexpr std::uint64_t kStatusTradersOffset = kStatusWorkersOffset + kStatusMaxWorkers * sizeof(WorkerStatus);
static_assert(kStatusWorkersOffset == 4608 && kStatusTradersOffset == 12800);

// ---------------------------------------------------------------------------------------------
// Layout hash: FNV-1a over every constant that shapes the format. Two builds agree on it exactly
// when they agree on the ABI, so a reader refuses any segment written by an incompatible build.

namespace detail {
constexpr std::uint64_t fnv1a(std::uint64_t hash, std::uint64_t value) noexcept {
  for (int byte = 0; byte < 8; ++byte) {
    hash ^= (value >> (8 * byte)) & 0xFFU;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}
}  // namespace detail

inline constexpr std::uint64_t kLayoutHash = [] {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const std::uint64_t v : {
           std::uint64_t{kLayoutVersion}, std::uint64_t{sizeof(SegmentHeader)},
           std::uint64_t{offsetof(SegmentHeader, geometry)}, std::uint64_t{offsetof(SegmentHeader, regions)},
           std::uint64_t{offsetof(SegmentHeader, state)}, std::uint64_t{offsetof(SegmentHeader, heartbeat_ns)},
           std::uint64_t{offsetof(SegmentHeader, futex_word)}, std::uint64_t{offsetof(SegmentHeader, publish_seq)},
           std::uint64_t{offsetof(SegmentHeader, journal_head)}, std::uint64_t{sizeof(SegmentGeometry)},
           std::uint64_t{sizeof(RegionTable)}, std::uint64_t{sizeof(SymbolInfo)}, std::uint64_t{sizeof(SymbolSlot)},
           std::uint64_t{sizeof(Ticker)}, std::uint64_t{sizeof(TickerSlot)}, std::uint64_t{sizeof(Bar)},
           std::uint64_t{sizeof(RingControl)}, std::uint64_t{offsetof(RingControl, forming)},
           std::uint64_t{offsetof(RingControl, backfilled_through_ms)},
           std::uint64_t{kColumnCount}, std::uint64_t{sizeof(JournalRecord)}, std::uint64_t{kMaxIntervals},
           std::uint64_t{kSymbolNameCapacity}, std::uint64_t{kAssetNameCapacity},
           std::uint64_t{sizeof(TraderTableHeader)}, std::uint64_t{sizeof(TraderEntry)},
           std::uint64_t{offsetof(TraderEntry, text_offset)}, std::uint64_t{kTraderNameCapacity},
           std::uint64_t{sizeof(StatusHeader)}, std::uint64_t{offsetof(StatusHeader, parse_errors_by_reason)},
           std::uint64_t{offsetof(StatusHeader, last_reload_error)}, std::uint64_t{sizeof(ConnectionStatus)},
           std::uint64_t{sizeof(WorkerStatus)}, std::uint64_t{sizeof(TraderStatus)},
           std::uint64_t{offsetof(TraderStatus, last_fire_symbol)}, std::uint64_t{sizeof(RecentSignal)},
           std::uint64_t{kStatusMaxConnections}, std::uint64_t{kStatusMaxWorkers},
           std::uint64_t{kStatusRecentSignals}, std::uint64_t{kStatusRejectReasons}}) {
    h = detail::fnv1a(h, v);
  }
  return h;
}();

// ---------------------------------------------------------------------------------------------
// Region arithmetic. Pure and constexpr: the writer, the reader's validation, `screenerctl layout`
// and the documentation all use this one function.

[[nodiscard]] constexpr std::uint64_t round_up(std::uint64_t value, std::uint64_t multiple) noexcept {
  return (value + multiple - 1) / multiple * multiple;
}

[[nodiscard]] constexpr RegionTable compute_regions(const SegmentGeometry& g) noexcept {
  RegionTable r{};
  const std::uint64_t rings = std::uint64_t{g.max_symbols} * g.interval_count;
  r.symbols_offset = kHeaderSize;
  r.symbols_bytes = round_up(std::uint64_t{g.max_symbols} * sizeof(SymbolSlot), kPageSize);
  r.tickers_offset = r.symbols_offset + r.symbols_bytes;
  r.tickers_bytes = round_up(std::uint64_t{g.max_symbols} * sizeof(TickerSlot), kPageSize);
  r.ring_controls_offset = r.tickers_offset + r.tickers_bytes;
  r.ring_controls_bytes = round_up(rings * sizeof(RingControl), kPageSize);
  r.ring_columns_offset = r.ring_controls_offset + r.ring_controls_bytes;
  r.column_stride = round_up(std::uint64_t{g.ring_capacity} * 8, kLineSpan);
  r.ring_stride = r.column_stride * kColumnCount;
  r.ring_columns_bytes = round_up(rings * r.ring_stride, kPageSize);
  r.journal_offset = r.ring_columns_offset + r.ring_columns_bytes;
  r.journal_bytes = round_up(std::uint64_t{g.journal_capacity} * sizeof(JournalRecord), kPageSize);
  r.trader_table_offset = r.journal_offset + r.journal_bytes;
  r.trader_table_bytes = round_up(sizeof(TraderTableHeader) + std::uint64_t{g.trader_capacity} * sizeof(TraderEntry) +
                                      round_up(g.trader_text_bytes, 8),
                                  kPageSize);
  r.status_offset = r.trader_table_offset + r.trader_table_bytes;
  r.status_bytes = round_up(kStatusTradersOffset + std::uint64_t{g.trader_capacity} * sizeof(TraderStatus) +
                                kStatusRecentSignals * sizeof(RecentSignal),
                            kPageSize);
  return r;
}

[[nodiscard]] constexpr std::uint64_t total_size(const RegionTable& r) noexcept {
  return r.status_offset + r.status_bytes;
}

}  // namespace screener::shm
