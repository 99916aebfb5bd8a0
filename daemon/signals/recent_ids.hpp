// SPDX-License-Identifier: Apache-2.0
#pragma once

// The last N signal ids written, for de-duplication: a FIFO of ids and an open-addressing hash
// set over them. A million ids take 24 MiB in two flat arrays, instead of a node per id.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace screener::signals {

class RecentIds {
 public:
  /// Remembers up to `capacity` ids (at least one).
  explicit RecentIds(std::size_t capacity)
      : order_(capacity == 0 ? 1 : capacity),
        slots_(std::bit_ceil(order_.size() * 2)),
        mask_(slots_.size() - 1),
        shift_(64 - std::countr_zero(slots_.size())) {}

  [[nodiscard]] bool contains(std::uint64_t id) const noexcept {
    if (id == kEmpty) return has_empty_value_;
    for (std::size_t slot = home(id);; slot = (slot + 1) & mask_) {
      if (slots_[slot] == id) return true;
      if (slots_[slot] == kEmpty) return false;
    }
  }

  /// Adds `id` (nothing if it is already there), forgetting the oldest id when full.
  void insert(std::uint64_t id) noexcept {
    if (contains(id)) return;
    if (size_ == order_.size()) {
      erase(order_[oldest_]);
      oldest_ = (oldest_ + 1) % order_.size();
      --size_;
    }
    order_[(oldest_ + size_) % order_.size()] = id;
    ++size_;
    if (id == kEmpty) {
      has_empty_value_ = true;
      return;
    }
    std::size_t slot = home(id);
    while (slots_[slot] != kEmpty) slot = (slot + 1) & mask_;
    slots_[slot] = id;
  }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return order_.size(); }

 private:
  // Slot value meaning "free"; the id 0 itself is tracked by has_empty_value_.
  static constexpr std::uint64_t kEmpty = 0;

  // Ids are already FNV hashes, but Fibonacci hashing also spreads any that are not (tests,
  // hand-made ids).
  [[nodiscard]] std::size_t home(std::uint64_t id) const noexcept {
    return static_cast<std::size_t>((id * 0x9E3779B97F4A7C15ULL) >> shift_);
  }

  void erase(std::uint64_t id) noexcept {
    if (id == kEmpty) {
      has_empty_value_ = false;
      return;
    }
    std::size_t hole = home(id);
    while (slots_[hole] != id) hole = (hole + 1) & mask_;
    // Backward-shift deletion: pull later members of the probe run into the hole so that no
    // lookup stops early at it (no tombstones).
    for (std::size_t next = (hole + 1) & mask_; slots_[next] != kEmpty; next = (next + 1) & mask_) {
      const std::size_t want = home(slots_[next]);
      if (((next - want) & mask_) >= ((next - hole) & mask_)) {
        slots_[hole] = slots_[next];
        hole = next;
      }
    }
    slots_[hole] = kEmpty;
  }

  std::vector<std::uint64_t> order_;  ///< ring, oldest at oldest_
  std::vector<std::uint64_t> slots_;
  std::size_t mask_;
  int shift_;
  std::size_t oldest_ = 0;
  std::size_t size_ = 0;
  bool has_empty_value_ = false;
};

}  // namespace screener::signals
