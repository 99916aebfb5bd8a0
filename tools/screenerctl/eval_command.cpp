// SPDX-License-Identifier: Apache-2.0
// `screenerctl eval`: evaluates a rule or a number expression over closed bars, from a kline CSV
// (aggregated to the intervals the rule uses) or from a live segment's rings. See docs/rules.md,
// "Evaluation".

#include <fmt/format.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "common/interval.hpp"
#include "common/kline_csv.hpp"
#include "common/kline_ring.hpp"
#include "common/rules/evaluate.hpp"
#include "common/rules/rules.hpp"
#include "common/segment_geometry.hpp"
#include "common/segment_reader.hpp"
#include "tools/screenerctl/commands.hpp"

namespace screener::ctl {

namespace {

constexpr std::string_view kEvalUsage =
    "usage: screenerctl eval --csv FILE [--symbol SYM] --interval IV [--series] 'EXPR'\n"
    "       screenerctl eval --symbol SYM --interval IV [--segment NAME] [--series] 'EXPR'\n";

struct EvalArgs {
  std::string csv;
  std::string symbol;
  std::string segment;
  std::string interval;
  std::string expr;
  bool has_csv = false;
  bool has_segment = false;
  bool series = false;
};

std::optional<EvalArgs> parse_args(std::span<const std::string_view> args) {
  EvalArgs out;
  bool has_expr = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    const bool value = i + 1 < args.size();
    if (a == "--csv" && value) {
      out.csv = std::string(args[++i]);
      out.has_csv = true;
    } else if (a == "--symbol" && value) {
      out.symbol = std::string(args[++i]);
    } else if (a == "--interval" && value) {
      out.interval = std::string(args[++i]);
    } else if (a == "--segment" && value) {
      out.segment = std::string(args[++i]);
      out.has_segment = true;
    } else if (a == "--series") {
      out.series = true;
    } else if (a.starts_with("--")) {
      fmt::print(stderr, "screenerctl eval: unknown option '{}'\n{}", a, kEvalUsage);
      return std::nullopt;
    } else if (!has_expr) {
      out.expr = std::string(a);
      has_expr = true;
    } else {
      fmt::print(stderr, "screenerctl eval: one expression expected (quote it)\n{}", kEvalUsage);
      return std::nullopt;
    }
  }
  if (!has_expr || out.interval.empty() || (!out.has_csv && out.symbol.empty()) || (out.has_csv && out.has_segment)) {
    fmt::print(stderr, "{}", kEvalUsage);
    return std::nullopt;
  }
  return out;
}

template <std::size_t N>
std::string_view text_of(const std::array<char, N>& field) {
  return {field.data(), strnlen(field.data(), N)};
}

int print_result(const rules::CheckedRule& rule, std::span<const rules::SeriesInput> inputs, bool series) {
  const auto result = rules::evaluate_series(rule, inputs);
  if (!result) {
    fmt::print(stderr, "screenerctl eval: {}\n", result.error());
    return 2;
  }
  for (const std::string& note : result->notes) fmt::print(stderr, "screenerctl eval: note: {}\n", note);
  const std::span<const shm::Bar> trader = inputs[0].bars;
  if (series) {
    fmt::print("open_time,value\n");
    for (std::size_t t = 0; t < trader.size(); ++t)
      fmt::print("{},{}\n", trader[t].open_time_ms, rules::format_value(result->type, result->values[t]));
    return 0;
  }
  if (result->values.empty()) {
    fmt::print(stderr, "screenerctl eval: no closed bars of {} to evaluate\n", interval_name(rule.trader_interval));
    return 1;
  }
  fmt::print("{}\n", rules::format_value(result->type, result->values.back()));
  return 0;
}

int eval_csv(const EvalArgs& args, Interval trader) {
  std::vector<Interval> held;
  for (const IntervalInfo& info : kIntervals)
    if (static_cast<int>(info.code) >= static_cast<int>(trader)) held.push_back(info.code);
  const auto rule = rules::load_expression(args.expr, rules::Origin{"<command line>", 1, 1},
                                           rules::CheckOptions{trader, held, {}});
  if (!rule) {
    fmt::print(stderr, "{}", rule.error());
    return 2;
  }
  auto loaded = load_kline_csv(args.csv);
  if (!loaded) {
    fmt::print(stderr, "screenerctl eval: {}\n", loaded.error());
    return 1;
  }
  const KlineSeries* series = nullptr;
  if (!args.symbol.empty()) {
    for (const KlineSeries& s : *loaded)
      if (s.symbol() == args.symbol) series = &s;
    if (series == nullptr) {
      fmt::print(stderr, "screenerctl eval: symbol {} is not in {}\n", args.symbol, args.csv);
      return 1;
    }
  } else if (loaded->size() == 1) {
    series = &loaded->front();
  } else {
    fmt::print(stderr, "screenerctl eval: {} holds {} symbols: choose one with --symbol\n", args.csv, loaded->size());
    return 1;
  }
  const Interval base = series->interval();
  if (static_cast<int>(trader) < static_cast<int>(base)) {
    fmt::print(stderr, "screenerctl eval: interval {} is finer than the file's interval {}\n", args.interval,
               interval_name(base));
    return 1;
  }
  std::vector<std::vector<shm::Bar>> bars;
  std::vector<rules::SeriesInput> inputs;
  std::vector<Interval> needed = rules::required_intervals(*rule);
  std::erase(needed, trader);
  needed.insert(needed.begin(), trader);  // the trader's interval first
  bars.reserve(needed.size());
  for (Interval iv : needed) {
    auto aggregated = rules::aggregate_bars(series->bars(), base, iv);
    if (!aggregated) {
      fmt::print(stderr, "screenerctl eval: {}\n", aggregated.error());
      return 1;
    }
    bars.push_back(std::move(*aggregated));
    inputs.push_back({iv, bars.back()});
  }
  return print_result(*rule, inputs, args.series);
}

int eval_segment(const EvalArgs& args, Interval trader) {
  shm::ReaderOptions options;
  if (args.has_segment) options.name = args.segment;
  auto reader = shm::SegmentReader::open(options);
  if (!reader) {
    fmt::print(stderr, "screenerctl eval: {}\n", reader.error().message);
    return 1;
  }
  const shm::SegmentView& view = reader->view();
  std::vector<Interval> held;
  for (std::uint32_t i = 0; i < view.interval_count(); ++i) held.push_back(shm::geometry_interval(view.geometry(), i));
  if (shm::geometry_interval_index(view.geometry(), trader) < 0) {
    fmt::print(stderr, "screenerctl eval: the segment does not hold interval {}\n", args.interval);
    return 1;
  }
  const auto rule = rules::load_expression(args.expr, rules::Origin{"<command line>", 1, 1},
                                           rules::CheckOptions{trader, held, {}});
  if (!rule) {
    fmt::print(stderr, "{}", rule.error());
    return 2;
  }
  std::optional<std::uint32_t> slot;
  for (std::uint32_t s = 0; s < view.max_symbols() && !slot; ++s) {
    const auto info = shm::seqlock_read(&view.symbol_slot(s)->info);
    if (info && info->slot_state != static_cast<std::uint32_t>(shm::SlotState::Free) &&
        text_of(info->symbol) == args.symbol)
      slot = s;
  }
  if (!slot) {
    fmt::print(stderr, "screenerctl eval: symbol {} is not in the segment (see screenerctl symbols)\n", args.symbol);
    return 1;
  }
  std::vector<Interval> needed = rules::required_intervals(*rule);
  std::erase(needed, trader);
  needed.insert(needed.begin(), trader);
  std::vector<std::vector<shm::Bar>> bars;
  std::vector<rules::SeriesInput> inputs;
  bars.reserve(needed.size());
  for (Interval iv : needed) {
    const int index = shm::geometry_interval_index(view.geometry(), iv);
    if (index < 0) {
      fmt::print(stderr, "screenerctl eval: the segment does not hold interval {}\n", interval_name(iv));
      return 1;
    }
    std::vector<shm::Bar> ring_bars(view.ring_capacity());
    const auto count =
        shm::ring_read_closed(view, view.ring_index(*slot, static_cast<std::uint32_t>(index)), ring_bars);
    if (!count) {
      fmt::print(stderr, "screenerctl eval: the {} ring kept changing while being read; try again\n",
                 interval_name(iv));
      return 1;
    }
    ring_bars.resize(*count);
    bars.push_back(std::move(ring_bars));
    inputs.push_back({iv, bars.back()});
  }
  return print_result(*rule, inputs, args.series);
}

}  // namespace

int run_eval(std::span<const std::string_view> args) {
  const auto parsed = parse_args(args);
  if (!parsed) return 2;
  const auto trader = parse_interval(parsed->interval);
  if (!trader) {
    fmt::print(stderr, "screenerctl eval: unknown interval '{}'\n", parsed->interval);
    return 2;
  }
  return parsed->has_csv ? eval_csv(*parsed, *trader) : eval_segment(*parsed, *trader);
}

}  // namespace screener::ctl
