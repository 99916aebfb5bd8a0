// SPDX-License-Identifier: Apache-2.0
#pragma once

// The Prometheus text exposition format 0.0.4, written by hand (no client library): counters,
// gauges and histograms with labels, HELP and TYPE once per metric family, label values escaped.
// And a fixed-bucket Histogram that threads may observe into concurrently (relaxed atomics).

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace screener::app {

using Labels = std::vector<std::pair<std::string, std::string>>;

/// A histogram's state at one moment: cumulative counts per upper bound (ascending, +Inf not
/// included), and the total count and sum.
struct HistogramSnapshot {
  std::vector<double> bounds;
  std::vector<std::uint64_t> cumulative;  ///< same size as bounds
  std::uint64_t count = 0;
  double sum = 0;
};

/// Fixed buckets chosen at construction. observe() is lock-free and safe from any number of
/// threads (relaxed atomics; the sum is a CAS loop on a double's bits); snapshot() may run
/// concurrently and then sees a value that is at worst a few observations out of step between
/// buckets, count and sum, which Prometheus tolerates.
class Histogram {
 public:
  static constexpr std::size_t kMaxBuckets = 32;

  /// `bounds` ascending, at most kMaxBuckets (more are ignored).
  explicit Histogram(std::span<const double> bounds);
  Histogram(std::initializer_list<double> bounds)
      : Histogram(std::span<const double>(bounds.begin(), bounds.size())) {}

  void observe(double value) noexcept;
  [[nodiscard]] HistogramSnapshot snapshot() const;

  /// Latency buckets in seconds, 10 µs .. 10 s: frame -> publish, worker evaluation time. They
  /// start at 10 µs because a healthy publish is well under a millisecond and needs resolving.
  [[nodiscard]] static std::vector<double> latency_seconds_buckets();

 private:
  std::vector<double> bounds_;
  std::array<std::atomic<std::uint64_t>, kMaxBuckets + 1> counts_{};  ///< per bucket, last is +Inf
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_bits_{0};
};

/// Appends metric families to a text. Samples of one family must be written together: the
/// HELP/TYPE header is written before the first sample of a name and not again while the same
/// name continues.
class PrometheusWriter {
 public:
  void counter(std::string_view name, std::string_view help, double value, const Labels& labels = {});
  void gauge(std::string_view name, std::string_view help, double value, const Labels& labels = {});
  void histogram(std::string_view name, std::string_view help, const HistogramSnapshot& h,
                 const Labels& labels = {});

  [[nodiscard]] const std::string& text() const noexcept { return text_; }
  [[nodiscard]] std::string take() noexcept { return std::move(text_); }

  /// The content type of this format.
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  void family(std::string_view name, std::string_view help, std::string_view type);
  void sample(std::string_view name, const Labels& labels, double value, const std::pair<std::string, std::string>* extra);

  std::string text_;
  std::string current_;
};

/// `value` with backslash, double quote and newline escaped, for a label value.
[[nodiscard]] std::string escape_label_value(std::string_view value);
/// A sample value: integers without a fraction, "+Inf", "-Inf", "NaN", else the shortest
/// round-trip form.
[[nodiscard]] std::string format_sample_value(double value);

}  // namespace screener::app
