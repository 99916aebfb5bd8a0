// SPDX-License-Identifier: Apache-2.0
#include "worker/engine.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/kline_ring.hpp"
#include "common/seqlock.hpp"
#include "common/segment_geometry.hpp"
#include "common/signal_id.hpp"
#include "common/worker_protocol.hpp"
#include "worker/signal_json.hpp"

namespace screener::worker {

struct Engine::Trader {
  config::TraderSpec spec;
  std::uint64_t content_hash = 0;
  std::uint8_t interval = 0;                 ///< the trader's interval, as a segment interval index
  std::vector<std::uint8_t> other_intervals;  ///< closed `@iv` timeframes it reads besides its own
  std::vector<std::uint8_t> intervals;        ///< every interval it reads, its own included
  Program program;
  std::vector<Term> terms;
  Cooldown cooldown;
  std::vector<std::uint8_t> watched;          ///< per symbol slot
  std::map<std::string, std::int64_t, std::less<>> fired;  ///< symbol -> last fired bar, as persisted
  std::vector<std::uint32_t> fired_slots;     ///< symbol slots fired on since the last submit_fired()
  std::uint32_t table_index = 0;              ///< in the trader table generation applied last
  std::uint64_t evaluations = 0;              ///< these three as in EngineStats, for this trader
  std::uint64_t signals = 0;
  std::uint64_t suppressed = 0;
};

namespace {

std::int64_t system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t steady_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double bar_field(const shm::Bar& b, std::uint8_t field) noexcept {
  switch (static_cast<rules::BarField>(field)) {
    case rules::BarField::Open: return b.open;
    case rules::BarField::High: return b.high;
    case rules::BarField::Low: return b.low;
    case rules::BarField::Close: return b.close;
    case rules::BarField::Volume: return b.volume;
    case rules::BarField::QuoteVolume: return b.quote_volume;
    case rules::BarField::Trades: return static_cast<double>(b.trades);
  }
  return std::nan("");
}

constexpr std::size_t kNoAge = static_cast<std::size_t>(-1);

/// Every interval a rule reads; a forming value reads its interval's closed history too.
void collect_intervals(const rules::Node& n, std::vector<Interval>& out) {
  if (n.kind == rules::Node::Kind::Bar || n.kind == rules::Node::Kind::Indicator) out.push_back(n.interval);
  for (const rules::Node& c : n.children) collect_intervals(c, out);
}

int max_offset(const rules::Node& n, int extra) {
  int m = (n.kind == rules::Node::Kind::Bar || n.kind == rules::Node::Kind::Indicator) ? n.offset + extra : 0;
  const int child_extra = n.kind == rules::Node::Kind::Crosses ? extra + 1 : extra;
  for (const rules::Node& c : n.children) m = std::max(m, max_offset(c, child_extra));
  return m;
}

}  // namespace

/// What a program reads while one trader is evaluated on one symbol: closed values at the age
/// that aligns each interval with the evaluated bar, the forming bar where asked for (or for the
/// trader's own interval when it evaluates intrabar), and the ticker.
class Engine::Source {
 public:
  Source(Engine& engine, std::uint32_t symbol, std::span<const std::size_t> ages, bool intrabar, std::uint8_t own)
      : engine_(engine), symbol_(symbol), ages_(ages), intrabar_(intrabar), own_(own) {}

  double bar(const Instruction& in) noexcept {
    Series* s = engine_.series(symbol_, in.interval);
    if (s == nullptr) return std::nan("");
    if (reads_forming(in)) {
      if (in.offset == 0) {
        const shm::Bar* f = forming(in.interval, *s);
        return f != nullptr ? bar_field(*f, in.field) : std::nan("");
      }
      const shm::Bar* b = s->bar(in.offset - 1);
      return b != nullptr ? bar_field(*b, in.field) : std::nan("");
    }
    const std::size_t age = ages_[in.interval];
    if (age == kNoAge) return std::nan("");
    const shm::Bar* b = s->bar(age + in.offset);
    return b != nullptr ? bar_field(*b, in.field) : std::nan("");
  }

  double indicator(const Instruction& in) noexcept {
    Series* s = engine_.series(symbol_, in.interval);
    if (s == nullptr) return std::nan("");
    if (reads_forming(in)) {
      if (in.offset == 0) {
        const shm::Bar* f = forming(in.interval, *s);
        return f != nullptr ? s->peek(in.key, *f, in.field) : std::nan("");
      }
      return s->value(in.key, in.field, in.offset - 1);
    }
    const std::size_t age = ages_[in.interval];
    if (age == kNoAge) return std::nan("");
    return s->value(in.key, in.field, age + in.offset);
  }

  double ticker(const Instruction& in) noexcept {
    if (!ticker_) {
      ticker_ = shm::seqlock_read(&engine_.view_.ticker_slot(symbol_)->ticker);
      if (!ticker_ || ticker_->event_time_ms == 0) return std::nan("");
    }
    switch (static_cast<rules::TickerField>(in.field)) {
      case rules::TickerField::LastPrice: return ticker_->last_price;
      case rules::TickerField::ChangePct24h: return ticker_->price_change_pct;
      case rules::TickerField::QuoteVolume24h: return ticker_->quote_volume_24h;
    }
    return std::nan("");
  }

 private:
  [[nodiscard]] bool reads_forming(const Instruction& in) const noexcept {
    return in.forming || (intrabar_ && in.interval == own_);
  }

  /// The ring's forming bar, if it continues the closed history the series holds. Read once per
  /// evaluation and interval; the cache is not initialised up front, as most rules never ask.
  const shm::Bar* forming(std::uint8_t interval, const Series& s) noexcept {
    const std::uint32_t bit = 1U << interval;
    if ((forming_read_ & bit) == 0) {
      forming_read_ |= bit;
      const auto bar = shm::ring_read_forming(engine_.view_, engine_.view_.ring_index(symbol_, interval));
      if (bar && s.bars_held() > 0 && bar->open_time_ms == next_bar_open_time(s.interval(), s.bar(0)->open_time_ms)) {
        forming_[interval] = *bar;
        forming_present_ |= bit;
      }
    }
    return (forming_present_ & bit) != 0 ? &forming_[interval] : nullptr;
  }

  Engine& engine_;
  std::uint32_t symbol_;
  std::span<const std::size_t> ages_;
  bool intrabar_;
  std::uint8_t own_;
  std::optional<shm::Ticker> ticker_;
  std::uint32_t forming_read_ = 0;
  std::uint32_t forming_present_ = 0;
  std::array<shm::Bar, shm::kMaxIntervals> forming_;
};

Engine::Engine(shm::SegmentView view, EngineOptions options, SignalSink& sink)
    : view_(view), options_(std::move(options)), sink_(sink) {
  if (!options_.now_ms) options_.now_ms = system_now_ms;
  const std::size_t rings = view_.ring_count();
  series_.resize(rings);
  resume_after_.assign(rings, 0);
  late_resume_.assign(rings, 0);
  closed_traders_.resize(rings);
  intrabar_traders_.resize(rings);
  ring_other_intervals_.resize(rings);
  forming_dirty_.assign(rings, 0);
  dirty_.assign(view_.max_symbols(), 0);
  keys_.resize(view_.interval_count());
}

Engine::~Engine() { persist_fired(); }

void Engine::apply_table(const shm::TraderTableSnapshot& table) {
  persist_fired();
  // Traders taken on now may have fired in another worker since this one last held them.
  fired_writer_.reload_from_files();
  const std::string state_dir = options_.state_dir_override.empty() ? table.state_dir : options_.state_dir_override;
  if (!fired_store_ || fired_store_->dir() != state_dir) fired_store_ = std::make_unique<FiredStore>(state_dir);
  if (!progress_loaded_) {
    progress_loaded_ = true;
    load_progress(state_dir);
  }

  config::TraderCheckOptions check;
  for (std::uint32_t i = 0; i < view_.interval_count(); ++i)
    check.held.push_back(shm::geometry_interval(view_.geometry(), i));
  check.history_bars = static_cast<int>(view_.ring_capacity());

  // Traders whose text is unchanged keep their edge and cooldown state across the new generation.
  std::map<std::string, std::unique_ptr<Trader>, std::less<>> previous;
  for (auto& t : traders_) previous[t->spec.name] = std::move(t);
  traders_.clear();
  stats_.trader_errors = 0;
  for (const shm::TraderTableItem& item : table.traders) {
    if (item.owner != options_.worker_index) continue;
    const auto table_index = static_cast<std::uint32_t>(&item - table.traders.data());
    if (auto it = previous.find(item.name); it != previous.end() && it->second->content_hash == item.content_hash) {
      it->second->table_index = table_index;
      traders_.push_back(std::move(it->second));
      continue;
    }
    auto trader = std::make_unique<Trader>();
    try {
      trader->spec = config::parse_trader(item.text, item.path, check);
    } catch (const std::exception& error) {
      // screenerd validated the same text with the same code; this means mismatched builds.
      spdlog::error("trader '{}' ({}) does not compile in this worker: {}", item.name, item.path, error.what());
      ++stats_.trader_errors;
      continue;
    }
    trader->content_hash = item.content_hash;
    trader->table_index = table_index;
    if (auto fired = fired_store_->load(trader->spec.name)) {
      trader->fired = std::move(*fired);
    } else {
      spdlog::error("{}; the trader starts without its fired state", fired.error());
    }
    traders_.push_back(std::move(trader));
  }
  stats_.generation = table.generation;
  stats_.traders = static_cast<std::uint32_t>(traders_.size());
  rebuild();
}

void Engine::rebuild() {
  const std::uint32_t interval_count = view_.interval_count();
  for (auto& k : keys_) k.clear();
  int offsets = 0;
  auto interval_index = [&](Interval iv) {
    return static_cast<std::uint8_t>(shm::geometry_interval_index(view_.geometry(), iv));
  };
  ProgramSymbols symbols;
  symbols.interval_index = interval_index;
  symbols.key_slot = [&](const rules::IndicatorKey& key) {
    std::vector<rules::IndicatorKey>& keys = keys_[interval_index(key.interval)];
    const auto it = std::find(keys.begin(), keys.end(), key);
    if (it != keys.end()) return static_cast<std::uint32_t>(it - keys.begin());
    keys.push_back(key);
    return static_cast<std::uint32_t>(keys.size() - 1);
  };
  std::size_t stack = 1;
  for (auto& t : traders_) {
    const rules::CheckedRule& rule = t->spec.rule;
    t->interval = interval_index(t->spec.interval);
    t->program = compile(rule, rule.root, symbols);
    t->terms = compile_terms(rule, symbols);
    stack = std::max<std::size_t>(stack, t->program.max_stack);
    for (const Term& term : t->terms) stack = std::max<std::size_t>(stack, term.program.max_stack);
    std::vector<Interval> read{t->spec.interval};
    collect_intervals(rule.root, read);
    t->intervals.clear();
    t->other_intervals.clear();
    for (Interval iv : read) {
      const std::uint8_t index = interval_index(iv);
      if (std::find(t->intervals.begin(), t->intervals.end(), index) == t->intervals.end())
        t->intervals.push_back(index);
    }
    std::vector<Interval> closed_only;
    std::function<void(const rules::Node&)> closed_refs = [&](const rules::Node& n) {
      if ((n.kind == rules::Node::Kind::Bar || n.kind == rules::Node::Kind::Indicator) && !n.forming &&
          n.interval != t->spec.interval)
        closed_only.push_back(n.interval);
      for (const rules::Node& c : n.children) closed_refs(c);
    };
    closed_refs(rule.root);
    for (Interval iv : closed_only) {
      const std::uint8_t index = interval_index(iv);
      if (std::find(t->other_intervals.begin(), t->other_intervals.end(), index) == t->other_intervals.end())
        t->other_intervals.push_back(index);
    }
    offsets = std::max(offsets, max_offset(rule.root, 0));
    t->cooldown = Cooldown{t->spec.cooldown.count(), t->spec.cooldown_bars, t->spec.interval};
    t->watched.assign(view_.max_symbols(), 0);
  }
  // Every watched (slot, trader) gets a fresh gate in match_symbols(): watched was cleared above.
  gates_.assign(std::size_t{view_.max_symbols()} * traders_.size(), GateState{});
  stack_.assign(stack, 0.0);
  // Values and bars kept: enough for the deepest offset (plus crosses_*'s previous bar) at the
  // oldest bar a catch-up evaluates.
  history_ = options_.max_catch_up + static_cast<std::size_t>(offsets) + 3;
  // Every series is re-warmed: a bar the old generation synced but had not evaluated yet (a job
  // waiting for a higher timeframe), or one closing before the re-warm, is evaluated after it
  // instead of being taken for history. A series not warmed yet keeps what it was left.
  for (std::size_t ring = 0; ring < series_.size(); ++ring) {
    const Series* s = series_[ring].get();
    if (s == nullptr) {
      resume_after_[ring] = 0;
    } else if (s->warmed() && s->bars_held() > 0) {
      resume_after_[ring] = s->newest_open_time();
    }
  }
  for (const Job& job : jobs_) {
    std::int64_t& resume = resume_after_[job.symbol * interval_count + job.interval];
    if (!job.prime && resume != 0) resume = std::min(resume, job.open_time_ms - 1);
  }
  for (auto& s : series_) s.reset();
  jobs_.clear();
  match_symbols();
}

void Engine::match_symbols() {
  symbols_changed_ = false;
  // Gates of symbols leaving a trader are reset below: their fired bars go to the map first.
  submit_fired();
  slot_names_.assign(view_.max_symbols(), std::string());
  const std::uint32_t interval_count = view_.interval_count();
  for (auto& list : closed_traders_) list.clear();
  for (auto& list : intrabar_traders_) list.clear();
  for (auto& list : ring_other_intervals_) list.clear();
  std::vector<std::uint8_t> needed(series_.size(), 0);
  for (std::uint32_t slot = 0; slot < view_.max_symbols(); ++slot) {
    const auto info = shm::seqlock_read(&view_.symbol_slot(slot)->info);
    const bool active = info && info->slot_state == static_cast<std::uint32_t>(shm::SlotState::Active);
    const std::string name =
        active ? std::string(info->symbol.data(), strnlen(info->symbol.data(), info->symbol.size())) : std::string();
    slot_names_[slot] = name;
    for (std::uint32_t ti = 0; ti < traders_.size(); ++ti) {
      Trader& t = *traders_[ti];
      const bool watch = active && t.spec.symbols.matches(name);
      if (watch && !t.watched[slot]) {
        GateState& gate = gates_[std::size_t{slot} * traders_.size() + ti];
        gate = GateState{};
        if (auto it = t.fired.find(name); it != t.fired.end()) gate.last_fired_open_ms = it->second;
      }
      t.watched[slot] = watch ? 1 : 0;
      if (!watch) continue;
      closed_traders_[slot * interval_count + t.interval].push_back(ti);
      std::vector<std::uint8_t>& others = ring_other_intervals_[slot * interval_count + t.interval];
      for (std::uint8_t iv : t.other_intervals)
        if (std::find(others.begin(), others.end(), iv) == others.end()) others.push_back(iv);
      if (t.spec.on == config::EvaluateOn::Update) intrabar_traders_[slot * interval_count + t.interval].push_back(ti);
      for (std::uint8_t iv : t.intervals) needed[slot * interval_count + iv] = 1;
    }
  }
  for (std::size_t ring = 0; ring < series_.size(); ++ring) {
    if (!needed[ring]) {
      series_[ring].reset();
      resume_after_[ring] = 0;
      late_resume_[ring] = 0;
      continue;
    }
    if (series_[ring]) continue;
    const auto interval_index = static_cast<std::uint32_t>(ring % interval_count);
    if (!restart_progress_.empty()) {
      const std::string key = fmt::format("{} {}", slot_names_[ring / interval_count],
                                          interval_name(shm::geometry_interval(view_.geometry(), interval_index)));
      if (auto it = restart_progress_.find(key); it != restart_progress_.end()) {
        resume_after_[ring] = it->second;
        late_resume_[ring] = 1;
        restart_progress_.erase(it);
      }
    }
    series_[ring] = std::make_unique<Series>(static_cast<std::uint32_t>(ring),
                                             shm::geometry_interval(view_.geometry(), interval_index), history_);
    series_[ring]->set_keys(keys_[interval_index], history_);
    const auto symbol = static_cast<std::uint32_t>(ring / interval_count);
    if (!dirty_[symbol]) {
      dirty_[symbol] = 1;
      dirty_list_.push_back(symbol);
    }
  }
}

void Engine::note(const shm::JournalEntry& entry) noexcept {
  if (entry.symbol >= view_.max_symbols()) return;
  switch (entry.kind) {
    case shm::JournalKind::Closed:
    case shm::JournalKind::Rewrite:
    case shm::JournalKind::RingFlags: {
      const std::uint32_t ring = view_.ring_index(entry.symbol, entry.interval_index);
      if (entry.interval_index >= view_.interval_count() || !series_[ring] || dirty_[entry.symbol]) return;
      dirty_[entry.symbol] = 1;
      dirty_list_.push_back(entry.symbol);
      return;
    }
    case shm::JournalKind::Forming: {
      if (entry.interval_index >= view_.interval_count()) return;
      const std::uint32_t ring = view_.ring_index(entry.symbol, entry.interval_index);
      if (intrabar_traders_[ring].empty() || forming_dirty_[ring]) return;
      forming_dirty_[ring] = 1;
      forming_list_.push_back(ring);
      return;
    }
    case shm::JournalKind::Symbol: symbols_changed_ = true; return;
    case shm::JournalKind::Ticker: return;
  }
}

void Engine::note_lapped() noexcept {
  for (std::uint32_t symbol = 0; symbol < view_.max_symbols(); ++symbol) {
    if (dirty_[symbol]) continue;
    dirty_[symbol] = 1;
    dirty_list_.push_back(symbol);
  }
}

void Engine::process() {
  const auto started = std::chrono::steady_clock::now();
  const std::uint64_t evaluations_before = stats_.evaluations;
  if (symbols_changed_) match_symbols();
  // In the order the journal named them: in a burst of closes, the first symbol's signals leave first.
  std::vector<std::uint32_t> symbols;
  symbols.swap(dirty_list_);
  for (std::uint32_t symbol : symbols) {
    dirty_[symbol] = 0;
    sync_symbol(symbol);
  }
  run_jobs();
  std::vector<std::uint32_t> forming;
  forming.swap(forming_list_);
  for (std::uint32_t ring : forming) {
    forming_dirty_[ring] = 0;
    evaluate_intrabar(ring);
  }
  submit_fired();
  submit_progress(false);
  const auto took = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started).count());
  stats_.eval_ns += took;
  if (stats_.evaluations != evaluations_before) {
    ++stats_.eval_rounds;
    stats_.eval_round_ns += took;
    ++stats_.eval_round_buckets[protocol::eval_round_bucket(took)];
  }
}

void Engine::sync_symbol(std::uint32_t symbol) {
  const std::uint32_t interval_count = view_.interval_count();
  const auto now = std::chrono::steady_clock::now();
  for (std::uint32_t iv = 0; iv < interval_count; ++iv) {
    Series* s = series(symbol, static_cast<std::uint8_t>(iv));
    if (s == nullptr) continue;
    fresh_.clear();
    const std::uint64_t skipped_before = s->skipped();
    const SyncResult result = s->sync(view_, scratch_bars_, fresh_, options_.max_catch_up);
    stats_.skipped_bars += s->skipped() - skipped_before;
    const std::uint32_t ring = symbol * interval_count + iv;
    const bool has_traders = !closed_traders_[ring].empty();
    const std::int64_t resume = result == SyncResult::Warmed ? std::exchange(resume_after_[ring], 0) : 0;
    const bool restarted = result == SyncResult::Warmed && std::exchange(late_resume_[ring], 0) != 0;
    if (result == SyncResult::Warmed && has_traders && s->bars_held() > 0) {
      // Primed at the newest bar; after a table change or a restart at the bar evaluated last, if
      // still held, and the bars after it are evaluated as fresh (late after a restart: they
      // closed while nobody evaluated them).
      std::size_t prime_age = 0;
      if (resume != 0) {
        while (prime_age < s->bars_held() && s->bar(prime_age)->open_time_ms > resume) ++prime_age;
        if (prime_age == s->bars_held()) prime_age = 0;
      }
      jobs_.push_back(Job{symbol, static_cast<std::uint8_t>(iv), s->bar(prime_age)->open_time_ms, false, true, now});
      const auto state = shm::ring_read_state(view_, ring);
      const std::int64_t backfilled = state ? state->backfilled_through_ms : 0;
      const std::size_t fresh = std::min(prime_age, options_.max_catch_up);
      stats_.skipped_bars += prime_age - fresh;
      for (std::size_t age = fresh; age-- > 0;) {
        const std::int64_t open = s->bar(age)->open_time_ms;
        jobs_.push_back(Job{symbol, static_cast<std::uint8_t>(iv), open, restarted || open <= backfilled, false, now});
      }
    } else if (result == SyncResult::Advanced && has_traders) {
      for (const FreshBar& f : fresh_)
        jobs_.push_back(Job{symbol, static_cast<std::uint8_t>(iv), f.open_time_ms, f.late, false, now});
    }
  }
}

bool Engine::timeframes_ready(std::span<const std::uint8_t> intervals, std::uint32_t symbol,
                              std::int64_t close_ms) const {
  for (std::uint8_t iv : intervals) {
    const Series* s = series(symbol, iv);
    if (s == nullptr || !s->warmed()) return false;
    const Interval h = s->interval();
    const std::int64_t expected = bar_open_time(h, bar_open_time(h, close_ms + 1) - 1);
    if (s->newest_open_time() < expected) return false;
  }
  return true;
}

void Engine::run_jobs() {
  const auto now = std::chrono::steady_clock::now();
  const std::uint32_t interval_count = view_.interval_count();
  std::deque<Job> waiting;
  // A ring whose job waits holds back its later jobs too: bars are evaluated in order.
  std::vector<std::uint32_t> blocked;
  for (const Job& job : jobs_) {
    const std::uint32_t ring = job.symbol * interval_count + job.interval;
    if (std::find(blocked.begin(), blocked.end(), ring) != blocked.end()) {
      waiting.push_back(job);
      continue;
    }
    const Series* own = series(job.symbol, job.interval);
    if (own == nullptr) continue;
    const std::int64_t close_ms = bar_close_time(own->interval(), job.open_time_ms);
    // Every trader of the ring ready <=> every timeframe any of them reads is ready.
    const bool ready = timeframes_ready(ring_other_intervals_[ring], job.symbol, close_ms);
    if (!ready && now - job.queued < options_.timeframe_wait) {
      blocked.push_back(ring);
      waiting.push_back(job);
      continue;
    }
    if (!ready) ++stats_.wait_expired;
    // The bar's age in every interval, the same for all the ring's traders (each reads only its own).
    const auto own_age = own->age_of(job.open_time_ms);
    if (!own_age) continue;  // already out of the local history
    std::array<std::size_t, shm::kMaxIntervals> ages;
    ages.fill(kNoAge);
    for (std::uint32_t iv = 0; iv < interval_count; ++iv) {
      const Series* s = series(job.symbol, static_cast<std::uint8_t>(iv));
      if (s == nullptr || !s->warmed()) continue;
      if (iv == job.interval) {
        ages[iv] = *own_age;
      } else if (auto age = s->age_closed_by(close_ms)) {
        ages[iv] = *age;
      }
    }
    const std::span<const std::size_t> job_ages(ages.data(), interval_count);
    GateState* gates = gates_.data() + std::size_t{job.symbol} * traders_.size();
    for (std::uint32_t ti : closed_traders_[ring]) evaluate_closed(*traders_[ti], gates[ti], job, *own_age, job_ages);
  }
  jobs_.swap(waiting);
}

void Engine::evaluate_closed(Trader& trader, GateState& gate, const Job& job, std::size_t own_age,
                             std::span<const std::size_t> ages) {
  Source source(*this, job.symbol, ages, false, trader.interval);
  const double value = run(trader.program, source, stack_.data());
  ++stats_.evaluations;
  ++trader.evaluations;
  if (job.prime) {
    if (!std::isnan(value)) gate.last_truth = value != 0.0 ? 1 : 0;
    return;
  }
  switch (gate_step(gate, job.open_time_ms, value, trader.cooldown)) {
    case GateDecision::None: return;
    case GateDecision::Suppressed:
      ++stats_.suppressed;
      ++trader.suppressed;
      return;
    case GateDecision::Fire: break;
  }
  emit(trader, job.symbol, job.open_time_ms, series(job.symbol, job.interval)->bar(own_age)->close, job.late, false,
       ages);
}

void Engine::evaluate_intrabar(std::uint32_t ring) {
  const std::uint32_t interval_count = view_.interval_count();
  const std::uint32_t symbol = ring / interval_count;
  const auto interval = static_cast<std::uint8_t>(ring % interval_count);
  const Series* own = series(symbol, interval);
  if (own == nullptr || !own->warmed() || own->bars_held() == 0) return;
  const auto forming = shm::ring_read_forming(view_, ring);
  if (!forming || forming->open_time_ms != next_bar_open_time(own->interval(), own->newest_open_time())) return;
  const std::int64_t now_ms = steady_now_ms();
  std::array<std::size_t, shm::kMaxIntervals> ages;
  for (std::uint32_t ti : intrabar_traders_[ring]) {
    Trader& trader = *traders_[ti];
    GateState& gate = gates_[std::size_t{symbol} * traders_.size() + ti];
    if (now_ms - gate.last_intrabar_ms < trader.spec.throttle.count()) continue;
    gate.last_intrabar_ms = now_ms;
    ages.fill(kNoAge);
    // Intrabar, "now" is the forming bar's time: other timeframes give their last closed bar.
    for (std::uint8_t iv : trader.intervals) {
      const Series* s = series(symbol, iv);
      if (s == nullptr || !s->warmed()) continue;
      if (auto age = s->age_closed_by(forming->open_time_ms - 1)) ages[iv] = *age;
    }
    Source source(*this, symbol, std::span(ages.data(), interval_count), true, trader.interval);
    const double value = run(trader.program, source, stack_.data());
    ++stats_.evaluations;
    ++trader.evaluations;
    switch (gate_step(gate, forming->open_time_ms, value, trader.cooldown)) {
      case GateDecision::None: continue;
      case GateDecision::Suppressed:
        ++stats_.suppressed;
        ++trader.suppressed;
        continue;
      case GateDecision::Fire: break;
    }
    emit(trader, symbol, forming->open_time_ms, forming->close, false, true, std::span(ages.data(), interval_count));
  }
}

void Engine::emit(Trader& trader, std::uint32_t symbol, std::int64_t open_time_ms, double close, bool late,
                  bool intrabar, std::span<const std::size_t> ages) {
  const std::string& name = slot_names_[symbol];
  // The gate holds the fired bar; submit_fired() persists it.
  trader.fired_slots.push_back(symbol);
  if (late && trader.spec.late == config::LatePolicy::Suppress) {
    ++stats_.late_suppressed;
    return;
  }
  Source source(*this, symbol, ages, intrabar, trader.interval);
  std::vector<SignalValue> values;
  values.reserve(trader.terms.size());
  for (const Term& term : trader.terms) values.push_back(SignalValue{term.label, run(term.program, source, stack_.data())});
  const std::string_view interval = interval_name(trader.spec.interval);
  SignalFields fields;
  fields.id = signal_id(trader.spec.name, name, interval, open_time_ms);
  fields.ts_ms = options_.now_ms();
  fields.trader = trader.spec.name;
  fields.symbol = name;
  fields.interval = interval;
  fields.bar_open_time_ms = open_time_ms;
  fields.close = close;
  fields.values = values;
  fields.late = late;
  fields.intrabar = intrabar;
  ++stats_.signals;
  ++trader.signals;
  sink_.emit(fields.id, format_signal_json(fields));
}

std::vector<TraderCounters> Engine::trader_stats() const {
  std::vector<TraderCounters> result;
  result.reserve(traders_.size());
  for (const auto& t : traders_)
    result.push_back(TraderCounters{t->spec.name, t->table_index, t->evaluations, t->signals, t->suppressed});
  return result;
}

void Engine::submit_fired() {
  if (!fired_store_) return;
  for (std::size_t ti = 0; ti < traders_.size(); ++ti) {
    Trader& t = *traders_[ti];
    if (t.fired_slots.empty()) continue;
    std::vector<FiredChange> changes;
    changes.reserve(t.fired_slots.size());
    for (std::uint32_t slot : t.fired_slots) {
      const std::int64_t open_ms = gates_[std::size_t{slot} * traders_.size() + ti].last_fired_open_ms;
      const std::string& name = slot_names_[slot];
      if (open_ms == kNeverFired || name.empty()) continue;
      t.fired[name] = open_ms;
      changes.push_back(FiredChange{name, open_ms});
    }
    t.fired_slots.clear();
    fired_writer_.submit(*fired_store_, t.spec.name, std::move(changes));
  }
}

void Engine::persist_fired() {
  submit_fired();
  submit_progress(true);
  fired_writer_.drain();
}

void Engine::load_progress(const std::string& state_dir) {
  if (state_dir.empty()) return;
  progress_path_ = fmt::format("{}/worker-{}.evaluated", state_dir, options_.worker_index);
  std::ifstream in(progress_path_);
  if (!in) return;  // a first start: nothing was evaluated before
  std::string symbol;
  std::string interval;
  std::int64_t open_ms = 0;
  std::size_t rings = 0;
  while (in >> symbol >> interval >> open_ms) {
    restart_progress_[symbol + ' ' + interval] = open_ms;
    ++rings;
  }
  if (!in.eof()) {
    spdlog::warn("{}: unreadable after {} entries; bars closed while this worker was down are evaluated "
                 "only for those",
                 progress_path_, rings);
  }
  if (rings > 0) {
    spdlog::info("{}: resuming after the bars a previous run evaluated ({} rings); bars closed since are "
                 "evaluated as late",
                 progress_path_, rings);
  }
}

void Engine::submit_progress(bool now) {
  if (fired_store_ == nullptr || fired_store_->dir().empty()) return;
  const auto at = std::chrono::steady_clock::now();
  if (!now && at - last_progress_submit_ < std::chrono::seconds(1)) return;
  last_progress_submit_ = at;
  progress_path_ = fmt::format("{}/worker-{}.evaluated", fired_store_->dir(), options_.worker_index);
  const std::uint32_t interval_count = view_.interval_count();
  // A bar synced but still waiting for a higher timeframe is not evaluated yet.
  std::map<std::uint32_t, std::int64_t> waiting;
  for (const Job& job : jobs_) {
    if (job.prime) continue;
    const std::uint32_t ring = job.symbol * interval_count + job.interval;
    auto [it, added] = waiting.emplace(ring, job.open_time_ms - 1);
    if (!added) it->second = std::min(it->second, job.open_time_ms - 1);
  }
  std::string text;
  for (std::uint32_t ring = 0; ring < series_.size(); ++ring) {
    const Series* s = series_[ring].get();
    if (s == nullptr || closed_traders_[ring].empty()) continue;
    const std::string& name = slot_names_[ring / interval_count];
    std::int64_t through = 0;
    if (late_resume_[ring] != 0) {
      through = resume_after_[ring];  // not warmed yet since the restart: keep what was read
    } else if (s->warmed() && s->bars_held() > 0) {
      through = s->newest_open_time();
    }
    if (auto it = waiting.find(ring); it != waiting.end()) through = std::min(through, it->second);
    if (through <= 0 || name.empty()) continue;
    text += fmt::format("{} {} {}\n", name, interval_name(s->interval()), through);
  }
  fired_writer_.replace_file(progress_path_, std::move(text));
}

}  // namespace screener::worker
