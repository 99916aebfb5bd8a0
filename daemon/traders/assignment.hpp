// SPDX-License-Identifier: Apache-2.0
#pragma once

// Which worker runs which trader: rendezvous (highest random weight) hashing of the trader's name
// over the indexes of the connected workers. Every trader has exactly one owner; when a worker
// joins or leaves, only the traders that hash to it move (about 1/N of them), so the others keep
// their warm indicator state. No workers: every trader is kUnassigned until one connects.

#include <cstdint>
#include <span>
#include <string_view>

#include "common/segment_layout.hpp"
#include "common/signal_id.hpp"

namespace screener::traders {

[[nodiscard]] constexpr std::uint64_t assignment_weight(std::string_view trader, std::uint32_t worker) noexcept {
  // splitmix64 finaliser over the name's hash and the index: FNV-1a alone mixes the last bytes poorly.
  std::uint64_t z = fnv1a64(trader) ^ (0x9e3779b97f4a7c15ULL * (std::uint64_t{worker} + 1));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// The owner of `trader` among `workers` (their indexes), or shm::kUnassigned if there is none.
[[nodiscard]] constexpr std::uint32_t assign_owner(std::string_view trader, std::span<const std::uint32_t> workers) noexcept {
  std::uint32_t owner = shm::kUnassigned;
  std::uint64_t best = 0;
  for (const std::uint32_t w : workers) {
    const std::uint64_t weight = assignment_weight(trader, w);
    if (owner == shm::kUnassigned || weight > best || (weight == best && w < owner)) {
      owner = w;
      best = weight;
    }
  }
  return owner;
}

}  // namespace screener::traders
