// SPDX-License-Identifier: Apache-2.0
#pragma once

// Shared pieces of the indicator library (namespace screener::ta): TA-Lib 0.6.x's zero test, the
// true range and typical price exactly as TA-Lib evaluates them, a fixed-capacity ring window and a
// monotonic window for rolling extremes, and warm_up() to build an incremental state from history.
//
// Every indicator comes in two forms that agree bit for bit:
//  - batch: inputs as spans (one per field), outputs written to caller spans of the same length,
//    NaN before the lookback, seeded at index 0 of the given input, returns the lookback;
//  - incremental: a state with update() (O(1) per bar, amortised for rolling extremes; CCI is O(n)),
//    ready() and value(); after k updates value() equals the batch output at index k - 1, because
//    both perform the same floating-point operations in the same order.

#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <vector>

#include "common/segment_layout.hpp"

namespace screener::ta {

/// TA_EPSILON of TA-Lib 0.6.x (0.4.0 used 1e-8, which zeroes the variance of sub-cent coins).
inline constexpr double kEpsilon = 1e-14;
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// TA_IS_ZERO: |v| < 1e-14.
[[nodiscard]] constexpr bool is_zero(double v) noexcept { return -kEpsilon < v && v < kEpsilon; }
/// TA_IS_ZERO_OR_NEG: v < 1e-14.
[[nodiscard]] constexpr bool is_zero_or_neg(double v) noexcept { return v < kEpsilon; }

/// TA-Lib's TRUE_RANGE macro: max(H - L, |H - C_prev|, |L - C_prev|), compared in that order.
[[nodiscard]] inline double true_range(double high, double low, double prev_close) noexcept {
  double out = high - low;
  const double up = std::fabs(high - prev_close);
  if (up > out) out = up;
  const double down = std::fabs(low - prev_close);
  if (down > out) out = down;
  return out;
}

/// (H + L + C) / 3, as TA-Lib's CCI and MFI evaluate it (left to right).
[[nodiscard]] constexpr double typical_price(double high, double low, double close) noexcept {
  return (high + low + close) / 3.0;
}

namespace detail {

/// Fills out[0, end) with NaN (end clamped to out.size()).
inline void fill_nan(std::span<double> out, std::size_t end) noexcept {
  if (end > out.size()) end = out.size();
  for (std::size_t i = 0; i < end; ++i) out[i] = kNaN;
}

/// The last `capacity` values pushed, in slots of a fixed array: value number k (0-based) lives in
/// slot k % capacity. TA-Lib's CIRCBUF fills slots the same way, which matters where it sums the
/// buffer in slot order (CCI).
class Ring {
 public:
  Ring() = default;
  explicit Ring(std::size_t capacity) : slots_(capacity, 0.0) {}

  /// Stores `v` and returns the value it overwrote (0.0 while fewer than capacity were pushed).
  double push(double v) noexcept {
    double& slot = slots_[next_];
    const double old = slot;
    slot = v;
    if (++next_ == slots_.size()) next_ = 0;
    ++count_;
    return old;
  }
  /// The value pushed `age` pushes ago (0: the latest); age < capacity.
  [[nodiscard]] double back(std::size_t age) const noexcept {
    const std::size_t n = slots_.size();
    return slots_[(next_ + n - 1 - age) % n];
  }
  /// The oldest value still held once full (pushed capacity - 1 pushes ago).
  [[nodiscard]] double oldest() const noexcept { return slots_[next_]; }
  [[nodiscard]] std::span<const double> slots() const noexcept { return slots_; }
  [[nodiscard]] std::size_t count() const noexcept { return count_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return slots_.size(); }

 private:
  std::vector<double> slots_;
  std::size_t next_ = 0;
  std::size_t count_ = 0;
};

/// Maximum (Greater = true) or minimum of the last `window` values with a monotonic deque kept in a
/// fixed ring: amortised O(1) per push, no allocation after construction. The value is exact (it is
/// one of the inputs), so it equals TA-Lib's rescanning tracker whatever the ties.
template <bool Greater>
class MonotonicWindow {
 public:
  MonotonicWindow() = default;
  explicit MonotonicWindow(std::size_t window) : window_(window), idx_(window), val_(window) {}

  void push(double v) noexcept {
    const std::size_t cap = window_;
    // Drop from the back every value the new one dominates: it can never be the extreme again.
    while (size_ > 0) {
      const std::size_t last = (head_ + size_ - 1) % cap;
      if (Greater ? !(val_[last] > v) : !(val_[last] < v)) {
        --size_;
      } else {
        break;
      }
    }
    // Expire the front when it left the window.
    if (size_ > 0 && idx_[head_] + window_ <= count_) {
      head_ = (head_ + 1) % cap;
      --size_;
    }
    const std::size_t pos = (head_ + size_) % cap;
    idx_[pos] = count_;
    val_[pos] = v;
    ++size_;
    ++count_;
  }
  [[nodiscard]] double value() const noexcept { return val_[head_]; }
  [[nodiscard]] std::size_t count() const noexcept { return count_; }

 private:
  std::size_t window_ = 1;
  std::vector<std::size_t> idx_;
  std::vector<double> val_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
  std::size_t count_ = 0;
};

}  // namespace detail

/// Builds an incremental state from history: feeds every element of `history` to `state.update`.
/// The result equals the batch form over `history` at its last index.
template <class State, class Input>
[[nodiscard]] State warm_up(State state, std::span<const Input> history) noexcept {
  for (const Input& x : history) state.update(x);
  return state;
}

}  // namespace screener::ta
