// SPDX-License-Identifier: Apache-2.0
#pragma once

// What workers and screenerd say to each other over the Unix SOCK_SEQPACKET socket whose path the
// daemon publishes in the segment's trader table. One datagram is one message; the kernel keeps
// message boundaries and order, so a message is a fixed header followed by its body.
//
//   worker -> daemon   Hello      once per connection, first
//                      Heartbeat  about once a second: lag and evaluation statistics
//                      Signal     one signal: its 64-bit id, then the JSON object (no newline)
//                      TraderStats  every ~2 s: per-trader counters of the trader table generation it
//                                 runs, in chunks of at most kTraderStatsPerMessage entries
//   daemon -> worker   Ack        the signal with this id is written; the worker may forget it
//
// A worker keeps every signal until it is acked and sends the unacked ones again after a
// reconnect; the daemon writes a signal id only once, so a resend is harmless.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

namespace screener::protocol {

inline constexpr std::uint32_t kMagic = 0x53435752;  // "RWCS" in memory: screener worker channel
inline constexpr std::uint16_t kVersion = 1;
/// The largest datagram either side sends or accepts: a signal's JSON is well below this.
inline constexpr std::size_t kMaxMessageBytes = 16 * 1024;

enum class MessageType : std::uint16_t { Hello = 1, Heartbeat = 2, Signal = 3, Ack = 4, TraderStats = 5 };

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
};
static_assert(sizeof(HeartbeatBody) == 64);

/// Signal body: this, then the JSON bytes up to the end of the datagram.
struct SignalBody {
  std::uint64_t id;
};
static_assert(sizeof(SignalBody) == 8);

struct AckBody {
  std::uint64_t id;
};
static_assert(sizeof(AckBody) == 8);

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

/// A signal message: header, id, JSON. Nothing if the JSON does not fit kMaxMessageBytes.
[[nodiscard]] inline std::optional<std::size_t> encode_signal(std::uint64_t id, std::string_view json,
                                                              std::span<std::byte> out) noexcept {
  const std::size_t length = sizeof(MessageHeader) + sizeof(SignalBody) + json.size();
  if (length > kMaxMessageBytes || length > out.size()) return std::nullopt;
  const std::size_t fixed = encode(MessageType::Signal, SignalBody{id}, out);
  std::memcpy(out.data() + fixed, json.data(), json.size());
  return length;
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

/// The JSON bytes of a signal message.
[[nodiscard]] inline std::string_view signal_json(std::span<const std::byte> message) noexcept {
  const std::size_t fixed = sizeof(MessageHeader) + sizeof(SignalBody);
  if (message.size() <= fixed) return {};
  return {reinterpret_cast<const char*>(message.data() + fixed), message.size() - fixed};
}

}  // namespace screener::protocol
