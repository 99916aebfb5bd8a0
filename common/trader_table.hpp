// SPDX-License-Identifier: Apache-2.0
#pragma once

// The trader table (see TraderTableHeader in segment_layout.hpp): screenerd writes which traders
// run and which worker owns each; workers copy it whenever its generation changes.
//
// Writer: seq = s+1; header words, entries and texts stored word by word with release;
//         generation += 1; seq = s+2 (release). Capacity is checked before the first store, so a
//         table that does not fit changes nothing.
// Reader: the seqlock discipline of seqlock.hpp over the whole table, with bounded retries.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "common/fnv1a.hpp"
#include "common/segment_view.hpp"
#include "common/shm_atomic.hpp"

namespace screener::shm {

struct TraderTableItem {
  std::string name;
  std::uint32_t owner = kUnassigned;
  std::string path;                ///< the trader file, for messages
  std::string text;                ///< the trader file's contents
  std::uint64_t content_hash = 0;  ///< filled in by the writer, read back by readers
};

struct TraderTableContent {
  std::string socket_path;
  std::string state_dir;
  std::uint32_t worker_count = 0;
  std::vector<TraderTableItem> traders;
};

struct TraderTableSnapshot : TraderTableContent {
  std::uint64_t generation = 0;
  std::uint64_t published_unix_ns = 0;
};

[[nodiscard]] constexpr std::uint64_t trader_content_hash(std::string_view text) noexcept { return fnv1a64(text); }

namespace trader_table_detail {

[[nodiscard]] constexpr std::uint64_t words_for(std::uint64_t bytes) noexcept { return (bytes + 7) / 8; }

/// Stores `bytes` of `source` into whole words at `dst`, zero-padding the last word.
inline void store_bytes(std::uint64_t* dst, const void* source, std::size_t bytes) noexcept {
  const auto* src = static_cast<const unsigned char*>(source);
  for (std::size_t w = 0; w < words_for(bytes); ++w) {
    std::uint64_t word = 0;
    const std::size_t n = bytes - w * 8 < 8 ? bytes - w * 8 : 8;
    std::memcpy(&word, src + w * 8, n);
    store_release(dst + w, word);
  }
}

inline void load_bytes(const std::uint64_t* src, void* destination, std::size_t bytes) noexcept {
  auto* dst = static_cast<unsigned char*>(destination);
  for (std::size_t w = 0; w < words_for(bytes); ++w) {
    const std::uint64_t word = load_acquire(src + w);
    const std::size_t n = bytes - w * 8 < 8 ? bytes - w * 8 : 8;
    std::memcpy(dst + w * 8, &word, n);
  }
}

template <std::size_t N>
[[nodiscard]] std::string from_padded(const std::array<char, N>& chars) {
  return std::string(chars.data(), strnlen(chars.data(), N));
}

/// The words of the header at byte `offset` (8-byte aligned).
[[nodiscard]] inline std::uint64_t* header_words(TraderTableHeader* header, std::size_t offset) noexcept {
  return reinterpret_cast<std::uint64_t*>(reinterpret_cast<std::byte*>(header) + offset);
}
[[nodiscard]] inline const std::uint64_t* header_words(const TraderTableHeader* header, std::size_t offset) noexcept {
  return reinterpret_cast<const std::uint64_t*>(reinterpret_cast<const std::byte*>(header) + offset);
}
static_assert(offsetof(TraderTableHeader, socket_path) % 8 == 0 && offsetof(TraderTableHeader, state_dir) % 8 == 0);

}  // namespace trader_table_detail

/// The generation last published (0: none yet). One acquire load: cheap enough for every wake.
[[nodiscard]] inline std::uint64_t trader_table_generation(const SegmentView& view) noexcept {
  return load_acquire(&view.trader_table()->generation);
}

/// Publishes a new generation of the table. An error, and nothing written, when the traders do not
/// fit the table's capacity or a name or path is too long.
[[nodiscard]] inline std::expected<std::uint64_t, std::string> trader_table_write(const MutableSegmentView& view,
                                                                                  const TraderTableContent& content) {
  namespace d = trader_table_detail;
  if (content.traders.size() > view.trader_capacity())
    return std::unexpected(fmt::format("{} traders do not fit the trader table's {} entries (raise "
                                       "[segment] max_traders)",
                                       content.traders.size(), view.trader_capacity()));
  if (content.socket_path.size() >= kSocketPathCapacity - 4)
    return std::unexpected(fmt::format("socket path '{}' is {} bytes; at most {} fit a Unix socket address",
                                       content.socket_path, content.socket_path.size(), kSocketPathCapacity - 5));
  if (content.state_dir.size() >= kStateDirCapacity)
    return std::unexpected(fmt::format("state directory '{}' is {} bytes; at most {} are supported",
                                       content.state_dir, content.state_dir.size(), kStateDirCapacity - 1));
  std::uint64_t text_words = 0;
  for (const TraderTableItem& t : content.traders) {
    if (t.name.empty() || t.name.size() > kTraderNameCapacity)
      return std::unexpected(fmt::format("trader name '{}' must be 1 to {} bytes", t.name, kTraderNameCapacity));
    text_words += d::words_for(t.text.size()) + d::words_for(t.path.size());
  }
  if (text_words * 8 > view.trader_text_bytes())
    return std::unexpected(fmt::format("the trader files take {} bytes; the trader table holds {} (raise "
                                       "[segment] trader_text_bytes)",
                                       text_words * 8, view.trader_text_bytes()));

  TraderTableHeader* header = view.trader_table();
  const std::uint64_t s = load_relaxed(&header->seq);
  store_relaxed(&header->seq, s + 1);

  std::uint64_t* text = view.trader_text_words();
  std::uint64_t next_word = 0;
  auto store_text = [&](std::string_view bytes) {
    const std::uint64_t offset = next_word * 8;
    d::store_bytes(text + next_word, bytes.data(), bytes.size());
    next_word += d::words_for(bytes.size());
    return offset;
  };
  for (std::size_t i = 0; i < content.traders.size(); ++i) {
    const TraderTableItem& t = content.traders[i];
    TraderEntry entry{};
    std::memcpy(entry.name.data(), t.name.data(), t.name.size());
    entry.owner = t.owner;
    entry.text_length = static_cast<std::uint32_t>(t.text.size());
    entry.text_offset = store_text(t.text);
    entry.path_length = static_cast<std::uint32_t>(t.path.size());
    entry.path_offset = store_text(t.path);
    entry.content_hash = trader_content_hash(t.text);
    d::store_bytes(reinterpret_cast<std::uint64_t*>(view.trader_entries() + i), &entry, sizeof entry);
  }
  std::array<char, kSocketPathCapacity> socket{};
  std::memcpy(socket.data(), content.socket_path.data(), content.socket_path.size());
  d::store_bytes(d::header_words(header, offsetof(TraderTableHeader, socket_path)), socket.data(), socket.size());
  std::array<char, kStateDirCapacity> state{};
  std::memcpy(state.data(), content.state_dir.data(), content.state_dir.size());
  d::store_bytes(d::header_words(header, offsetof(TraderTableHeader, state_dir)), state.data(), state.size());

  store_release(&header->trader_count, static_cast<std::uint32_t>(content.traders.size()));
  store_release(&header->worker_count, content.worker_count);
  store_release(&header->text_bytes, next_word * 8);
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  store_release(&header->published_unix_ns,
                static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()));
  const std::uint64_t generation = load_relaxed(&header->generation) + 1;
  store_release(&header->generation, generation);
  store_release(&header->seq, s + 2);
  return generation;
}

/// A consistent copy of the table; nothing when nothing was published yet or a write kept
/// overlapping the copy.
[[nodiscard]] inline std::optional<TraderTableSnapshot> trader_table_read(const SegmentView& view) {
  namespace d = trader_table_detail;
  const TraderTableHeader* header = view.trader_table();
  const std::uint64_t* text = view.trader_text_words();
  for (int attempt = 0; attempt < kSeqlockReadAttempts; ++attempt) {
    const std::uint64_t s0 = load_acquire(&header->seq);
    if ((s0 & 1U) != 0) continue;
    TraderTableSnapshot snapshot;
    snapshot.generation = load_acquire(&header->generation);
    if (snapshot.generation == 0) return std::nullopt;
    const std::uint32_t count = load_acquire(&header->trader_count);
    snapshot.worker_count = load_acquire(&header->worker_count);
    snapshot.published_unix_ns = load_acquire(&header->published_unix_ns);
    const std::uint64_t text_bytes = load_acquire(&header->text_bytes);
    std::array<char, kSocketPathCapacity> socket{};
    d::load_bytes(d::header_words(header, offsetof(TraderTableHeader, socket_path)), socket.data(), socket.size());
    std::array<char, kStateDirCapacity> state{};
    d::load_bytes(d::header_words(header, offsetof(TraderTableHeader, state_dir)), state.data(), state.size());
    snapshot.socket_path = d::from_padded(socket);
    snapshot.state_dir = d::from_padded(state);
    // Values read mid-write may be garbage: bound everything by the geometry before using it,
    // and let the sequence check below throw the copy away.
    bool sane = count <= view.trader_capacity() && text_bytes <= view.trader_text_bytes();
    for (std::uint32_t i = 0; sane && i < count; ++i) {
      TraderEntry entry;
      d::load_bytes(reinterpret_cast<const std::uint64_t*>(view.trader_entries() + i), &entry, sizeof entry);
      if (entry.text_offset + entry.text_length > text_bytes || entry.path_offset + entry.path_length > text_bytes ||
          entry.text_offset % 8 != 0 || entry.path_offset % 8 != 0) {
        sane = false;
        break;
      }
      TraderTableItem item;
      item.name = d::from_padded(entry.name);
      item.owner = entry.owner;
      item.content_hash = entry.content_hash;
      item.text.resize(entry.text_length);
      d::load_bytes(text + entry.text_offset / 8, item.text.data(), entry.text_length);
      item.path.resize(entry.path_length);
      d::load_bytes(text + entry.path_offset / 8, item.path.data(), entry.path_length);
      snapshot.traders.push_back(std::move(item));
    }
    if (load_relaxed(&header->seq) != s0 || !sane) continue;
    return snapshot;
  }
  return std::nullopt;
}

}  // namespace screener::shm
