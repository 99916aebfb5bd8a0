// SPDX-License-Identifier: Apache-2.0
#pragma once

// Binance's REST request-weight accounting: a weight budget per client IP and wall-clock minute,
// 429 with Retry-After when a request would exceed it, and an IP ban (418) for a client that keeps
// asking after being told to back off. Time is passed in, so tests need no clock.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace screener::replay {

struct RestLimits {
  int weight_per_minute = 6000;
  int ban_after_429s = 3;             ///< 429s answered in a minute before the next violation bans
  std::int64_t ban_ms = 120'000;
};

/// What to answer one request.
struct RestVerdict {
  enum class Kind { Serve, TooMany, Banned } kind = Kind::Serve;
  int used_weight = 0;                ///< X-MBX-USED-WEIGHT-1M after this request
  std::int64_t retry_after_s = 0;     ///< for TooMany and Banned
  std::int64_t banned_until_ms = 0;   ///< for Banned
};

class RestLimiter {
 public:
  explicit RestLimiter(RestLimits limits) : limits_(limits) {}

  /// Accounts a request of `weight` from `client` at wall time `now_ms`: served (and charged), or
  /// refused without charge.
  RestVerdict admit(std::string_view client, int weight, std::int64_t now_ms);

  /// Weight used by `client` in the minute of `now_ms`.
  [[nodiscard]] int used_weight(std::string_view client, std::int64_t now_ms) const;
  /// Weight used by every client in the minute of `now_ms`.
  [[nodiscard]] int total_used_weight(std::int64_t now_ms) const;

  [[nodiscard]] const RestLimits& limits() const noexcept { return limits_; }

  /// Body of a 429 or 418 answer, with Binance's wording.
  [[nodiscard]] std::string error_body(const RestVerdict& verdict) const;

  /// Seconds until the wall-clock minute of `now_ms` ends (at least 1).
  [[nodiscard]] static std::int64_t seconds_to_minute_end(std::int64_t now_ms) noexcept;

 private:
  struct Bucket {
    std::int64_t minute = -1;         ///< now_ms / 60000 of `used` and `refusals`
    int used = 0;
    int refusals = 0;                 ///< 429s answered in this minute
    std::int64_t banned_until_ms = 0;
  };
  Bucket& bucket_for(std::string_view client, std::int64_t now_ms);

  RestLimits limits_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace screener::replay
