// SPDX-License-Identifier: Apache-2.0
#include "daemon/ingest/feed_manager.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <unordered_map>

#include "common/clock.hpp"

namespace screener::ingest {

namespace {
using Clock = Scheduler::Clock;
using std::chrono::duration_cast;
using std::chrono::milliseconds;
constexpr auto kConnectWindow = std::chrono::minutes(5);
}  // namespace

struct FeedManager::Slot {
  std::uint32_t id = 0;
  std::vector<std::string> streams;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> rings;  ///< (symbol, interval index) of its klines
  std::shared_ptr<net::WsConnection> current;
  std::shared_ptr<net::WsConnection> replacement;
  std::uint64_t current_generation = 0;
  std::uint64_t replacement_generation = 0;
  std::uint64_t next_generation = 1;
  std::map<std::uint64_t, int> pending_acks;  ///< generation -> SUBSCRIBE replies still due
  std::map<std::uint64_t, bool> got_data;     ///< generation -> a market frame arrived
  int failures = 0;
  bool reconnect_scheduled = false;
  bool ever_connected = false;
  std::uint64_t frames = 0;
  Clock::time_point last_frame{};
};

/// Routes parsed frames to the market, and connection-level events to the slot they came on.
class FeedManager::Router final : public feed::FrameHandler {
 public:
  explicit Router(FeedManager& owner) : owner_(owner) {}
  void set_source(Slot* slot, std::uint64_t generation) noexcept {
    slot_ = slot;
    generation_ = generation;
  }
  void on_kline(const feed::KlineUpdate& update) noexcept override {
    owner_.market_.apply_kline(update);
    market_frame_ = true;
  }
  void on_mini_tickers(std::span<const feed::MiniTickerUpdate> updates) noexcept override {
    owner_.market_.apply_mini_tickers(updates);
    market_frame_ = true;
  }
  void on_server_shutdown(std::int64_t) noexcept override {
    ++owner_.stats_.server_shutdowns;
    spdlog::warn("connection {}: the exchange announced serverShutdown: rotating", slot_->id);
    owner_.rotate(*slot_, "serverShutdown");
  }
  void on_control_reply(const feed::ControlReply& reply) noexcept override {
    if (!reply.ok) {
      ++owner_.stats_.control_errors;
      spdlog::error("connection {}: request {} refused by the exchange: code {} {}", slot_->id, reply.id,
                    reply.error_code, reply.detail);
    }
    auto it = slot_->pending_acks.find(generation_);
    if (it != slot_->pending_acks.end() && it->second > 0) --it->second;
  }
  bool take_market_frame() noexcept { return std::exchange(market_frame_, false); }

 private:
  FeedManager& owner_;
  Slot* slot_ = nullptr;
  std::uint64_t generation_ = 0;
  bool market_frame_ = false;
};

FeedManager::FeedManager(boost::asio::io_context& io, std::shared_ptr<boost::asio::ssl::context> tls,
                         Scheduler& scheduler, MarketWriter& market, const SymbolRegistry& registry,
                         FeedOptions options, std::function<void()> on_batch,
                         std::function<void(Clock::duration)> on_frame_published)
    : io_(io),
      tls_(std::move(tls)),
      scheduler_(scheduler),
      market_(market),
      registry_(registry),
      options_(std::move(options)),
      batcher_(scheduler, std::move(on_batch), std::move(on_frame_published)),
      router_(std::make_unique<Router>(*this)),
      random_(std::random_device{}()) {}

FeedManager::~FeedManager() { stop(); }

void FeedManager::stop() {
  if (stopped_) return;
  stopped_ = true;
  *alive_ = false;
  batcher_.stop();
  for (auto& slot : slots_) {
    if (slot->current) slot->current->close("daemon stopping");
    if (slot->replacement) slot->replacement->close("daemon stopping");
  }
}

std::string FeedManager::kline_stream(std::string_view symbol, Interval interval) {
  std::string name(symbol);
  for (char& c : name)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');  // ASCII only: names may be UTF-8
  return fmt::format("{}@kline_{}", name, interval_name(interval));
}

void FeedManager::set_symbols(const std::vector<std::uint32_t>& symbols) {
  // Wanted streams and the ring behind each kline stream.
  std::unordered_map<std::string, std::pair<std::uint32_t, std::uint32_t>> wanted;
  for (const std::uint32_t symbol : symbols) {
    for (std::uint32_t i = 0; i < market_.interval_count(); ++i)
      wanted.emplace(kline_stream(registry_.names()[symbol], market_.interval_at(i)), std::make_pair(symbol, i));
  }
  const bool have_tickers = std::any_of(slots_.begin(), slots_.end(), [](const auto& slot) {
    return std::find(slot->streams.begin(), slot->streams.end(), kMiniTickerStream) != slot->streams.end();
  });

  // Drop what is no longer wanted.
  for (auto& slot : slots_) {
    std::vector<std::string> removed;
    std::erase_if(slot->streams, [&](const std::string& stream) {
      if (stream == kMiniTickerStream || wanted.contains(stream)) return false;
      removed.push_back(stream);
      return true;
    });
    std::erase_if(slot->rings, [&](const auto& ring) {
      return !wanted.contains(kline_stream(registry_.names()[ring.first], market_.interval_at(ring.second)));
    });
    if (!removed.empty()) {
      for (auto* connection : {slot->current.get(), slot->replacement.get()})
        if (connection != nullptr && connection->is_open()) send_subscriptions(*slot, *connection, removed, false);
      spdlog::info("connection {}: unsubscribed {} streams", slot->id, removed.size());
    }
    for (const auto& stream : slot->streams) wanted.erase(stream);
  }

  // Add the rest: fill slots that have room (SUBSCRIBE), then open new ones.
  std::vector<std::pair<std::string, std::pair<std::uint32_t, std::uint32_t>>> added(wanted.begin(), wanted.end());
  std::sort(added.begin(), added.end());
  std::vector<std::string> added_names;
  if (!have_tickers) added_names.emplace_back(kMiniTickerStream);
  for (const auto& [name, ring] : added) added_names.push_back(name);
  std::map<std::string, std::pair<std::uint32_t, std::uint32_t>> ring_of(added.begin(), added.end());

  std::size_t next = 0;
  for (auto& slot : slots_) {
    std::vector<std::string> joined;
    while (next < added_names.size() && slot->streams.size() < options_.streams_per_connection) {
      slot->streams.push_back(added_names[next]);
      if (const auto it = ring_of.find(added_names[next]); it != ring_of.end()) slot->rings.push_back(it->second);
      joined.push_back(added_names[next++]);
    }
    if (!joined.empty()) {
      for (auto* connection : {slot->current.get(), slot->replacement.get()})
        if (connection != nullptr && connection->is_open()) send_subscriptions(*slot, *connection, joined, true);
      spdlog::info("connection {}: subscribing {} more streams", slot->id, joined.size());
    }
  }
  while (next < added_names.size()) {
    auto slot = std::make_unique<Slot>();
    slot->id = static_cast<std::uint32_t>(slots_.size());
    while (next < added_names.size() && slot->streams.size() < options_.streams_per_connection) {
      slot->streams.push_back(added_names[next]);
      if (const auto it = ring_of.find(added_names[next]); it != ring_of.end()) slot->rings.push_back(it->second);
      ++next;
    }
    slots_.push_back(std::move(slot));
    connect(*slots_.back(), false);
  }
}

std::chrono::milliseconds FeedManager::connect_delay() {
  const auto now = scheduler_.now();
  while (!connect_times_.empty() && now - connect_times_.front() >= kConnectWindow) connect_times_.pop_front();
  if (connect_times_.size() < options_.max_connects_per_5min) return milliseconds(0);
  return duration_cast<milliseconds>(connect_times_.front() + kConnectWindow - now) + milliseconds(1);
}

void FeedManager::connect(Slot& slot, bool replacement) {
  if (stopped_) return;
  if (const auto wait = connect_delay(); wait.count() > 0) {
    ++stats_.throttled_connects;
    spdlog::warn("connection {}: {} connection attempts in the last 5 minutes; next attempt in {} ms", slot.id,
                 connect_times_.size(), wait.count());
    slot.reconnect_scheduled = true;
    scheduler_.after(wait, [this, &slot, replacement, alive = std::weak_ptr<bool>(alive_)] {
      if (alive.expired() || !*alive.lock()) return;
      slot.reconnect_scheduled = false;
      connect(slot, replacement);
    });
    return;
  }
  connect_times_.push_back(scheduler_.now());
  ++stats_.connects;

  net::Url url = options_.ws_base;
  url.target = "/stream?streams=";
  const std::size_t in_url = std::min(slot.streams.size(), options_.streams_in_url);
  for (std::size_t i = 0; i < in_url; ++i) url.target += (i ? "/" : "") + slot.streams[i];

  const std::uint64_t generation = slot.next_generation++;
  net::WsOptions ws;
  ws.watchdog_timeout = options_.watchdog;
  auto alive = std::weak_ptr<bool>(alive_);
  net::WsHandlers handlers;
  handlers.on_open = [this, &slot, generation, alive] {
    if (!alive.expired() && *alive.lock()) on_open(slot, generation);
  };
  handlers.on_frame = [this, &slot, generation, alive](const char* data, std::size_t size, std::size_t capacity) {
    if (!alive.expired() && *alive.lock()) on_frame(slot, generation, data, size, capacity);
  };
  handlers.on_closed = [this, &slot, generation, alive](const std::string& reason) {
    if (!alive.expired() && *alive.lock()) on_closed(slot, generation, reason);
  };
  auto connection = net::WsConnection::connect(io_, url, url.tls ? tls_ : nullptr, ws, std::move(handlers));
  if (replacement) {
    slot.replacement = std::move(connection);
    slot.replacement_generation = generation;
  } else {
    slot.current = std::move(connection);
    slot.current_generation = generation;
  }
  spdlog::info("connection {}: connecting to {} with {} streams{}", slot.id, options_.ws_base.origin(),
               slot.streams.size(), replacement ? " (make-before-break replacement)" : "");
}

void FeedManager::send_subscriptions(Slot& slot, net::WsConnection& connection,
                                     const std::vector<std::string>& streams, bool subscribe) {
  const std::uint64_t generation =
      &connection == slot.replacement.get() ? slot.replacement_generation : slot.current_generation;
  for (std::size_t start = 0; start < streams.size(); start += options_.streams_per_subscribe) {
    std::string params;
    const std::size_t end = std::min(streams.size(), start + options_.streams_per_subscribe);
    for (std::size_t i = start; i < end; ++i) params += fmt::format("{}\"{}\"", i > start ? "," : "", streams[i]);
    connection.send(fmt::format(R"({{"method":"{}","params":[{}],"id":{}}})", subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE",
                                params, next_request_id_++));
    ++slot.pending_acks[generation];
  }
}

void FeedManager::on_open(Slot& slot, std::uint64_t generation) {
  net::WsConnection* connection = generation == slot.current_generation ? slot.current.get()
                                  : generation == slot.replacement_generation ? slot.replacement.get()
                                                                              : nullptr;
  if (connection == nullptr) return;
  slot.pending_acks[generation] = 0;
  slot.got_data[generation] = false;
  const std::size_t in_url = std::min(slot.streams.size(), options_.streams_in_url);
  if (slot.streams.size() > in_url)
    send_subscriptions(slot, *connection, {slot.streams.begin() + static_cast<std::ptrdiff_t>(in_url), slot.streams.end()},
                       true);
  spdlog::info("connection {}: open ({} streams)", slot.id, slot.streams.size());
  // Rotate before the exchange's 24 h cut-off.
  scheduler_.after(options_.rotate_after, [this, &slot, generation, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired() || !*alive.lock()) return;
    if (slot.current_generation == generation) rotate(slot, "connection age");
  });
}

void FeedManager::rotate(Slot& slot, const char* why) {
  if (stopped_ || slot.replacement) return;  // one replacement at a time
  ++stats_.rotations;
  spdlog::info("connection {}: rotating ({}), make-before-break", slot.id, why);
  connect(slot, true);
}

void FeedManager::on_frame(Slot& slot, std::uint64_t generation, const char* data, std::size_t size,
                           std::size_t capacity) {
  const Clock::time_point arrival = scheduler_.now();
  ++stats_.frames;
  ++slot.frames;
  slot.last_frame = arrival;
  if (recorder_ != nullptr) recorder_->record(realtime_ns(), slot.id, std::string_view(data, size));

  router_->set_source(&slot, generation);
  const feed::ParseResult result = parser_.parse_padded(data, size, capacity, *router_);
  if (result.outcome == feed::FrameOutcome::Rejected) log_reject(result);
  const bool market_frame = router_->take_market_frame();
  if (market_frame) {
    slot.got_data[generation] = true;
    if (generation == slot.current_generation) slot.failures = 0;
  }

  // A replacement takes over once it is fully subscribed and data flows on it.
  if (generation == slot.replacement_generation && slot.replacement && slot.got_data[generation] &&
      slot.pending_acks[generation] == 0) {
    auto old = std::move(slot.current);
    const std::uint64_t old_generation = slot.current_generation;
    slot.current = std::move(slot.replacement);
    slot.current_generation = generation;
    slot.replacement_generation = 0;
    slot.pending_acks.erase(old_generation);
    slot.got_data.erase(old_generation);
    if (old) old->close("replaced by a newer connection");
    spdlog::info("connection {}: replacement live, old connection closed", slot.id);
  }

  batcher_.frame_applied(arrival, market_frame);
}

void FeedManager::on_closed(Slot& slot, std::uint64_t generation, const std::string& reason) {
  slot.pending_acks.erase(generation);
  slot.got_data.erase(generation);
  if (stopped_) return;
  if (generation == slot.replacement_generation) {
    slot.replacement.reset();
    slot.replacement_generation = 0;
    spdlog::warn("connection {}: replacement failed: {}; the current connection stays", slot.id, reason);
    return;
  }
  if (generation != slot.current_generation) return;  // an old connection we closed on purpose
  slot.current.reset();
  slot.current_generation = 0;
  if (slot.replacement) {
    // The replacement is already connecting: it becomes the connection.
    slot.current = std::move(slot.replacement);
    slot.current_generation = slot.replacement_generation;
    slot.replacement_generation = 0;
    spdlog::warn("connection {}: lost ({}); its replacement takes over", slot.id, reason);
    mark_streams_lost(slot);
    return;
  }
  spdlog::warn("connection {}: lost: {}", slot.id, reason);
  mark_streams_lost(slot);
  schedule_reconnect(slot);
}

void FeedManager::mark_streams_lost(const Slot& slot) {
  for (const auto& [symbol, interval_index] : slot.rings) market_.stream_lost(symbol, interval_index);
  batcher_.publish_now();
}

void FeedManager::schedule_reconnect(Slot& slot) {
  if (slot.reconnect_scheduled) return;
  ++slot.failures;
  ++stats_.reconnects;
  // Exponential backoff with full jitter: many daemons behind one NAT must not reconnect in step.
  const auto ceiling = std::min<std::int64_t>(options_.reconnect_max.count(),
                                              options_.reconnect_min.count() << std::min(slot.failures, 20));
  const auto delay = milliseconds(std::uniform_int_distribution<std::int64_t>(options_.reconnect_min.count() / 2, ceiling)(random_));
  slot.reconnect_scheduled = true;
  spdlog::info("connection {}: reconnecting in {} ms (attempt {})", slot.id, delay.count(), slot.failures);
  scheduler_.after(delay, [this, &slot, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired() || !*alive.lock()) return;
    slot.reconnect_scheduled = false;
    if (!slot.current) connect(slot, false);
  });
}

void FeedManager::log_reject(const feed::ParseResult& result) {
  ++rejects_since_log_;
  const auto now = scheduler_.now();
  if (now - last_reject_log_ < std::chrono::seconds(10)) return;
  spdlog::warn("dropped malformed frame ({}); {} dropped since the last report; totals by reason in status",
               feed::to_string(result.reason), rejects_since_log_);
  last_reject_log_ = now;
  rejects_since_log_ = 0;
}

std::vector<ConnectionStatus> FeedManager::connections() const {
  std::vector<ConnectionStatus> result;
  for (const auto& slot : slots_)
    result.push_back({slot->id, slot->streams.size(), slot->current && slot->current->is_open(), slot->frames,
                      slot->last_frame});
  return result;
}

}  // namespace screener::ingest
