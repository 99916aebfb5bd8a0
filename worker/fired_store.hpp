// SPDX-License-Identifier: Apache-2.0
#pragma once

// Persists, per trader, the bar each symbol last fired on, so that a restarted worker, or the
// worker a trader moves to on a rebalance, neither repeats a signal nor forgets a cooldown.
// One small text file per trader in the state directory, `<trader>.fired`, one line per symbol:
// `SYMBOL OPEN_TIME_MS`. Written whole to a temporary file and renamed over the old one, so a
// crash leaves either the old or the new file, never half of one.

#include <cstdint>
#include <expected>
#include <map>
#include <string>
#include <string_view>

namespace screener::worker {

/// Writes `text` to `file` through `file`.tmp and a rename: a crash leaves the old or the new file.
[[nodiscard]] std::expected<void, std::string> write_file_atomically(const std::string& file, std::string_view text);

class FiredStore {
 public:
  /// `dir` empty: nothing is persisted.
  explicit FiredStore(std::string dir) : dir_(std::move(dir)) {}

  /// symbol -> open time of the bar it last fired on; empty if there is no file. A malformed
  /// line is an error naming the file and line.
  [[nodiscard]] std::expected<std::map<std::string, std::int64_t, std::less<>>, std::string> load(
      std::string_view trader) const;
  /// Replaces the trader's file.
  [[nodiscard]] std::expected<void, std::string> save(std::string_view trader,
                                                      const std::map<std::string, std::int64_t, std::less<>>& fired) const;

  [[nodiscard]] const std::string& dir() const noexcept { return dir_; }

 private:
  [[nodiscard]] std::string path(std::string_view trader) const;
  std::string dir_;
};

}  // namespace screener::worker
