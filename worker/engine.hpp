// SPDX-License-Identifier: Apache-2.0
#pragma once

// The evaluation engine of one worker: the traders it owns, one Series per (symbol, interval) they
// read, and the signals their edges produce.
//
//   apply_table()   a new trader table generation: compile the owned traders, share their
//                   indicator keys per interval, re-warm the series from the rings (bars
//                   closed since the last evaluation are still evaluated after the re-warm)
//   note()          one journal record: which ring or symbol changed
//   process()       sync the changed series, evaluate the traders of every fresh bar in bar order,
//                   emit signals through the SignalSink
//
// A restarted worker goes on where it stopped: every second, and when it stops, it records per
// (symbol, interval) the newest bar it evaluated (`<state_dir>/worker-<index>.evaluated`), and a
// new engine of the same index evaluates the bars that closed after those, up to max_catch_up per
// ring, as `late`: the alerts of a crash, an upgrade or a daemon restart arrive late instead of never.
//
// A trader on interval T is evaluated at the close of each T bar. A value `@H` of another
// timeframe is taken from the last H bar whose close time is <= the T bar's close time; when that
// H bar has not reached the segment yet (the exchange sends each interval's close separately),
// the evaluation waits for it, at most `timeframe_wait`, then goes ahead with what is there.

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/journal.hpp"
#include "common/segment_view.hpp"
#include "common/trader_table.hpp"
#include "config/trader_config.hpp"
#include "worker/fired_store.hpp"
#include "worker/fired_writer.hpp"
#include "worker/rule_program.hpp"
#include "worker/series.hpp"
#include "worker/signal_gate.hpp"

namespace screener::worker {

/// Where the engine's signals go: the daemon link in screener-worker, a vector in tests.
class SignalSink {
 public:
  virtual ~SignalSink() = default;
  virtual void emit(std::uint64_t id, std::string json) = 0;
};

struct EngineOptions {
  std::uint32_t worker_index = 0;
  std::chrono::milliseconds timeframe_wait{2000};
  std::size_t max_catch_up = 32;  ///< fresh bars evaluated per ring and sync; older ones are skipped
  std::string state_dir_override;  ///< non-empty: persist fired state here instead of the table's
  std::function<std::int64_t()> now_ms;  ///< Unix ms for the signals' ts; default: the system clock
};

struct EngineStats {
  std::uint64_t evaluations = 0;    ///< trader-symbol evaluations
  std::uint64_t signals = 0;        ///< signals emitted
  std::uint64_t suppressed = 0;     ///< true edges held back by once-per-bar or the cooldown
  std::uint64_t late_suppressed = 0;  ///< late signals dropped by `late = "suppress"`
  std::uint64_t wait_expired = 0;   ///< evaluations that went ahead without a higher timeframe's bar
  std::uint64_t skipped_bars = 0;   ///< fresh bars beyond max_catch_up, not evaluated
  std::uint64_t eval_ns = 0;        ///< time spent in process()
  std::uint64_t eval_rounds = 0;    ///< process() calls that evaluated something
  std::uint64_t eval_round_ns = 0;  ///< their total duration
  /// eval_rounds by duration, bucketed as protocol::kEvalRoundBoundsNs (common/worker_protocol.hpp).
  std::array<std::uint64_t, 16> eval_round_buckets{};
  std::uint64_t generation = 0;     ///< trader table generation applied
  std::uint32_t traders = 0;        ///< traders owned
  std::uint32_t trader_errors = 0;  ///< owned traders that failed to compile here
};

/// One owned trader's share of EngineStats, for the daemon's status (protocol TraderStats).
struct TraderCounters {
  std::string name;
  std::uint32_t table_index = 0;  ///< in the trader table generation applied last (EngineStats::generation)
  std::uint64_t evaluations = 0;
  std::uint64_t signals = 0;
  std::uint64_t suppressed = 0;
};

class Engine {
 public:
  Engine(shm::SegmentView view, EngineOptions options, SignalSink& sink);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void apply_table(const shm::TraderTableSnapshot& table);
  void note(const shm::JournalEntry& entry) noexcept;
  /// The journal lapped this worker: every watched ring is synced on the next process().
  void note_lapped() noexcept;
  void process();
  /// Writes every fired change made so far and returns once it is on disk (fired_writer.hpp
  /// writes in the background otherwise): before a restart hands the files to another worker.
  void persist_fired();

  /// Evaluations are waiting for a higher timeframe: call process() again soon.
  [[nodiscard]] bool waiting() const noexcept { return !jobs_.empty(); }
  [[nodiscard]] const EngineStats& stats() const noexcept { return stats_; }
  [[nodiscard]] std::size_t trader_count() const noexcept { return traders_.size(); }
  /// Per owned trader: evaluations, signals and suppressed edges since it was taken on (a trader
  /// whose text is unchanged keeps its counts across table generations).
  [[nodiscard]] std::vector<TraderCounters> trader_stats() const;

 private:
  struct Trader;
  struct Job {
    std::uint32_t symbol;
    std::uint8_t interval;
    std::int64_t open_time_ms;
    bool late;
    bool prime;  ///< set the edge state from the current bar without emitting
    std::chrono::steady_clock::time_point queued;
  };
  class Source;

  void rebuild();
  void match_symbols();
  void sync_symbol(std::uint32_t symbol);
  void run_jobs();
  void evaluate_closed(Trader& trader, GateState& gate, const Job& job, std::size_t own_age,
                       std::span<const std::size_t> ages);
  void evaluate_intrabar(std::uint32_t ring);
  void emit(Trader& trader, std::uint32_t symbol, std::int64_t open_time_ms, double close, bool late, bool intrabar,
            std::span<const std::size_t> ages);
  /// Hands the fired changes since the last call to the writer thread.
  void submit_fired();
  /// Reads the evaluation progress a previous engine of this worker index left in `state_dir`.
  void load_progress(const std::string& state_dir);
  /// Hands the evaluation progress to the writer thread, at most once a second unless `now`.
  void submit_progress(bool now);
  [[nodiscard]] bool timeframes_ready(std::span<const std::uint8_t> intervals, std::uint32_t symbol,
                                      std::int64_t close_ms) const;
  [[nodiscard]] Series* series(std::uint32_t symbol, std::uint8_t interval) const noexcept {
    return series_[symbol * view_.interval_count() + interval].get();
  }

  shm::SegmentView view_;
  EngineOptions options_;
  SignalSink& sink_;
  EngineStats stats_;
  std::unique_ptr<FiredStore> fired_store_;
  FiredWriter fired_writer_;
  std::vector<std::unique_ptr<Trader>> traders_;
  std::vector<std::vector<rules::IndicatorKey>> keys_;         ///< per interval index
  std::size_t history_ = 1;                                    ///< values and bars kept per series
  std::vector<std::unique_ptr<Series>> series_;                ///< per ring; null when unused
  /// Per ring, across a table change: the open time through which the previous generation had
  /// evaluated; the re-warm primes there and evaluates the bars after it. 0: none (first warm-up).
  std::vector<std::int64_t> resume_after_;
  std::vector<std::vector<std::uint32_t>> closed_traders_;     ///< per ring: traders evaluated at its closes
  std::vector<std::vector<std::uint32_t>> intrabar_traders_;   ///< per ring: on = "update" traders
  /// Per ring: the other closed timeframes its closed_traders_ read (the union of their other_intervals).
  std::vector<std::vector<std::uint8_t>> ring_other_intervals_;
  /// Edge and cooldown state per (symbol slot, trader): [slot * traders_.size() + trader]. Symbol-major,
  /// so that the traders evaluated on one bar read consecutive entries.
  std::vector<GateState> gates_;
  std::vector<std::string> slot_names_;                        ///< per symbol slot, as of match_symbols()
  /// "SYMBOL INTERVAL" -> open time of the newest bar a previous engine evaluated; taken by the
  /// first series of that ring, which then evaluates the bars after it (late_resume_).
  std::map<std::string, std::int64_t, std::less<>> restart_progress_;
  bool progress_loaded_ = false;
  std::vector<std::uint8_t> late_resume_;                      ///< per ring: the resume is a restart's
  std::chrono::steady_clock::time_point last_progress_submit_{};
  std::string progress_path_;
  std::vector<std::uint8_t> dirty_;                            ///< per symbol: some ring changed
  std::vector<std::uint32_t> dirty_list_;
  std::vector<std::uint8_t> forming_dirty_;                    ///< per ring
  std::vector<std::uint32_t> forming_list_;
  bool symbols_changed_ = false;
  std::deque<Job> jobs_;
  std::vector<shm::Bar> scratch_bars_;
  std::vector<FreshBar> fresh_;
  std::vector<double> stack_;
};

}  // namespace screener::worker
