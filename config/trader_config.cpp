// SPDX-License-Identifier: Apache-2.0
#include "config/trader_config.hpp"

#include <fmt/format.h>
#include <fnmatch.h>
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <span>
#include <sstream>

#include "config/table_reader.hpp"

namespace screener::config {

namespace {

constexpr std::string_view kDurationSyntax = R"("30s", "5m", "1h", "1d", "500ms" or "0")";
constexpr std::int64_t kMaxDurationMs = 365LL * 86'400'000;
constexpr std::int64_t kMaxCooldownBars = 100'000;

/// A parsed duration value: a time, or (for cooldown) a number of bars of the trader's interval.
struct Duration {
  std::chrono::milliseconds time{0};
  std::uint32_t bars = 0;
};

/// "<digits><ms|s|m|h|d>", "0", and with `allow_bars` "<digits> bar[s]"; nullopt for anything else
/// or for a value beyond the limits.
std::optional<Duration> parse_duration(std::string_view text, bool allow_bars) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9) return std::nullopt;  // nine digits cannot overflow the products below
  std::int64_t count = 0;
  std::from_chars(text.data(), text.data() + digits, count);
  std::string_view unit = text.substr(digits);
  if (unit.empty()) {
    if (count != 0) return std::nullopt;  // a bare number has no unit; only 0 is unambiguous
    return Duration{};
  }
  if (allow_bars && unit.starts_with(' ')) {
    unit.remove_prefix(unit.find_first_not_of(' '));
    if ((unit != "bar" && unit != "bars") || count > kMaxCooldownBars) return std::nullopt;
    return Duration{{}, static_cast<std::uint32_t>(count)};
  }
  static constexpr std::array<std::pair<std::string_view, std::int64_t>, 5> kUnits{{
      {"ms", 1}, {"s", 1'000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}}};
  for (const auto& [name, ms] : kUnits) {
    if (unit != name) continue;
    if (count * ms > kMaxDurationMs) return std::nullopt;
    return Duration{std::chrono::milliseconds(count * ms), 0};
  }
  return std::nullopt;
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxTraderNameLength) return false;
  return std::ranges::all_of(name, [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

/// Why `glob` can never select a Binance symbol, or nullopt if it is well formed.
std::optional<std::string> glob_problem(std::string_view glob) {
  if (glob.empty()) return "a symbol pattern must not be empty";
  for (const char c : glob) {
    const bool allowed = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '*' || c == '?' || c == '[' ||
                         c == ']' || c == '!' || c == '-';
    if (allowed) continue;
    const std::string shown = c > ' ' && c < 0x7f ? fmt::format(" '{}'", c) : std::string();
    return fmt::format(
        "symbol pattern '{}' has the character{} that no symbol can match: Binance symbols are upper-case letters "
        "and digits, and a pattern may add the glob characters * ? [ ] ! -",
        glob, shown);
  }
  // fnmatch takes an unclosed '[' literally, and no symbol contains one: surely a typo.
  for (std::size_t i = 0; i < glob.size(); ++i) {
    if (glob[i] != '[') continue;
    std::size_t j = i + 1;
    if (j < glob.size() && glob[j] == '!') ++j;
    if (j < glob.size() && glob[j] == ']') ++j;  // a ']' first in the set is a member, not the end
    const std::size_t close = glob.find(']', j);
    if (close == std::string_view::npos) return fmt::format("symbol pattern '{}' has an unclosed '['", glob);
    i = close;
  }
  return std::nullopt;
}

std::string interval_names(std::span<const Interval> intervals) {
  std::string names;
  for (const Interval interval : intervals) names += (names.empty() ? "" : " ") + std::string(interval_name(interval));
  return names;
}

std::string all_interval_names() {
  std::string names;
  for (const auto& info : kIntervals) names += (names.empty() ? "" : " ") + std::string(info.name);
  return names;
}

/// Where the rule text starts in the file. toml++ locates a string at its opening delimiter; the
/// text begins right after it, or on the next line when a multi-line string's opening delimiter
/// ends its line (TOML drops that newline). Only blanks, the key and '=' precede the value on its
/// line, so toml++'s column (in code points) is also the byte column the rule checker counts in.
rules::Origin rule_origin(std::string_view text, const toml::source_position& at, const std::string& file) {
  const int line = static_cast<int>(at.line);
  const int column = static_cast<int>(at.column);
  std::size_t offset = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;  // toml++ does not count a BOM
  for (int l = 1; l < line && offset != std::string_view::npos; ++l) {
    offset = text.find('\n', offset);
    if (offset != std::string_view::npos) ++offset;
  }
  if (offset == std::string_view::npos || offset + static_cast<std::size_t>(column - 1) > text.size())
    return {file, line, column + 1};
  std::string_view value = text.substr(offset + static_cast<std::size_t>(column - 1));
  if (!value.starts_with(R"(""")") && !value.starts_with("'''")) return {file, line, column + 1};
  value.remove_prefix(3);
  if (value.starts_with('\n') || value.starts_with("\r\n")) return {file, line + 1, 1};
  return {file, line, column + 3};
}

SymbolSelector read_symbols(TableReader& table, const toml::table& document) {
  const toml::node* node = document.get("symbols");
  if (node == nullptr || node->is_string()) {
    const std::string glob = table.string("symbols", "all");
    if (glob == "all") return SymbolSelector::all();
    if (auto problem = glob_problem(glob)) table.fail("symbols", *problem);
    return SymbolSelector::patterns({glob});
  }
  if (!node->is_array())
    table.fail("symbols", R"(expected "all", a symbol pattern such as "*USDT", or a list of patterns and symbols)");
  const std::vector<std::string> globs = table.strings("symbols", {});
  if (globs.empty())
    table.fail("symbols", R"(the list is empty, so the trader would watch nothing; for every symbol write "all")");
  for (std::size_t i = 0; i < globs.size(); ++i) {
    if (globs[i] == "all") table.fail("symbols", R"("all" stands alone: write symbols = "all", not a list)");
    if (auto problem = glob_problem(globs[i])) table.fail("symbols", *problem);
    if (std::find(globs.begin(), globs.begin() + static_cast<std::ptrdiff_t>(i), globs[i]) !=
        globs.begin() + static_cast<std::ptrdiff_t>(i))
      table.fail("symbols", fmt::format("'{}' is listed twice", globs[i]));
  }
  return SymbolSelector::patterns(globs);
}

}  // namespace

std::string_view to_string(EvaluateOn on) noexcept { return on == EvaluateOn::Close ? "close" : "update"; }

std::string_view to_string(LatePolicy late) noexcept { return late == LatePolicy::Mark ? "mark" : "suppress"; }

SymbolSelector SymbolSelector::all() { return SymbolSelector(); }

SymbolSelector SymbolSelector::patterns(std::vector<std::string> globs) {
  SymbolSelector selector;
  selector.all_ = false;
  selector.globs_ = std::move(globs);
  return selector;
}

bool SymbolSelector::matches(std::string_view symbol) const noexcept {
  if (all_) return true;
  // fnmatch needs a NUL-terminated copy. The segment's symbol slots are 32 bytes, so a longer name
  // (or one holding a NUL) cannot be a held symbol, and matching nothing is right for it.
  std::array<char, 64> name{};
  if (symbol.size() >= name.size() || symbol.find('\0') != std::string_view::npos) return false;
  std::copy(symbol.begin(), symbol.end(), name.begin());
  return std::ranges::any_of(globs_,
                             [&](const std::string& glob) { return ::fnmatch(glob.c_str(), name.data(), 0) == 0; });
}

std::string SymbolSelector::to_string() const {
  if (all_) return "all";
  if (globs_.size() == 1) return globs_.front();
  return fmt::format("[{}]", fmt::join(globs_, ", "));
}

TraderSpec parse_trader(std::string_view toml_text, std::string file, const TraderCheckOptions& options) {
  toml::table document;
  try {
    document = toml::parse(toml_text, std::string_view(file));
  } catch (const toml::parse_error& error) {
    throw ConfigError(file, error.source().begin.line, error.source().begin.column, "<syntax>",
                      std::string(error.description()));
  }
  TraderSpec spec;
  spec.file = file;
  TableReader table(document, "", file);

  // Every key is read before any value is judged, so a misspelt key is reported as such rather
  // than as the required key it was meant to be.
  spec.name = table.string("name", "");
  spec.symbols = read_symbols(table, document);
  const std::string interval = table.string("interval", "");
  spec.when = table.string("when", "");
  const std::string on = table.string("on", std::string(to_string(spec.on)));
  const std::string cooldown = table.string("cooldown", "0");
  const std::string throttle = table.string("throttle", "1s");
  const std::string late = table.string("late", std::string(to_string(spec.late)));
  spec.description = table.string("description", "");
  spec.all_sinks = !document.contains("sinks");
  spec.sinks = table.strings("sinks", {});
  table.reject_unknown_keys();

  for (const std::string_view key : {"name", "interval", "when"})
    if (!document.contains(key)) table.fail(key, "missing: every trader needs a name, an interval and a when rule");

  if (!valid_name(spec.name))
    table.fail("name", fmt::format("expected 1 to {} characters of A-Z a-z 0-9 . _ -, got '{}'",
                                   kMaxTraderNameLength, spec.name));

  const auto parsed_interval = parse_interval(interval);
  if (!parsed_interval)
    table.fail("interval", fmt::format("unknown interval '{}'; Binance's are: {}", interval, all_interval_names()));
  if (std::ranges::find(options.held, *parsed_interval) == options.held.end())
    table.fail("interval", fmt::format("interval '{}' is not held; the segment holds: {}", interval,
                                       interval_names(options.held)));
  spec.interval = *parsed_interval;

  if (on == "close") spec.on = EvaluateOn::Close;
  else if (on == "update") spec.on = EvaluateOn::Update;
  else table.fail("on", fmt::format(R"(expected "close" or "update", got "{}")", on));

  const auto cooldown_value = parse_duration(cooldown, true);
  if (!cooldown_value)
    table.fail("cooldown", fmt::format(R"(expected a duration such as {} (at most 365d), or a bar count such as )"
                                       R"("3 bars" (at most {}), got "{}")",
                                       kDurationSyntax, kMaxCooldownBars, cooldown));
  spec.cooldown = cooldown_value->time;
  spec.cooldown_bars = cooldown_value->bars;

  if (document.contains("throttle") && spec.on != EvaluateOn::Update)
    table.fail("throttle", R"(only applies to on = "update"; closed bars are evaluated once each)");
  const auto throttle_value = parse_duration(throttle, false);
  if (!throttle_value || throttle_value->time < kMinThrottle)
    table.fail("throttle", fmt::format(R"(expected a duration from {}ms to 365d, such as "250ms", "1s" or "5s", )"
                                       R"(got "{}")",
                                       kMinThrottle.count(), throttle));
  spec.throttle = throttle_value->time;

  if (late == "mark") spec.late = LatePolicy::Mark;
  else if (late == "suppress") spec.late = LatePolicy::Suppress;
  else table.fail("late", fmt::format(R"(expected "mark" or "suppress", got "{}")", late));

  for (std::size_t i = 0; i < spec.sinks.size(); ++i) {
    const std::string& sink = spec.sinks[i];
    if (std::find(spec.sinks.begin(), spec.sinks.begin() + static_cast<std::ptrdiff_t>(i), sink) !=
        spec.sinks.begin() + static_cast<std::ptrdiff_t>(i))
      table.fail("sinks", fmt::format("'{}' is listed twice", sink));
    if (options.sink_names && std::ranges::find(*options.sink_names, sink) == options.sink_names->end())
      table.fail("sinks", options.sink_names->empty()
                              ? fmt::format("unknown sink '{}': screener.toml configures no [sinks.*]", sink)
                              : fmt::format("unknown sink '{}'; the configured sinks are: {}", sink,
                                            fmt::join(*options.sink_names, ", ")));
  }

  spec.when_origin = rule_origin(toml_text, document.get("when")->source().begin, file);
  const rules::CheckOptions check_options{spec.interval, options.held, options.warmup};
  auto rule = rules::load_rule(spec.when, spec.when_origin, check_options);
  if (!rule) {
    std::string diagnostics = std::move(rule.error());
    while (diagnostics.ends_with('\n')) diagnostics.pop_back();
    throw ConfigError::verbatim(std::move(diagnostics), file, static_cast<std::uint32_t>(spec.when_origin.line),
                                static_cast<std::uint32_t>(spec.when_origin.column), "when");
  }
  if (auto shortfall = rules::check_history(*rule, options.history_bars)) table.fail("when", *shortfall);
  spec.rule = std::move(*rule);
  return spec;
}

TraderSpec load_trader(const std::string& path, const TraderCheckOptions& options) {
  std::ifstream file(path);
  if (!file) throw ConfigError(path, 0, 0, "<file>", "cannot open the trader file");
  std::ostringstream text;
  text << file.rdbuf();
  return parse_trader(text.str(), path, options);
}

std::vector<TraderSpec> load_traders_dir(const std::string& dir, const TraderCheckOptions& options) {
  namespace fs = std::filesystem;
  auto fail = [&](std::vector<std::string> errors) {
    std::string message = fmt::format("traders directory {}: {} error{}", dir, errors.size(),
                                      errors.size() == 1 ? "" : "s");
    for (const std::string& error : errors) message += "\n" + error;
    TraderDirError error(message);
    error.errors = std::move(errors);
    throw error;
  };

  std::vector<std::string> names;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    fail({fmt::format("{}: {}", dir,
                      fs::exists(dir, ec) ? "is not a directory" : "no such directory")});
  }
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with('.') || it->path().extension() != ".toml") continue;
    std::error_code type_ec;
    if (it->is_directory(type_ec)) continue;
    names.push_back(name);
  }
  if (ec) fail({fmt::format("{}: cannot list the directory: {}", dir, ec.message())});
  std::ranges::sort(names);

  std::vector<TraderSpec> traders;
  std::vector<std::string> errors;
  std::map<std::string, std::string, std::less<>> files_by_name;
  for (const std::string& name : names) {
    try {
      TraderSpec spec = load_trader((fs::path(dir) / name).string(), options);
      if (const auto [it, fresh] = files_by_name.emplace(spec.name, spec.file); !fresh) {
        errors.push_back(fmt::format("{}: name: '{}' is already the name of the trader in {}", spec.file, spec.name,
                                     it->second));
        continue;
      }
      traders.push_back(std::move(spec));
    } catch (const ConfigError& error) {
      errors.emplace_back(error.what());
    }
  }
  if (!errors.empty()) fail(std::move(errors));
  return traders;
}

}  // namespace screener::config
