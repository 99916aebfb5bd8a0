// SPDX-License-Identifier: Apache-2.0
#include "daemon/ingest/rest_budget.hpp"

#include <algorithm>
#include <cmath>

namespace screener::ingest {

namespace {
using std::chrono::duration_cast;
using std::chrono::milliseconds;
constexpr std::int64_t kDefaultRetryAfterS = 60;  // a 429/418 without Retry-After
constexpr milliseconds kMinuteSlack{250};         // the exchange's minute may turn a little late
}  // namespace

void RestBudget::set_limit(std::int64_t limit_per_minute, double share) noexcept {
  allowance_ = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::floor(static_cast<double>(limit_per_minute) * share)));
}

RestBudget::WallClock::time_point RestBudget::minute_of(WallClock::time_point t) noexcept {
  return std::chrono::floor<std::chrono::minutes>(t);
}

void RestBudget::roll(WallClock::time_point now) noexcept {
  const auto minute = minute_of(now);
  if (minute != minute_) {
    minute_ = minute;
    used_in_minute_ = 0;
  }
}

std::int64_t RestBudget::used(WallClock::time_point now) const noexcept {
  return minute_of(now) == minute_ ? used_in_minute_ : 0;
}

std::chrono::milliseconds RestBudget::delay(int weight, WallClock::time_point now) const noexcept {
  const auto hold = std::max(hold_until_, banned_until_);
  if (now < hold) return duration_cast<milliseconds>(hold - now) + milliseconds(1);
  if (used(now) + weight <= allowance_) return milliseconds(0);
  return duration_cast<milliseconds>(minute_of(now) + std::chrono::minutes(1) - now) + kMinuteSlack;
}

void RestBudget::on_sent(int weight, WallClock::time_point now) noexcept {
  roll(now);
  used_in_minute_ += weight;
}

void RestBudget::on_used_weight(std::int64_t used, WallClock::time_point now) noexcept {
  if (used < 0) return;
  roll(now);
  // The exchange's count includes requests of other clients on this IP: trust the larger.
  used_in_minute_ = std::max(used_in_minute_, used);
}

void RestBudget::on_too_many_requests(std::int64_t retry_after_s, WallClock::time_point now) noexcept {
  ++throttled_;
  hold_until_ = std::max(hold_until_, now + std::chrono::seconds(retry_after_s >= 0 ? retry_after_s : kDefaultRetryAfterS));
}

void RestBudget::on_banned(std::int64_t retry_after_s, WallClock::time_point now) noexcept {
  ++bans_;
  banned_until_ =
      std::max(banned_until_, now + std::chrono::seconds(retry_after_s >= 0 ? retry_after_s : kDefaultRetryAfterS));
}

}  // namespace screener::ingest
