// SPDX-License-Identifier: Apache-2.0
#pragma once

// Paces REST requests against the exchange's per-IP weight limit, which Binance counts per
// calendar minute and reports in X-MBX-USED-WEIGHT-1M. Requests are held back once the share of
// the limit reserved for backfill is used; a 429 holds everything for its Retry-After; a 418
// (the IP is banned for ignoring 429s) stops all REST until the ban ends.

#include <chrono>
#include <cstdint>

namespace screener::ingest {

class RestBudget {
 public:
  using WallClock = std::chrono::system_clock;

  /// `limit_per_minute` from exchangeInfo's REQUEST_WEIGHT rate limit; `share` in (0, 1].
  void set_limit(std::int64_t limit_per_minute, double share) noexcept;

  /// How long to wait before a request of `weight` may be sent at `now`; zero if it may go now.
  [[nodiscard]] std::chrono::milliseconds delay(int weight, WallClock::time_point now) const noexcept;

  void on_sent(int weight, WallClock::time_point now) noexcept;
  /// A response's X-MBX-USED-WEIGHT-1M (ignored when negative).
  void on_used_weight(std::int64_t used, WallClock::time_point now) noexcept;
  void on_too_many_requests(std::int64_t retry_after_s, WallClock::time_point now) noexcept;  ///< 429
  void on_banned(std::int64_t retry_after_s, WallClock::time_point now) noexcept;             ///< 418

  [[nodiscard]] bool banned(WallClock::time_point now) const noexcept { return now < banned_until_; }
  [[nodiscard]] std::int64_t used(WallClock::time_point now) const noexcept;
  [[nodiscard]] std::int64_t allowance() const noexcept { return allowance_; }
  [[nodiscard]] std::uint64_t throttled() const noexcept { return throttled_; }   ///< 429s seen
  [[nodiscard]] std::uint64_t bans() const noexcept { return bans_; }             ///< 418s seen

 private:
  [[nodiscard]] static WallClock::time_point minute_of(WallClock::time_point t) noexcept;
  void roll(WallClock::time_point now) noexcept;

  std::int64_t allowance_ = 1200 * 8 / 10;
  WallClock::time_point minute_{};
  std::int64_t used_in_minute_ = 0;
  WallClock::time_point hold_until_{};
  WallClock::time_point banned_until_{};
  std::uint64_t throttled_ = 0;
  std::uint64_t bans_ = 0;
};

}  // namespace screener::ingest
