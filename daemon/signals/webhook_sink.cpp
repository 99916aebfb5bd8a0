// SPDX-License-Identifier: Apache-2.0
#include "daemon/signals/webhook_sink.hpp"

#include "common/log_throttle.hpp"
#include "common/signal_id.hpp"
#include "daemon/net/http_post.hpp"
#include "daemon/net/tls.hpp"
#include "daemon/net/url.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace screener::signals {

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kMaxRetryAfter{600'000};

class WebhookSink final : public SignalSink {
 public:
  WebhookSink(const config::SinkConfig& config, net::Url url, std::shared_ptr<asio::ssl::context> tls)
      : config_(config), url_(std::move(url)), tls_(std::move(tls)), timer_(io_) {
    // The URL may carry a token: logs name the sink and the origin only.
    where_ = fmt::format("webhook sink '{}' ({}://{}:{})", config_.name, url_.tls ? "https" : "http", url_.host,
                         url_.port);
    capacity_ = std::max(1.0, config_.max_per_minute / 10.0);
    tokens_ = capacity_;
    refill_per_ms_ = config_.max_per_minute / 60'000.0;
  }
  ~WebhookSink() override { stop(); }
  WebhookSink(const WebhookSink&) = delete;
  WebhookSink& operator=(const WebhookSink&) = delete;

  [[nodiscard]] const std::string& name() const noexcept override { return config_.name; }

  void start() override {
    if (thread_.joinable()) return;
    stopped_.store(false);
    last_refill_ = Clock::now();
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(io_);
      io_.run();
    });
    spdlog::info("{}: delivering signals", where_);
  }

  void stop() noexcept override {
    if (!thread_.joinable()) return;
    stopped_.store(true);
    io_.stop();
    thread_.join();
    std::size_t left = 0;
    {
      const std::lock_guard lock(mutex_);
      left = queue_.size() + (current_ ? 1 : 0);
      dropped_ += left;
      queue_.clear();
    }
    if (left > 0) spdlog::warn("{}: stopped with {} signals undelivered (they are in the record)", where_, left);
  }

  void enqueue(std::shared_ptr<const std::string> json, std::string_view) override {
    bool overflow = false;
    {
      const std::lock_guard lock(mutex_);
      ++enqueued_;
      if (stopped_.load()) {
        ++dropped_;
        return;
      }
      if (queue_.size() >= config_.queue) {
        queue_.pop_front();
        ++dropped_;
        overflow = true;
      }
      queue_.push_back(std::move(json));
      if (!wake_pending_) {
        wake_pending_ = true;
        asio::post(io_, [this] {
          {
            const std::lock_guard wake_lock(mutex_);
            wake_pending_ = false;
          }
          pump();
        });
      }
    }
    if (overflow) {
      if (std::uint64_t suppressed = 0; overflow_log_.allow(suppressed))
        spdlog::warn("{}: queue full ({} signals), dropped the oldest{}", where_, config_.queue,
                     suppressed_note(suppressed));
    }
  }

  [[nodiscard]] SinkStats stats() const override {
    const std::lock_guard lock(mutex_);
    return SinkStats{.name = config_.name,
                     .type = "webhook",
                     .enqueued = enqueued_,
                     .delivered = delivered_,
                     .failed = failed_,
                     .retries = retries_,
                     .dropped = dropped_,
                     .queued = queue_.size() + (current_ ? 1 : 0)};
  }

 private:
  /// io thread: starts the next delivery unless one is under way.
  void pump() {
    if (busy_ || stopped_.load()) return;
    {
      const std::lock_guard lock(mutex_);
      if (queue_.empty()) return;
    }
    const auto now = Clock::now();
    tokens_ = std::min(capacity_, tokens_ + std::chrono::duration<double, std::milli>(now - last_refill_).count() *
                                                refill_per_ms_);
    last_refill_ = now;
    if (tokens_ < 1.0) {
      busy_ = true;
      const auto wait = milliseconds(static_cast<std::int64_t>((1.0 - tokens_) / refill_per_ms_) + 1);
      timer_.expires_after(wait);
      timer_.async_wait([this](const boost::system::error_code& error) {
        busy_ = false;
        if (!error) pump();
      });
      return;
    }
    tokens_ -= 1.0;
    {
      const std::lock_guard lock(mutex_);
      current_ = std::move(queue_.front());
      queue_.pop_front();
    }
    busy_ = true;
    const auto id = signal_id_in_json(*current_);
    key_ = id ? format_signal_id(*id) : std::string();
    attempt(0);
  }

  void attempt(std::uint32_t number) {
    net::PostRequest request;
    request.url = url_;
    request.body = *current_;
    request.timeout = config_.timeout;
    if (!key_.empty()) request.headers.emplace_back("Idempotency-Key", key_);
    for (const auto& header : config_.headers) request.headers.push_back(header);
    net::http_post(io_, tls_, std::move(request),
                   [this, number](std::expected<net::PostReply, std::string> reply) { on_reply(number, std::move(reply)); });
  }

  void on_reply(std::uint32_t number, std::expected<net::PostReply, std::string> reply) {
    if (stopped_.load()) return;
    if (reply && reply->status >= 200 && reply->status < 300) {
      finish(true);
      return;
    }
    const bool retryable = !reply || reply->status >= 500 || reply->status == 429 || reply->status == 408;
    const std::string what = reply ? fmt::format("HTTP {}", reply->status) : reply.error();
    if (!retryable || number >= config_.retries) {
      if (std::uint64_t suppressed = 0; failure_log_.allow(suppressed))
        spdlog::error("{}: gave up on signal {} after {} attempt{}: {}{}", where_, key_, number + 1,
                      number == 0 ? "" : "s", what, suppressed_note(suppressed));
      finish(false);
      return;
    }
    const std::int64_t doubled = config_.backoff.count() * (std::int64_t{1} << std::min<std::uint32_t>(number, 30));
    milliseconds delay = std::min(config_.backoff_max, milliseconds(doubled));
    if (reply && reply->retry_after_s >= 0)
      delay = std::min(kMaxRetryAfter, milliseconds(reply->retry_after_s * 1000));
    spdlog::debug("{}: signal {} attempt {} failed ({}), retrying in {} ms", where_, key_, number + 1, what,
                  delay.count());
    {
      const std::lock_guard lock(mutex_);
      ++retries_;
    }
    timer_.expires_after(delay);
    timer_.async_wait([this, number](const boost::system::error_code& error) {
      if (!error && !stopped_.load()) attempt(number + 1);
    });
  }

  void finish(bool delivered) {
    {
      const std::lock_guard lock(mutex_);
      (delivered ? delivered_ : failed_) += 1;
      current_.reset();
    }
    busy_ = false;
    pump();
  }

  config::SinkConfig config_;
  net::Url url_;
  std::shared_ptr<asio::ssl::context> tls_;
  std::string where_;
  asio::io_context io_{1};
  asio::steady_timer timer_;
  std::thread thread_;
  std::atomic<bool> stopped_{true};

  mutable std::mutex mutex_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::shared_ptr<const std::string> current_;
  bool wake_pending_ = false;
  std::uint64_t enqueued_ = 0;
  std::uint64_t delivered_ = 0;
  std::uint64_t failed_ = 0;
  std::uint64_t retries_ = 0;
  std::uint64_t dropped_ = 0;
  LogThrottle overflow_log_;

  // io thread only.
  bool busy_ = false;
  std::string key_;
  double capacity_ = 1;
  double tokens_ = 1;
  double refill_per_ms_ = 0;
  Clock::time_point last_refill_{};
  LogThrottle failure_log_;
};

}  // namespace

std::unique_ptr<SignalSink> make_webhook_sink(const config::SinkConfig& config, const std::string& ca_file) {
  auto url = net::parse_url(config.url);
  if (!url) {
    // Never the URL itself when it came from the environment: it may hold a token.
    throw std::runtime_error(config.url_env.empty()
                                 ? fmt::format("sinks.{}.url: {}", config.name, url.error())
                                 : fmt::format("sinks.{}: the URL in {} is not valid", config.name, config.url_env));
  }
  std::shared_ptr<asio::ssl::context> tls;
  if (url->tls) {
    auto context = net::make_client_tls_context(net::TlsSettings{ca_file});
    if (!context) throw std::runtime_error(fmt::format("sinks.{}: TLS: {}", config.name, context.error()));
    tls = *context;
  }
  return std::make_unique<WebhookSink>(config, std::move(*url), std::move(tls));
}

}  // namespace screener::signals
