// SPDX-License-Identifier: Apache-2.0
#pragma once

// Single-writer seqlock over a trivially copyable payload, safe across processes and clean
// under ThreadSanitizer.
//
// Writer: seq = s+1 (relaxed); every payload word stored with release; seq = s+2 (release).
// Reader: s0 = seq (acquire); every payload word loaded with acquire; s1 = seq (relaxed);
//         the copy is good when s0 == s1 and s0 is even.
// Why it is sound: an acquire load that observes a newer payload word synchronises with its
// release store, which is sequenced after `seq = s+1`; so s1 cannot still equal an even s0.
// Plain struct copies between fences (the x86-only idiom) are a data race in the C++ model and
// fences cannot be checked by TSan; per-word acquire/release is both correct and, on x86-64,
// plain `mov`s. Payloads are stored as whole 8-byte words and converted with std::bit_cast, so
// no type punning is involved.

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <type_traits>

#include "common/shm_atomic.hpp"

namespace screener::shm {

// Whole 8-byte words with no padding. has_unique_object_representations would say "no padding"
// but is false for any struct holding a double, so each payload asserts its size as the sum of
// its members instead (see segment_layout.hpp).
template <class T>
concept SeqlockPayload = std::is_trivially_copyable_v<T> && std::is_standard_layout_v<T> && sizeof(T) % 8 == 0 &&
                         alignof(T) <= 8;

/// A payload under a sequence counter. Plain POD: lives in the segment as is.
template <SeqlockPayload T>
struct SeqlockSlot {
  static constexpr std::size_t kWords = sizeof(T) / 8;

  std::uint64_t seq;
  std::array<std::uint64_t, kWords> words;
};

/// How many times a reader retries a slot whose sequence moves under it before it gives up and
/// lets the caller decide (the writer may have died mid-update, leaving the sequence odd).
inline constexpr int kSeqlockReadAttempts = 4096;

template <SeqlockPayload T>
inline void seqlock_write(SeqlockSlot<T>* slot, const T& value) noexcept {
  const auto source = std::bit_cast<std::array<std::uint64_t, SeqlockSlot<T>::kWords>>(value);
  const std::uint64_t s = load_relaxed(&slot->seq);
  store_relaxed(&slot->seq, s + 1);
  for (std::size_t i = 0; i < source.size(); ++i) store_release(&slot->words[i], source[i]);
  store_release(&slot->seq, s + 2);
}

/// One attempt: the payload if the copy is consistent, nothing if the writer was mid-update.
template <SeqlockPayload T>
[[nodiscard]] inline std::optional<T> seqlock_try_read(const SeqlockSlot<T>* slot) noexcept {
  std::array<std::uint64_t, SeqlockSlot<T>::kWords> copy;
  const std::uint64_t s0 = load_acquire(&slot->seq);
  for (std::size_t i = 0; i < copy.size(); ++i) copy[i] = load_acquire(&slot->words[i]);
  const std::uint64_t s1 = load_relaxed(&slot->seq);
  if (s0 != s1 || (s0 & 1U) != 0) return std::nullopt;
  return std::bit_cast<T>(copy);
}

/// Bounded retries; nothing means the slot stayed busy for kSeqlockReadAttempts attempts.
template <SeqlockPayload T>
[[nodiscard]] inline std::optional<T> seqlock_read(const SeqlockSlot<T>* slot) noexcept {
  for (int attempt = 0; attempt < kSeqlockReadAttempts; ++attempt) {
    if (auto value = seqlock_try_read(slot)) return value;
  }
  return std::nullopt;
}

/// The slot's version: even when stable, changes on every write. Lets a reader skip unchanged slots.
template <SeqlockPayload T>
[[nodiscard]] inline std::uint64_t seqlock_version(const SeqlockSlot<T>* slot) noexcept {
  return load_acquire(&slot->seq);
}

}  // namespace screener::shm
