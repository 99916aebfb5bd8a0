// SPDX-License-Identifier: Apache-2.0
#include "daemon/app/ingest_service.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "daemon/ingest/universe.hpp"
#include "daemon/net/tls.hpp"

namespace screener::app {

namespace {
using std::chrono::milliseconds;
constexpr int kStartAttempts = 10;                 // exchangeInfo at start: then give up and exit
constexpr std::size_t kBackfillConnections = 4;    // REST requests in flight
constexpr int kExchangeInfoWeight = 20;
constexpr int kAllTickersWeight = 80;

net::Url url_or_throw(const std::string& text, const char* key) {
  auto url = net::parse_url(text);
  if (!url) throw std::runtime_error(fmt::format("{}: {}", key, url.error()));
  return *url;
}
}  // namespace

IngestService::IngestService(boost::asio::io_context& io, shm::SegmentWriter& writer,
                             const config::ScreenerConfig& config, std::optional<ingest::Recorder> recorder)
    : io_(io), writer_(writer), config_(config), scheduler_(io), recorder_(std::move(recorder)), registry_(writer) {
  const net::Url rest = url_or_throw(config.exchange.rest_url, "exchange.rest_url");
  const net::Url ws = url_or_throw(config.exchange.ws_url, "exchange.ws_url");
  std::shared_ptr<boost::asio::ssl::context> tls;
  if (rest.tls || ws.tls) {
    auto context = net::make_client_tls_context(net::TlsSettings{config.exchange.ca_file});
    if (!context) throw std::runtime_error("exchange.ca_file: " + context.error());
    tls = *context;
  }
  control_rest_ = net::HttpClient::create(io, rest, tls);
  std::vector<std::shared_ptr<net::HttpClient>> clients;
  for (std::size_t i = 0; i < kBackfillConnections; ++i) clients.push_back(net::HttpClient::create(io, rest, tls));

  ingest::BackfillOptions backfill_options;
  backfill_options.depth = config.market.depth;
  backfill_ = std::make_unique<ingest::Backfill>(scheduler_, std::move(clients), budget_, registry_, backfill_options);
  market_ = std::make_unique<ingest::MarketWriter>(writer_, registry_, *backfill_);
  backfill_->attach(*market_, [this] { publish(); });

  ingest::FeedOptions feed_options;
  feed_options.ws_base = ws;
  feed_options.streams_per_connection = config.ingest.streams_per_connection;
  feed_options.watchdog = config.ingest.watchdog;
  feed_options.rotate_after = config.ingest.rotate_after;
  feed_options.reconnect_min = config.ingest.reconnect_min;
  feed_options.reconnect_max = config.ingest.reconnect_max;
  feed_options.max_connects_per_5min = config.ingest.max_connects_per_5min;
  feeds_ = std::make_unique<ingest::FeedManager>(
      io, tls, scheduler_, *market_, registry_, feed_options, [this] { publish(); },
      [this](ingest::Scheduler::Clock::duration delay) noexcept {
        frame_to_publish_.observe(std::chrono::duration<double>(delay).count());
      });
  if (recorder_) feeds_->record_to(&*recorder_);
  budget_.set_limit(1200, config.ingest.rest_weight_share);  // until exchangeInfo states the real limit
}

IngestService::~IngestService() { stop(); }

void IngestService::start(std::function<void(const std::string&)> on_fatal) {
  on_fatal_ = std::move(on_fatal);
  heartbeat();
  log_stats();
  fetch_exchange_info(1);
}

void IngestService::stop() {
  if (!*alive_) return;
  *alive_ = false;
  if (feeds_) feeds_->stop();
  if (recorder_) recorder_->flush();
}

void IngestService::publish() { writer_.publish(); }

void IngestService::heartbeat() {
  writer_.heartbeat();
  writer_.publish();
  watchdog_.kick();
  scheduler_.after(milliseconds(100), [this, alive = std::weak_ptr<bool>(alive_)] {
    if (!alive.expired() && *alive.lock()) heartbeat();
  });
}

void IngestService::retry_start(int attempt, const std::string& what, std::function<void(int)> again) {
  if (attempt >= kStartAttempts) {
    if (on_fatal_) on_fatal_(fmt::format("{} failed {} times; giving up", what, attempt));
    return;
  }
  const milliseconds delay(std::min<std::int64_t>(30'000, 1000LL << std::min(attempt - 1, 5)));
  spdlog::warn("{}; attempt {} of {} in {} ms", what, attempt + 1, kStartAttempts, delay.count());
  scheduler_.after(delay, [again = std::move(again), attempt, alive = std::weak_ptr<bool>(alive_)] {
    if (!alive.expired() && *alive.lock()) again(attempt + 1);
  });
}

void IngestService::fetch_exchange_info(int attempt) {
  budget_.on_sent(kExchangeInfoWeight, scheduler_.wall_now());
  ++control_requests_;
  control_rest_->get("/api/v3/exchangeInfo", [this, attempt, alive = std::weak_ptr<bool>(alive_)](net::HttpResult result) {
    if (alive.expired() || !*alive.lock()) return;
    // At start-up a failure is retried a bounded number of times; later, the next refresh retries.
    auto fail = [&](const std::string& what) {
      if (started_) {
        spdlog::warn("exchangeInfo refresh: {}", what);
        schedule_refresh();
      } else {
        retry_start(attempt, "exchangeInfo: " + what, [this](int next) { fetch_exchange_info(next); });
      }
    };
    if (!result) return fail(result.error());
    const auto now = scheduler_.wall_now();
    budget_.on_used_weight(result->used_weight_1m, now);
    if (result->status == 429) budget_.on_too_many_requests(result->retry_after_s, now);
    if (result->status == 418) budget_.on_banned(result->retry_after_s, now);
    if (result->status != 200) return fail(fmt::format("HTTP {} {}", result->status, result->body.substr(0, 200)));
    on_exchange_info(result->body);
  });
}

void IngestService::on_exchange_info(const std::string& body) {
  auto info = feed::parse_exchange_info(body);
  if (!info) {
    spdlog::error("exchangeInfo is unusable: {}", info.error());
    if (!started_) {
      if (on_fatal_) on_fatal_("exchangeInfo is unusable: " + info.error());
      return;
    }
    return schedule_refresh();
  }
  if (info->request_weight_per_minute > 0) budget_.set_limit(info->request_weight_per_minute, config_.ingest.rest_weight_share);

  if (started_) {
    std::set<std::string> followed;
    for (std::uint32_t slot = 0; slot < registry_.names().size(); ++slot)
      if (registry_.active(slot)) followed.insert(registry_.names()[slot]);
    const auto change = ingest::diff_universe(*info, followed, known_symbols_, retired_symbols_, config_.universe);
    for (const auto& gone : change.retire) {
      registry_.retire(gone.symbol, gone.status);
      retired_symbols_.insert(gone.symbol);
      spdlog::warn("{} is no longer trading ({}): its streams are dropped, its data kept",
                   gone.symbol, static_cast<int>(gone.status));
    }
    for (const auto& listing : change.add) retired_symbols_.erase(listing.symbol);
    known_symbols_.clear();
    for (const auto& listing : info->symbols) known_symbols_.insert(listing.symbol);
    follow(change.add);
    return schedule_refresh();
  }

  for (const auto& listing : info->symbols) known_symbols_.insert(listing.symbol);
  if (!config_.universe.symbols.empty()) {
    started_ = true;
    auto choice = ingest::choose_universe(*info, {}, config_.universe);
    for (const auto& warning : choice.warnings) spdlog::warn("{}", warning);
    follow(choice.follow);
    return schedule_refresh();
  }
  fetch_tickers(std::move(*info), 1);
}

void IngestService::fetch_tickers(feed::ExchangeInfo info, int attempt) {
  budget_.on_sent(kAllTickersWeight, scheduler_.wall_now());
  ++control_requests_;
  auto on_reply = [this, info = std::move(info), attempt, alive = std::weak_ptr<bool>(alive_)](net::HttpResult result) {
    if (!alive.expired() && *alive.lock()) on_tickers(info, std::move(result), attempt);
  };
  control_rest_->get("/api/v3/ticker/24hr?type=MINI", std::move(on_reply));
}

void IngestService::on_tickers(const feed::ExchangeInfo& info, net::HttpResult result, int attempt) {
  auto again = [this, info](int next) { fetch_tickers(info, next); };
  if (!result) return retry_start(attempt, "ticker/24hr: " + result.error(), again);
  budget_.on_used_weight(result->used_weight_1m, scheduler_.wall_now());
  if (result->status != 200) return retry_start(attempt, fmt::format("ticker/24hr: HTTP {}", result->status), again);
  auto tickers = feed::parse_ticker_24hr(result->body);
  if (!tickers) return retry_start(attempt, "ticker/24hr is unusable: " + tickers.error(), again);
  started_ = true;
  const auto choice = ingest::choose_universe(info, *tickers, config_.universe);
  for (const auto& warning : choice.warnings) spdlog::warn("{}", warning);
  spdlog::info("universe: the top {} TRADING symbols quoted in {} by 24 h quote volume ({} listed in all)",
               choice.follow.size(), config_.universe.quote_asset, info.symbols.size());
  follow(choice.follow);
  schedule_refresh();
}

void IngestService::follow(const std::vector<ingest::SymbolListing>& listings) {
  std::size_t added = 0;
  for (const auto& listing : listings) {
    const bool already = registry_.find(listing.symbol).has_value();
    const auto slot = registry_.upsert(listing);
    if (!slot) {
      spdlog::error("symbol table full ({} slots, segment.max_symbols): {} is not followed", registry_.capacity(),
                    listing.symbol);
      continue;
    }
    if (already) continue;
    ++added;
    for (std::uint32_t i = 0; i < market_->interval_count(); ++i) backfill_->initialise(*slot, i);
  }
  std::vector<std::uint32_t> active;
  for (std::uint32_t slot = 0; slot < registry_.names().size(); ++slot)
    if (registry_.active(slot)) active.push_back(slot);
  if (added > 0)
    spdlog::info("following {} symbols ({} new) x {} intervals; backfilling {} bars per ring", active.size(), added,
                 market_->interval_count(), config_.market.depth);
  feeds_->set_symbols(active);
  publish();
}

void IngestService::schedule_refresh() {
  scheduler_.after(std::chrono::duration_cast<milliseconds>(config_.universe.refresh),
                   [this, alive = std::weak_ptr<bool>(alive_)] {
                     if (!alive.expired() && *alive.lock()) refresh();
                   });
}

void IngestService::refresh() { fetch_exchange_info(1); }

void IngestService::fill_stats(DaemonStats& stats, std::chrono::system_clock::time_point now) const {
  const auto& feed = feeds_->stats();
  const auto& parse = feeds_->parse_stats();
  const auto& market = market_->stats();
  const auto& backfill = backfill_->stats();
  stats.frames_total = feed.frames;
  stats.frames_kline = parse.count(feed::FrameKind::Kline);
  stats.frames_ticker = parse.count(feed::FrameKind::MiniTickers);
  stats.frames_other = parse.frames - std::min(parse.frames, stats.frames_kline + stats.frames_ticker);
  stats.parse_errors_total = parse.count(feed::FrameOutcome::Rejected);
  stats.parse_errors_by_reason = parse.by_reason;
  stats.connects = feed.connects;
  stats.reconnects = feed.reconnects;
  stats.rotations = feed.rotations;
  stats.closed_bars = market.closed_bars;
  stats.backfilled_bars = market.backfilled_bars;
  stats.gaps_detected = market.gaps_detected;
  stats.rest_requests = backfill.requests + control_requests_;
  stats.rest_429 = budget_.throttled();
  stats.rest_418 = budget_.bans();
  stats.rest_weight_used = budget_.used(now);
  stats.rest_weight_limit = budget_.allowance();
  stats.symbols_active = static_cast<std::uint32_t>(registry_.active_count());
  stats.rings_total = static_cast<std::uint32_t>(registry_.active_count() * market_->interval_count());
  stats.rings_complete = static_cast<std::uint32_t>(market_->complete_rings());
  const auto steady_now = std::chrono::steady_clock::now();
  for (const ingest::ConnectionStatus& c : feeds_->connections()) {
    ConnectionStats out;
    out.id = c.id;
    out.streams = static_cast<std::uint32_t>(c.streams);
    out.open = c.open;
    out.frames = c.frames;
    if (c.last_frame != std::chrono::steady_clock::time_point{})
      out.last_frame_unix_ms = unix_ms(now - std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                                   steady_now - c.last_frame));
    stats.connections.push_back(out);
  }
}

void IngestService::log_stats() {
  scheduler_.after(milliseconds(60'000), [this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired() || !*alive.lock()) return;
    const auto& feed = feeds_->stats();
    const auto& parse = feeds_->parse_stats();
    const auto& market = market_->stats();
    const auto& backfill = backfill_->stats();
    spdlog::info("frames {} (rejected {}), closed bars {}, gaps {}, backfilled {} in {} requests (queued {}), "
                 "complete rings {}/{}, reconnects {}, rotations {}, REST weight {}/{}",
                 feed.frames, parse.count(feed::FrameOutcome::Rejected), market.closed_bars, market.gaps_detected,
                 market.backfilled_bars, backfill.requests, backfill_->queued(), market_->complete_rings(),
                 registry_.active_count() * market_->interval_count(), feed.reconnects, feed.rotations,
                 budget_.used(scheduler_.wall_now()), budget_.allowance());
    if (recorder_) recorder_->flush();
    log_stats();
  });
}

}  // namespace screener::app
