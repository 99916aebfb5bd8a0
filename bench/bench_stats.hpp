// SPDX-License-Identifier: Apache-2.0
#pragma once

// A deliberately small benchmark harness: collect per-operation samples (nanoseconds), sort them,
// and print count / median / p99 / p99.9 / max as aligned text or as one JSON object per line.
//
// Why not Google Benchmark: it reports a mean per repetition, and we need per-operation latency
// distributions (median and tails) of things like a FUTEX_WAKE or a cross-process wake-up.
//
// Two ways to obtain a sample, both with std::chrono::steady_clock (vDSO clock_gettime, no rdtsc):
//   * batch-timed: time `batch` back-to-back operations and add `elapsed / batch` as one sample.
//     Amortises the clock's own cost (~20-50 ns); the distribution is over batches, so tails of
//     single operations are smoothed. Use for operations of tens of nanoseconds.
//   * per-call timed: two clock reads around one call. Includes one clock read of overhead
//     (see the "steady_clock::now" row that benchmarks print); right for calls of >= ~1 µs and
//     for anything whose single-call tail matters.
//
// Reusable by later benchmarks: include, fill a Samples, hand it to a Reporter.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace screener::bench {

using Clock = std::chrono::steady_clock;

[[nodiscard]] inline std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

/// Keeps `value` (and everything it depends on) from being optimised away.
template <class T>
inline void do_not_optimize(const T& value) noexcept {
  asm volatile("" : : "r,m"(value) : "memory");
}

/// Tells the compiler that memory may have been read or written: stops it from moving stores
/// across a timing boundary.
inline void clobber_memory() noexcept { asm volatile("" : : : "memory"); }

struct Summary {
  std::size_t count = 0;
  double min = 0;
  double median = 0;
  double p99 = 0;
  double p999 = 0;
  double max = 0;
  double mean = 0;
};

/// Nearest-rank percentile of sorted data, q in [0, 1]: the smallest sample with at least
/// q * n samples at or below it. No interpolation, so every figure is a value that was observed.
[[nodiscard]] inline double percentile_sorted(const std::vector<double>& sorted, double q) noexcept {
  if (sorted.empty()) return 0;
  const auto n = static_cast<double>(sorted.size());
  auto rank = static_cast<std::size_t>(std::ceil(q * n));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

[[nodiscard]] inline Summary summarize(std::vector<double> samples) {
  Summary s;
  s.count = samples.size();
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  double sum = 0;
  for (const double v : samples) sum += v;
  s.min = samples.front();
  s.median = percentile_sorted(samples, 0.50);
  s.p99 = percentile_sorted(samples, 0.99);
  s.p999 = percentile_sorted(samples, 0.999);
  s.max = samples.back();
  s.mean = sum / static_cast<double>(samples.size());
  return s;
}

/// Samples in nanoseconds per operation, plus the totals needed for a throughput figure.
class Samples {
 public:
  explicit Samples(std::size_t expected = 0) { values_.reserve(expected); }

  void add(double ns_per_op) { values_.push_back(ns_per_op); }

  /// One batch of `ops` operations that took `elapsed_ns` in total.
  void add_batch(std::int64_t elapsed_ns, std::uint64_t ops) {
    values_.push_back(static_cast<double>(elapsed_ns) / static_cast<double>(ops));
    total_ns_ += static_cast<double>(elapsed_ns);
    total_ops_ += static_cast<double>(ops);
  }

  /// Adds to the throughput totals only (e.g. per-call samples whose overall time is known).
  void add_totals(double elapsed_ns, double ops) {
    total_ns_ += elapsed_ns;
    total_ops_ += ops;
  }

  [[nodiscard]] std::size_t size() const noexcept { return values_.size(); }
  [[nodiscard]] const std::vector<double>& values() const noexcept { return values_; }
  [[nodiscard]] Summary summary() const { return summarize(values_); }
  /// Operations per second over the timed regions; 0 when no totals were recorded.
  [[nodiscard]] double ops_per_second() const noexcept {
    return total_ns_ > 0 ? total_ops_ / total_ns_ * 1e9 : 0.0;
  }

 private:
  std::vector<double> values_;
  double total_ns_ = 0;
  double total_ops_ = 0;
};

/// Times `batches` batches of `batch_size` calls of `op(i)` (i counts up across all batches).
/// `op` should be a lambda the compiler can inline; the loop adds ~1 ns per call.
template <class Op>
[[nodiscard]] Samples time_batches(std::size_t batches, std::size_t batch_size, Op&& op) {
  Samples samples(batches);
  std::uint64_t i = 0;
  for (std::size_t b = 0; b < batches; ++b) {
    clobber_memory();
    const std::int64_t t0 = now_ns();
    for (std::size_t k = 0; k < batch_size; ++k) op(i++);
    clobber_memory();
    const std::int64_t t1 = now_ns();
    samples.add_batch(t1 - t0, batch_size);
  }
  return samples;
}

/// Times each of `calls` calls of `op(i)` separately; `prepare(i)` runs untimed before each.
template <class Prepare, class Op>
[[nodiscard]] Samples time_calls(std::size_t calls, Prepare&& prepare, Op&& op) {
  Samples samples(calls);
  for (std::size_t i = 0; i < calls; ++i) {
    prepare(i);
    clobber_memory();
    const std::int64_t t0 = now_ns();
    op(i);
    clobber_memory();
    const std::int64_t t1 = now_ns();
    samples.add(static_cast<double>(t1 - t0));
    samples.add_totals(static_cast<double>(t1 - t0), 1);
  }
  return samples;
}

/// One printed line.
struct Result {
  std::string section;      ///< e.g. "publish"
  std::string name;         ///< what one operation is
  std::string timing;       ///< "batch/1000", "per-call", "paced"...
  Summary summary;          ///< in nanoseconds
  double ops_per_second = 0;   ///< 0: not meaningful for this row
  std::string note;         ///< free text, printed at the end of the text line and as "note" in JSON
};

[[nodiscard]] inline std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(c));
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  return out;
}

/// Prints results as aligned text (default) or as one JSON object per line (`json = true`).
/// Text figures use ns below 10 µs and µs above, per row, with the unit printed; JSON is always ns.
class Reporter {
 public:
  explicit Reporter(bool json, std::string bench = "bench", std::FILE* out = stdout)
      : json_(json), bench_(std::move(bench)), out_(out) {}

  [[nodiscard]] bool json() const noexcept { return json_; }

  /// Free text (context lines). Text mode: printed as is. JSON mode: {"bench":..,"info":key,"value":..}.
  void info(std::string_view key, std::string_view value) const {
    if (json_)
      std::fprintf(out_, "{\"bench\":\"%s\",\"info\":\"%s\",\"value\":\"%s\"}\n", json_escape(bench_).c_str(),
                   json_escape(key).c_str(), json_escape(value).c_str());
    else
      std::fprintf(out_, "%-12s %.*s\n", std::string(key).append(":").c_str(), static_cast<int>(value.size()),
                   value.data());
    std::fflush(out_);
  }

  /// Starts a titled block of rows (text mode only).
  void section(std::string_view title) {
    if (json_) return;
    std::fprintf(out_, "\n== %.*s\n", static_cast<int>(title.size()), title.data());
    std::fprintf(out_, "%-46s %-11s %8s %10s %10s %10s %10s %5s %12s  %s\n", "operation", "timing", "count",
                 "median", "p99", "p99.9", "max", "unit", "ops/s", "note");
    std::fflush(out_);
  }

  void print(const Result& r) const {
    const Summary& s = r.summary;
    if (json_) {
      std::fprintf(out_,
                   "{\"bench\":\"%s\",\"section\":\"%s\",\"name\":\"%s\",\"timing\":\"%s\",\"unit\":\"ns\","
                   "\"count\":%zu,\"min\":%.1f,\"median\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,"
                   "\"mean\":%.1f,\"ops_per_s\":%.0f,\"note\":\"%s\"}\n",
                   json_escape(bench_).c_str(), json_escape(r.section).c_str(), json_escape(r.name).c_str(),
                   json_escape(r.timing).c_str(), s.count, s.min, s.median, s.p99, s.p999, s.max, s.mean,
                   r.ops_per_second, json_escape(r.note).c_str());
    } else {
      const bool micro = s.median >= 10'000;
      const double scale = micro ? 1e-3 : 1.0;
      char ops[32] = "-";
      if (r.ops_per_second > 0) std::snprintf(ops, sizeof ops, "%.3g", r.ops_per_second);
      std::fprintf(out_, "%-46s %-11s %8zu %10.1f %10.1f %10.1f %10.1f %5s %12s  %s\n", r.name.c_str(),
                   r.timing.c_str(), s.count, s.median * scale, s.p99 * scale, s.p999 * scale, s.max * scale,
                   micro ? "us" : "ns", ops, r.note.c_str());
    }
    std::fflush(out_);
  }

 private:
  bool json_;
  std::string bench_;
  std::FILE* out_;
};

}  // namespace screener::bench
