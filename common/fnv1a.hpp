// SPDX-License-Identifier: Apache-2.0
#pragma once

// FNV-1a, 64 bits, over bytes: small, stable across builds and machines, good enough to key
// signals and to tell whether a trader file's text changed. Not for anything adversarial.

#include <cstdint>
#include <string_view>

namespace screener {

inline constexpr std::uint64_t kFnv1a64Offset = 14695981039346656037ULL;
inline constexpr std::uint64_t kFnv1a64Prime = 1099511628211ULL;

[[nodiscard]] constexpr std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t hash = kFnv1a64Offset) noexcept {
  for (const char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= kFnv1a64Prime;
  }
  return hash;
}

}  // namespace screener
