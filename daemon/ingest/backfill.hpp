// SPDX-License-Identifier: Apache-2.0
#pragma once

// Fetches closed bars over REST: each ring's initial history (up to the configured depth, in
// pages of at most 1000 bars), and the gaps MarketWriter reports. Requests are paced by the
// RestBudget and spread over a few kept-alive connections; failures are retried with backoff,
// a 429 or 418 holds every request for the exchange's Retry-After.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "daemon/ingest/market_writer.hpp"
#include "daemon/ingest/rest_budget.hpp"
#include "daemon/ingest/scheduler.hpp"
#include "daemon/ingest/symbol_registry.hpp"
#include "daemon/net/http_client.hpp"

namespace screener::ingest {

struct BackfillOptions {
  std::uint32_t depth = 1440;                          ///< closed bars wanted per ring
  int quick_attempts = 5;                              ///< retries with backoff before parking a job
  std::chrono::milliseconds retry_base{500};           ///< first backoff; doubles per attempt
  std::chrono::milliseconds park{60'000};              ///< a job that failed quick_attempts times waits this long
};

struct BackfillStats {
  std::uint64_t requests = 0;
  std::uint64_t failures = 0;        ///< transport errors and unexpected statuses
  std::uint64_t bad_bodies = 0;      ///< 200 responses that did not parse
  std::uint64_t rate_limited = 0;    ///< 429
  std::uint64_t banned = 0;          ///< 418
  std::uint64_t bars = 0;            ///< bars received
  std::uint64_t rings_initialised = 0;
};

class Backfill final : public GapFiller {
 public:
  Backfill(Scheduler& scheduler, std::vector<std::shared_ptr<net::HttpClient>> clients, RestBudget& budget,
           const SymbolRegistry& registry, BackfillOptions options);

  /// Set once MarketWriter exists (it needs this object as its GapFiller). `on_applied` runs
  /// after each response's bars are in the segment (publish).
  void attach(MarketWriter& market, std::function<void()> on_applied) {
    market_ = &market;
    on_applied_ = std::move(on_applied);
  }

  /// Fetches the newest `depth` closed bars of a ring, then tells MarketWriter it is initialised.
  void initialise(std::uint32_t symbol, std::uint32_t interval_index);
  void fill_gap(std::uint32_t symbol, std::uint32_t interval_index, std::int64_t from_ms, std::int64_t to_ms) override;

  [[nodiscard]] std::size_t queued() const noexcept { return queue_.size(); }
  [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_; }
  [[nodiscard]] const BackfillStats& stats() const noexcept { return stats_; }

 private:
  static constexpr int kKlinesWeight = 2;
  struct Job {
    enum class Kind { Initial, Range } kind;
    std::uint32_t symbol;
    std::uint32_t interval_index;
    std::int64_t from_ms = 0;          ///< Range: first open time wanted
    std::int64_t to_ms = 0;            ///< Range: open times before this; Initial: page before this (0: newest)
    std::uint32_t remaining = 0;       ///< Initial: bars still wanted
    int attempts = 0;
  };

  void pump();
  void send(Job job);
  void handle(Job job, net::HttpResult result);
  void retry(Job job, const std::string& why);
  [[nodiscard]] std::string target(const Job& job) const;

  Scheduler& scheduler_;
  std::vector<std::shared_ptr<net::HttpClient>> clients_;
  RestBudget& budget_;
  const SymbolRegistry& registry_;
  MarketWriter* market_ = nullptr;
  std::function<void()> on_applied_;
  BackfillOptions options_;
  std::deque<Job> queue_;
  std::size_t in_flight_ = 0;
  std::size_t next_client_ = 0;
  bool pump_scheduled_ = false;
  BackfillStats stats_;
};

}  // namespace screener::ingest
