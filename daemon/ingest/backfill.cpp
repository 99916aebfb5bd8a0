// SPDX-License-Identifier: Apache-2.0
#include "daemon/ingest/backfill.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "daemon/feed/rest_parsers.hpp"

namespace screener::ingest {

namespace {
constexpr std::uint32_t kMaxKlinesPerRequest = 1000;
}

Backfill::Backfill(Scheduler& scheduler, std::vector<std::shared_ptr<net::HttpClient>> clients, RestBudget& budget,
                   const SymbolRegistry& registry, BackfillOptions options)
    : scheduler_(scheduler), clients_(std::move(clients)), budget_(budget), registry_(registry), options_(options) {}

void Backfill::initialise(std::uint32_t symbol, std::uint32_t interval_index) {
  Job job{Job::Kind::Initial, symbol, interval_index};
  job.remaining = options_.depth;
  queue_.push_back(job);
  pump();
}

void Backfill::fill_gap(std::uint32_t symbol, std::uint32_t interval_index, std::int64_t from_ms, std::int64_t to_ms) {
  Job job{Job::Kind::Range, symbol, interval_index};
  job.from_ms = from_ms;
  job.to_ms = to_ms;
  // Gaps are few and small, and a ring is incomplete until they are filled: serve them first.
  queue_.push_front(job);
  pump();
}

std::string Backfill::target(const Job& job) const {
  const std::string& symbol = registry_.names()[job.symbol];
  const auto interval = interval_name(market_->interval_at(job.interval_index));
  if (job.kind == Job::Kind::Range)
    return fmt::format("/api/v3/klines?symbol={}&interval={}&startTime={}&endTime={}&limit={}", symbol, interval,
                       job.from_ms, job.to_ms - 1, kMaxKlinesPerRequest);
  if (job.to_ms == 0)  // newest page: the exchange appends the still-open bar, so ask for one more
    return fmt::format("/api/v3/klines?symbol={}&interval={}&limit={}", symbol, interval,
                       std::min(job.remaining + 1, kMaxKlinesPerRequest));
  return fmt::format("/api/v3/klines?symbol={}&interval={}&endTime={}&limit={}", symbol, interval, job.to_ms - 1,
                     std::min(job.remaining, kMaxKlinesPerRequest));
}

void Backfill::pump() {
  if (market_ == nullptr) return;
  while (in_flight_ < clients_.size() && !queue_.empty()) {
    const auto wait = budget_.delay(kKlinesWeight, scheduler_.wall_now());
    if (wait.count() > 0) {
      if (!pump_scheduled_) {
        pump_scheduled_ = true;
        scheduler_.after(wait, [this] {
          pump_scheduled_ = false;
          pump();
        });
      }
      return;
    }
    Job job = queue_.front();
    queue_.pop_front();
    send(job);
  }
}

void Backfill::send(Job job) {
  if (!registry_.active(job.symbol)) return;  // delisted while queued
  ++stats_.requests;
  ++in_flight_;
  budget_.on_sent(kKlinesWeight, scheduler_.wall_now());
  auto& client = clients_[next_client_++ % clients_.size()];
  client->get(target(job), [this, job](net::HttpResult result) {
    --in_flight_;
    handle(job, std::move(result));
    pump();
  });
}

void Backfill::retry(Job job, const std::string& why) {
  ++stats_.failures;
  ++job.attempts;
  const std::string& symbol = registry_.names()[job.symbol];
  const auto interval = interval_name(market_->interval_at(job.interval_index));
  if (job.attempts >= options_.quick_attempts) {
    spdlog::error("backfill {} {}: {} ({} attempts); retrying in {} s", symbol, interval, why, job.attempts,
                  std::chrono::duration_cast<std::chrono::seconds>(options_.park).count());
    if (job.kind == Job::Kind::Range) {
      // The ring stays incomplete; the next live frame reports the gap again.
      market_->gap_fill_failed(job.symbol, job.interval_index);
      return;
    }
    job.attempts = 0;
    scheduler_.after(options_.park, [this, job] {
      queue_.push_back(job);
      pump();
    });
    return;
  }
  const auto backoff = options_.retry_base * (1 << std::min(job.attempts - 1, 10));
  spdlog::warn("backfill {} {}: {}; attempt {} in {} ms", symbol, interval, why, job.attempts + 1, backoff.count());
  scheduler_.after(backoff, [this, job] {
    queue_.push_front(job);
    pump();
  });
}

void Backfill::handle(Job job, net::HttpResult result) {
  const auto now = scheduler_.wall_now();
  if (!result) return retry(job, result.error());
  budget_.on_used_weight(result->used_weight_1m, now);
  const std::string& symbol = registry_.names()[job.symbol];
  if (result->status == 429) {
    ++stats_.rate_limited;
    budget_.on_too_many_requests(result->retry_after_s, now);
    spdlog::warn("REST rate limit hit (429): holding all requests for {} s", result->retry_after_s);
    queue_.push_front(job);
    return;
  }
  if (result->status == 418) {
    ++stats_.banned;
    budget_.on_banned(result->retry_after_s, now);
    spdlog::error("REST: this IP is banned by the exchange (418) for {} s; all REST requests stop until then",
                  result->retry_after_s);
    queue_.push_front(job);
    return;
  }
  if (result->status != 200) {
    const auto error = feed::parse_error_body(result->body);
    if (result->status == 400 && error && error->code == -1121) {
      spdlog::warn("backfill {}: the exchange no longer knows this symbol; dropped", symbol);
      return;
    }
    return retry(job, fmt::format("HTTP {}: {}", result->status, result->body.substr(0, 200)));
  }
  const Interval interval = market_->interval_at(job.interval_index);
  auto klines = feed::parse_klines_response(result->body, interval);
  if (!klines) {
    ++stats_.bad_bodies;
    return retry(job, "unusable klines response: " + klines.error());
  }
  std::vector<shm::Bar> bars;
  bars.reserve(klines->size());
  for (const auto& kline : *klines) bars.push_back(kline.bar);
  if (job.kind == Job::Kind::Initial && job.to_ms == 0 && !bars.empty()) bars.pop_back();  // the open bar
  if (job.kind == Job::Kind::Range) {
    std::erase_if(bars, [&](const shm::Bar& bar) { return bar.open_time_ms < job.from_ms || bar.open_time_ms >= job.to_ms; });
  }
  stats_.bars += bars.size();
  market_->apply_backfill(job.symbol, job.interval_index, bars);
  if (on_applied_) on_applied_();

  if (job.kind == Job::Kind::Range) {
    const bool full_page = klines->size() == kMaxKlinesPerRequest;
    if (full_page && !bars.empty() && next_bar_open_time(interval, bars.back().open_time_ms) < job.to_ms) {
      job.from_ms = next_bar_open_time(interval, bars.back().open_time_ms);
      job.attempts = 0;
      queue_.push_front(job);
      return;
    }
    market_->gap_fill_done(job.symbol, job.interval_index);
    return;
  }
  const std::uint32_t asked = job.to_ms == 0 ? std::min(job.remaining + 1, kMaxKlinesPerRequest)
                                             : std::min(job.remaining, kMaxKlinesPerRequest);
  const auto got = static_cast<std::uint32_t>(bars.size());
  job.remaining -= std::min(job.remaining, got);
  // A short page means the exchange has no older history.
  if (job.remaining > 0 && !bars.empty() && klines->size() == asked) {
    job.to_ms = bars.front().open_time_ms;
    job.attempts = 0;
    queue_.push_front(job);
    return;
  }
  ++stats_.rings_initialised;
  market_->initial_backfill_done(job.symbol, job.interval_index);
}

}  // namespace screener::ingest
