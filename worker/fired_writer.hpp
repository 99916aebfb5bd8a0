// SPDX-License-Identifier: Apache-2.0
#pragma once

// Writes the traders' fired files (fired_store.hpp) on a thread of its own, so that the
// evaluation loop never waits for the disk: rewriting one file costs 0.1 to 0.7 ms on an ordinary
// file system, and a wave in which a hundred traders fire would otherwise hold the next symbols'
// signals back by tens of milliseconds.
//
// The engine hands over only what changed (trader, symbol, bar) and returns at once. The thread
// keeps each trader's whole map, read from its file the first time the trader changes, applies
// the changes and rewrites the files of the traders that changed, at most once per `min_gap`:
// a burst of fires costs one write per trader. Other small state files (the engine's evaluation
// progress) go the same way, whole. A worker killed outright loses at most the last
// `min_gap` of changes; the daemon writes each signal id once, so a repeated bar is not
// written twice, and a graceful stop (the engine's destructor) drains everything first.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "worker/fired_store.hpp"

namespace screener::worker {

struct FiredChange {
  std::string symbol;
  std::int64_t open_time_ms = 0;
};

class FiredWriter {
 public:
  explicit FiredWriter(std::chrono::milliseconds min_gap = std::chrono::milliseconds(100));
  ~FiredWriter();  ///< drains, then stops the thread
  FiredWriter(const FiredWriter&) = delete;
  FiredWriter& operator=(const FiredWriter&) = delete;

  /// Queues `changes` to `trader`'s file in `store`'s directory; never waits for the disk.
  void submit(const FiredStore& store, const std::string& trader, std::vector<FiredChange> changes);
  /// Queues a whole file to be written atomically; a later text for the same path replaces one
  /// not written yet.
  void replace_file(std::string path, std::string text);
  /// Returns once everything submitted so far is written (or has failed and been logged).
  void drain();
  /// Forgets the maps kept in memory, so that the next change to a trader reads its file again:
  /// after the trader was away (another worker may have written the file meanwhile). Drains first.
  void reload_from_files();

  /// Files written, and writes that failed, since the start.
  [[nodiscard]] std::uint64_t writes() const;
  [[nodiscard]] std::uint64_t failures() const;

 private:
  struct TraderFile {
    FiredStore store{""};
    std::string trader;
    std::map<std::string, std::int64_t, std::less<>> fired;
    bool loaded = false;
  };
  struct Pending {
    FiredStore store{""};
    std::string trader;
    std::vector<FiredChange> changes;
  };

  void run();
  void write_round(std::vector<Pending> batch, std::map<std::string, std::string> whole_files);

  std::chrono::milliseconds min_gap_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::vector<Pending> pending_;
  std::map<std::string, std::string> whole_files_;  ///< path -> text, for replace_file()
  std::uint64_t submitted_ = 0;  ///< submit() calls
  std::uint64_t done_ = 0;       ///< submit() calls whose changes are written or failed
  bool draining_ = false;        ///< a drain() waits: skip the gap
  bool forget_files_ = false;    ///< reload_from_files(): clear files_ before the next round
  bool stopping_ = false;
  std::uint64_t writes_ = 0;
  std::uint64_t failures_ = 0;
  std::map<std::string, TraderFile> files_;  ///< by file path; the thread's alone
  std::thread thread_;
};

}  // namespace screener::worker
