// SPDX-License-Identifier: Apache-2.0
#pragma once

// The only accessors through which any process touches a shared word of the segment.
// Every memory_order in the project lives in this header, so `grep -n "_acquire\|_release"`
// finds every ordering decision (the Aeron AERON_GET_ACQUIRE / AERON_SET_RELEASE discipline).
//
// The segment's structs stay plain PODs; atomicity is applied per access with std::atomic_ref.
// Readers map the segment PROT_READ: an 8-byte aligned atomic load is a plain `mov` on x86-64
// and never writes, which is why loads take a const pointer and cast the const away here only.

#include <atomic>
#include <bit>
#include <cstdint>
#include <type_traits>

namespace screener::shm {

static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic_ref<std::uint32_t>::is_always_lock_free);
static_assert(std::atomic_ref<double>::is_always_lock_free);
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

template <class T>
concept SharedWord = (std::is_same_v<T, std::uint64_t> || std::is_same_v<T, std::int64_t> ||
                      std::is_same_v<T, std::uint32_t> || std::is_same_v<T, std::int32_t> ||
                      std::is_same_v<T, double>);

namespace detail {
template <SharedWord T>
[[nodiscard]] inline std::atomic_ref<T> ref(const T* word) noexcept {
  // NOLINTJUSTIFICATION atomic_ref<const T> does not exist before C++26; loads never write.
  return std::atomic_ref<T>(*const_cast<T*>(word));  // NOLINT(cppcoreguidelines-pro-type-const-cast)
}
}  // namespace detail

template <SharedWord T>
[[nodiscard]] inline T load_acquire(const T* word) noexcept {
  return detail::ref(word).load(std::memory_order_acquire);
}

template <SharedWord T>
[[nodiscard]] inline T load_relaxed(const T* word) noexcept {
  return detail::ref(word).load(std::memory_order_relaxed);
}

template <SharedWord T>
inline void store_release(T* word, T value) noexcept {
  std::atomic_ref<T>(*word).store(value, std::memory_order_release);
}

template <SharedWord T>
inline void store_relaxed(T* word, T value) noexcept {
  std::atomic_ref<T>(*word).store(value, std::memory_order_relaxed);
}

template <SharedWord T>
inline T fetch_add_release(T* word, T delta) noexcept {
  return std::atomic_ref<T>(*word).fetch_add(delta, std::memory_order_release);
}

}  // namespace screener::shm
