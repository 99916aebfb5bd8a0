// SPDX-License-Identifier: Apache-2.0
#pragma once

// Trader files: one screening rule per TOML file in a traders directory (docs/rules.md, "Trader
// files"). Parsing checks everything a worker would otherwise trip over later: the rule is type
// checked against the held intervals and its warm-up against the held history, so a trader that
// loads can be evaluated.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/interval.hpp"
#include "common/rules/rules.hpp"
#include "config/config_error.hpp"

namespace screener::config {

enum class EvaluateOn : std::uint8_t { Close, Update };
enum class LatePolicy : std::uint8_t { Mark, Suppress };

[[nodiscard]] std::string_view to_string(EvaluateOn on) noexcept;   ///< "close", "update"
[[nodiscard]] std::string_view to_string(LatePolicy late) noexcept;  ///< "mark", "suppress"

/// Which symbols a trader watches: "all", one glob, or a list of globs / exact names.
class SymbolSelector {
 public:
  /// Every symbol.
  SymbolSelector() = default;

  static SymbolSelector all();
  static SymbolSelector patterns(std::vector<std::string> globs);

  /// fnmatch(3) semantics, case-sensitive, no flags; true if any glob matches.
  [[nodiscard]] bool matches(std::string_view symbol) const noexcept;
  [[nodiscard]] bool is_all() const noexcept { return all_; }
  /// Empty for all().
  [[nodiscard]] const std::vector<std::string>& globs() const noexcept { return globs_; }
  /// "all", "*USDT" (one glob), or "[BTCUSDT, ETH*]".
  [[nodiscard]] std::string to_string() const;

 private:
  bool all_ = true;
  std::vector<std::string> globs_;
};

struct TraderSpec {
  std::string file;                 ///< the file it came from, as given
  std::string name;                 ///< 1..64 chars of [A-Za-z0-9._-], unique in a directory
  SymbolSelector symbols;
  Interval interval = Interval::m1;  ///< one of the held intervals
  std::string when;                 ///< rule text exactly as in the file
  rules::Origin when_origin;        ///< file, line, column of the rule's first character in the file
  EvaluateOn on = EvaluateOn::Close;
  std::chrono::milliseconds cooldown{0};     ///< "30s" "5m" "1h" "1d" or "0"
  std::uint32_t cooldown_bars = 0;           ///< "3 bars"; at most one of cooldown/cooldown_bars is non-zero
  std::chrono::milliseconds throttle{1000};  ///< on = "update": least time between intrabar evaluations of a symbol
  LatePolicy late = LatePolicy::Mark;        ///< signals on backfilled bars
  std::string description;
  /// The `[sinks.NAME]` of screener.toml this trader's signals go to, besides the JSONL record.
  /// Absent (`all_sinks`): every configured sink; `sinks = []`: none.
  std::vector<std::string> sinks;
  bool all_sinks = true;
  rules::CheckedRule rule;
};

struct TraderCheckOptions {
  std::vector<Interval> held;       ///< intervals the segment holds (the [market] intervals)
  int history_bars = 1440;          ///< closed bars per interval held
  rules::WarmupPolicy warmup;
  /// The configured sink names `sinks` may list; nullopt: not checked (workers, which do not
  /// deliver signals themselves).
  std::optional<std::vector<std::string>> sink_names;
};

inline constexpr std::size_t kMaxTraderNameLength = 64;
inline constexpr std::chrono::milliseconds kMinThrottle{100};

/// Parses one trader file's text; `file` names it in errors and in TraderSpec::file. Throws
/// ConfigError naming file:line:column and key on any error; for a bad `when`, what() is the rule
/// checker's formatted diagnostics without the final newline (positions inside the file, the
/// source line and a caret; see rules::load_rule) and line() and column() are where the rule starts.
[[nodiscard]] TraderSpec parse_trader(std::string_view toml_text, std::string file, const TraderCheckOptions& options);

/// Reads and parses a file. Throws ConfigError (also for a missing or unreadable file).
[[nodiscard]] TraderSpec load_trader(const std::string& path, const TraderCheckOptions& options);

/// Every error of a traders directory; what() lists them all, one after the other.
struct TraderDirError : std::runtime_error {
  using std::runtime_error::runtime_error;
  std::vector<std::string> errors;
};

/// Every `*.toml` file of a directory (not recursive; hidden files and other extensions ignored),
/// sorted by file name. All files are checked; if any fails, throws TraderDirError listing every
/// failing file's error and every duplicate name (naming both files). A missing directory is an
/// error naming it; an empty directory is valid (no traders).
[[nodiscard]] std::vector<TraderSpec> load_traders_dir(const std::string& dir, const TraderCheckOptions& options);

}  // namespace screener::config
