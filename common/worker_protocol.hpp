// SPDX-License-Identifier: Apache-2.0
#pragma once

// What workers and screenerd say to each other over the Unix SOCK_SEQPACKET socket whose path the
// daemon publishes in the segment's trader table. One datagram is one message; the kernel keeps
// message boundaries and order, so a message is a fixed header followed by its body.
//
//   worker -> daemon   Hello      once per connection, first
//                      Heartbeat  about once a second: lag and evaluation statistics
//                      Signals    one or more signals, each its 64-bit id and JSON object (no newline)
//                      TraderStats  every ~2 s: per-trader counters of the trader table generation it
//                                 runs, in chunks of at most kTraderStatsPerMessage entries
//   daemon -> worker   Acks       these signal ids are written; the worker may forget them
//
// A worker keeps every signal until it is acked and sends the unacked ones again after a
// reconnect; the daemon writes a signal id only once, so a resend is harmless.
//
// Signals and acks travel several to a message: a Unix socket's queue holds only
// net.unix.max_dgram_qlen messages (10 by default), and a burst of a hundred signals, one per
// message, would otherwise wait for the daemon to drain the queue ten at a time.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace screener::protocol {

inline constexpr std::uint32_t kMagic = 0x53435752;  // "RWCS" in memory: screener worker channel
inline constexpr std::uint16_t kVersion = 2;
/// The largest datagram either side sends or accepts: a signal's JSON is well below this.
inline constexpr std::size_t kMaxMessageBytes = 16 * 1024;

enum class MessageType : std::uint16_t { Hello = 1, Heartbeat = 2, Signals = 3, Acks = 4, TraderStats = 5 };

struct MessageHeader {
  std::uint32_t magic;
  std::uint16_t version;
  std::uint16_t type;  ///< MessageType
};
static_assert(sizeof(MessageHeader) == 8 && std::is_trivially_copyable_v<MessageHeader>);

struct HelloBody {
  std::uint32_t worker_index;
  std::uint32_t pid;
  std::uint64_t segment_epoch;  ///< writer_epoch of the segment the worker is attached to
};
static_assert(sizeof(HelloBody) == 16);

struct HeartbeatBody {
  std::uint32_t worker_index;
  std::uint32_t traders;             ///< traders this worker evaluates
  std::uint64_t trader_generation;   ///< trader table generation it runs
  std::uint64_t journal_lag;         ///< journal records published but not yet read
  std::uint64_t evaluations;         ///< trader-symbol evaluations since start
  std::uint64_t signals;             ///< signals emitted since start
  std::uint64_t suppressed;          ///< true edges held back by once-per-bar or cooldown
  std::uint64_t eval_ns_total;       ///< time spent evaluating since start
  std::uint64_t pending_signals;     ///< signals sent or queued but not yet acked
  std::uint64_t eval_rounds;         ///< evaluation rounds (process() calls that evaluated) since start
  std::uint64_t eval_round_ns_total; ///< their total duration
  /// Rounds since start by duration: [i] counts those <= kEvalRoundBoundsNs[i] and above the
  /// previous bound; the last entry counts those above every bound.
  std::uint64_t eval_round_buckets[16];
};
static_assert(sizeof(HeartbeatBody) == 208);

/// Upper bounds of HeartbeatBody::eval_round_buckets, in nanoseconds: 10 us .. 1 s.
inline constexpr std::uint64_t kEvalRoundBoundsNs[15] = {
    10'000,     25'000,     50'000,      100'000,     250'000,     500'000,      1'000'000,  2'500'000,
    5'000'000,  10'000'000, 25'000'000,  50'000'000,  100'000'000, 250'000'000,  1'000'000'000};
static_assert(std::size(kEvalRoundBoundsNs) + 1 == std::size(HeartbeatBody{}.eval_round_buckets));

/// The eval_round_buckets index for a round that took `ns`.
[[nodiscard]] constexpr std::size_t eval_round_bucket(std::uint64_t ns) noexcept {
  std::size_t i = 0;
  while (i < std::size(kEvalRoundBoundsNs) && ns > kEvalRoundBoundsNs[i]) ++i;
  return i;
}

/// Signals body: this, then `count` records, each a SignalRecord and its `json_bytes` of JSON.
struct SignalsBody {
  std::uint32_t count;
  std::uint32_t reserved;
};
static_assert(sizeof(SignalsBody) == 8);

struct SignalRecord {
  std::uint64_t id;
  std::uint32_t json_bytes;
  std::uint32_t reserved;
};
static_assert(sizeof(SignalRecord) == 16);

/// The longest signal JSON a message can carry (alone).
inline constexpr std::size_t kMaxSignalJsonBytes =
    kMaxMessageBytes - sizeof(MessageHeader) - sizeof(SignalsBody) - sizeof(SignalRecord);

/// Acks body: this, then `count` signal ids (std::uint64_t).
struct AcksBody {
  std::uint32_t count;
  std::uint32_t reserved;
};
static_assert(sizeof(AcksBody) == 8);

inline constexpr std::size_t kAcksPerMessage =
    (kMaxMessageBytes - sizeof(MessageHeader) - sizeof(AcksBody)) / sizeof(std::uint64_t);

/// TraderStats body: this, then `count` TraderStatsEntry.
struct TraderStatsBody {
  std::uint64_t trader_generation;  ///< the trader table generation whose indexes the entries use
  std::uint32_t count;
  std::uint32_t reserved;
};
static_assert(sizeof(TraderStatsBody) == 16);

/// One trader's counters since the worker started (or since it took the trader on).
struct TraderStatsEntry {
  std::uint32_t table_index;  ///< the trader's index in the trader table
  std::uint32_t reserved;
  std::uint64_t evaluations;
  std::uint64_t signals;
  std::uint64_t suppressed;
};
static_assert(sizeof(TraderStatsEntry) == 32);

inline constexpr std::size_t kTraderStatsPerMessage =
    (kMaxMessageBytes - sizeof(MessageHeader) - sizeof(TraderStatsBody)) / sizeof(TraderStatsEntry);

[[nodiscard]] constexpr MessageHeader make_header(MessageType type) noexcept {
  return MessageHeader{kMagic, kVersion, static_cast<std::uint16_t>(type)};
}

/// Writes header + body into `out` (kMaxMessageBytes is always enough for fixed bodies) and
/// returns the message length.
template <class Body>
[[nodiscard]] std::size_t encode(MessageType type, const Body& body, std::span<std::byte> out) noexcept {
  static_assert(std::is_trivially_copyable_v<Body>);
  const MessageHeader header = make_header(type);
  std::memcpy(out.data(), &header, sizeof header);
  std::memcpy(out.data() + sizeof header, &body, sizeof body);
  return sizeof header + sizeof body;
}

/// Packs signals into one Signals message in a caller's buffer: add() until it says no, then
/// send bytes(). Nothing is sent for a writer without signals.
class SignalsWriter {
 public:
  explicit SignalsWriter(std::span<std::byte> buffer) noexcept : out_(buffer) { clear(); }

  /// Starts an empty message in the same buffer.
  void clear() noexcept {
    count_ = 0;
    length_ = sizeof(MessageHeader) + sizeof(SignalsBody);
  }
  /// Appends one signal if it fits; false (and nothing changes) when it does not.
  [[nodiscard]] bool add(std::uint64_t id, std::string_view json) noexcept {
    const std::size_t length = length_ + sizeof(SignalRecord) + json.size();
    if (json.size() > kMaxSignalJsonBytes || length > out_.size() || length > kMaxMessageBytes) return false;
    const SignalRecord record{id, static_cast<std::uint32_t>(json.size()), 0};
    std::memcpy(out_.data() + length_, &record, sizeof record);
    std::memcpy(out_.data() + length_ + sizeof record, json.data(), json.size());
    length_ = length;
    ++count_;
    return true;
  }
  [[nodiscard]] std::uint32_t count() const noexcept { return count_; }
  /// The message, header and count filled in.
  [[nodiscard]] std::span<const std::byte> bytes() noexcept {
    const MessageHeader header = make_header(MessageType::Signals);
    const SignalsBody body{count_, 0};
    std::memcpy(out_.data(), &header, sizeof header);
    std::memcpy(out_.data() + sizeof header, &body, sizeof body);
    return out_.first(length_);
  }

 private:
  std::span<std::byte> out_;
  std::uint32_t count_ = 0;
  std::size_t length_ = 0;
};

/// Calls `each(id, json)` for every signal of a Signals message, in order. False, after calling
/// it for the records before the fault, if the message is shorter or longer than its records say.
template <class Each>
[[nodiscard]] bool for_each_signal(std::span<const std::byte> message, Each&& each) {
  SignalsBody body;
  std::size_t at = sizeof(MessageHeader) + sizeof body;
  if (message.size() < at) return false;
  std::memcpy(&body, message.data() + sizeof(MessageHeader), sizeof body);
  for (std::uint32_t i = 0; i < body.count; ++i) {
    SignalRecord record;
    if (message.size() - at < sizeof record) return false;
    std::memcpy(&record, message.data() + at, sizeof record);
    at += sizeof record;
    if (message.size() - at < record.json_bytes) return false;
    each(record.id, std::string_view(reinterpret_cast<const char*>(message.data() + at), record.json_bytes));
    at += record.json_bytes;
  }
  return at == message.size();
}

/// An Acks message for the first at most kAcksPerMessage of `ids`; returns the length and how
/// many ids it carries.
[[nodiscard]] inline std::pair<std::size_t, std::size_t> encode_acks(std::span<const std::uint64_t> ids,
                                                                     std::span<std::byte> out) noexcept {
  std::size_t count = ids.size() < kAcksPerMessage ? ids.size() : kAcksPerMessage;
  const std::size_t room = (out.size() - sizeof(MessageHeader) - sizeof(AcksBody)) / sizeof(std::uint64_t);
  if (count > room) count = room;
  const std::size_t fixed = encode(MessageType::Acks, AcksBody{static_cast<std::uint32_t>(count), 0}, out);
  if (count > 0) std::memcpy(out.data() + fixed, ids.data(), count * sizeof(std::uint64_t));
  return {fixed + count * sizeof(std::uint64_t), count};
}

/// Calls `each(id)` for every id of an Acks message; false if its length does not match its count.
template <class Each>
[[nodiscard]] bool for_each_ack(std::span<const std::byte> message, Each&& each) {
  AcksBody body;
  const std::size_t fixed = sizeof(MessageHeader) + sizeof body;
  if (message.size() < fixed) return false;
  std::memcpy(&body, message.data() + sizeof(MessageHeader), sizeof body);
  if (body.count > kAcksPerMessage || message.size() != fixed + body.count * sizeof(std::uint64_t)) return false;
  for (std::uint32_t i = 0; i < body.count; ++i) {
    std::uint64_t id;
    std::memcpy(&id, message.data() + fixed + i * sizeof id, sizeof id);
    each(id);
  }
  return true;
}

/// A TraderStats message with at most kTraderStatsPerMessage of `entries` (the caller sends the
/// rest in further messages); returns the length.
[[nodiscard]] inline std::size_t encode_trader_stats(std::uint64_t generation, std::span<const TraderStatsEntry> entries,
                                                     std::span<std::byte> out) noexcept {
  std::size_t count = entries.size() < kTraderStatsPerMessage ? entries.size() : kTraderStatsPerMessage;
  const std::size_t room = (out.size() - sizeof(MessageHeader) - sizeof(TraderStatsBody)) / sizeof(TraderStatsEntry);
  if (count > room) count = room;
  const std::size_t fixed =
      encode(MessageType::TraderStats, TraderStatsBody{generation, static_cast<std::uint32_t>(count), 0}, out);
  if (count > 0) std::memcpy(out.data() + fixed, entries.data(), count * sizeof(TraderStatsEntry));
  return fixed + count * sizeof(TraderStatsEntry);
}

/// The entries of a TraderStats message; nothing if it is shorter than its count says.
[[nodiscard]] inline std::optional<std::vector<TraderStatsEntry>> trader_stats_entries(
    std::span<const std::byte> message, const TraderStatsBody& body) {
  const std::size_t fixed = sizeof(MessageHeader) + sizeof(TraderStatsBody);
  if (body.count > kTraderStatsPerMessage || message.size() < fixed + body.count * sizeof(TraderStatsEntry))
    return std::nullopt;
  std::vector<TraderStatsEntry> entries(body.count);
  if (body.count > 0) std::memcpy(entries.data(), message.data() + fixed, body.count * sizeof(TraderStatsEntry));
  return entries;
}

/// A received datagram's header, if it has our magic and version; nothing otherwise.
[[nodiscard]] inline std::optional<MessageType> message_type(std::span<const std::byte> message) noexcept {
  if (message.size() < sizeof(MessageHeader)) return std::nullopt;
  MessageHeader header;
  std::memcpy(&header, message.data(), sizeof header);
  if (header.magic != kMagic || header.version != kVersion) return std::nullopt;
  return static_cast<MessageType>(header.type);
}

/// The fixed body after the header, if the datagram is long enough to hold it.
template <class Body>
[[nodiscard]] std::optional<Body> decode_body(std::span<const std::byte> message) noexcept {
  if (message.size() < sizeof(MessageHeader) + sizeof(Body)) return std::nullopt;
  Body body;
  std::memcpy(&body, message.data() + sizeof(MessageHeader), sizeof body);
  return body;
}

}  // namespace screener::protocol
