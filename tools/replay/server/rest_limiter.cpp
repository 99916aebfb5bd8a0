// SPDX-License-Identifier: Apache-2.0
#include "tools/replay/server/rest_limiter.hpp"

#include <fmt/format.h>

namespace screener::replay {

namespace {
constexpr std::int64_t kMinuteMs = 60'000;
}

std::int64_t RestLimiter::seconds_to_minute_end(std::int64_t now_ms) noexcept {
  const std::int64_t left_ms = kMinuteMs - now_ms % kMinuteMs;
  return (left_ms + 999) / 1000;
}

RestLimiter::Bucket& RestLimiter::bucket_for(std::string_view client, std::int64_t now_ms) {
  Bucket& bucket = buckets_[std::string(client)];
  const std::int64_t minute = now_ms / kMinuteMs;
  if (bucket.minute != minute) {
    bucket.minute = minute;
    bucket.used = 0;
    bucket.refusals = 0;
  }
  return bucket;
}

RestVerdict RestLimiter::admit(std::string_view client, int weight, std::int64_t now_ms) {
  Bucket& bucket = bucket_for(client, now_ms);
  RestVerdict verdict;
  verdict.used_weight = bucket.used;
  if (bucket.banned_until_ms > now_ms) {
    verdict.kind = RestVerdict::Kind::Banned;
    verdict.banned_until_ms = bucket.banned_until_ms;
    verdict.retry_after_s = (bucket.banned_until_ms - now_ms + 999) / 1000;
    return verdict;
  }
  if (bucket.used + weight <= limits_.weight_per_minute) {
    bucket.used += weight;
    verdict.used_weight = bucket.used;
    return verdict;
  }
  // Over the limit. The first refusals of the minute are 429s; asking again after
  // `ban_after_429s` of them is what Binance bans an IP for.
  if (bucket.refusals >= limits_.ban_after_429s) {
    bucket.banned_until_ms = now_ms + limits_.ban_ms;
    verdict.kind = RestVerdict::Kind::Banned;
    verdict.banned_until_ms = bucket.banned_until_ms;
    verdict.retry_after_s = (limits_.ban_ms + 999) / 1000;
    return verdict;
  }
  ++bucket.refusals;
  verdict.kind = RestVerdict::Kind::TooMany;
  verdict.retry_after_s = seconds_to_minute_end(now_ms);
  return verdict;
}

int RestLimiter::used_weight(std::string_view client, std::int64_t now_ms) const {
  const auto found = buckets_.find(std::string(client));
  if (found == buckets_.end() || found->second.minute != now_ms / kMinuteMs) return 0;
  return found->second.used;
}

int RestLimiter::total_used_weight(std::int64_t now_ms) const {
  int total = 0;
  for (const auto& [client, bucket] : buckets_)
    if (bucket.minute == now_ms / kMinuteMs) total += bucket.used;
  return total;
}

std::string RestLimiter::error_body(const RestVerdict& verdict) const {
  if (verdict.kind == RestVerdict::Kind::Banned)
    return fmt::format(
        R"({{"code":-1003,"msg":"Way too much request weight used; IP banned until {}. Please use WebSocket Streams for live updates to avoid bans."}})",
        verdict.banned_until_ms);
  return fmt::format(
      R"({{"code":-1003,"msg":"Too much request weight used; current limit is {} request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."}})",
      limits_.weight_per_minute);
}

}  // namespace screener::replay
