// SPDX-License-Identifier: Apache-2.0
#include "daemon/app/prometheus.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>

namespace screener::app {

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds.begin(), bounds.begin() + static_cast<std::ptrdiff_t>(std::min(bounds.size(), kMaxBuckets))) {}

void Histogram::observe(double value) noexcept {
  const auto bucket = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  std::uint64_t old_bits = sum_bits_.load(std::memory_order_relaxed);
  while (!sum_bits_.compare_exchange_weak(old_bits, std::bit_cast<std::uint64_t>(std::bit_cast<double>(old_bits) + value),
                                          std::memory_order_relaxed)) {
  }
}

HistogramSnapshot Histogram::snapshot() const {
  HistogramSnapshot snapshot;
  snapshot.bounds = bounds_;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    snapshot.cumulative.push_back(running);
  }
  running += counts_[bounds_.size()].load(std::memory_order_relaxed);
  // The buckets are the truth for count, so that +Inf and _count always agree.
  snapshot.count = running;
  snapshot.sum = std::bit_cast<double>(sum_bits_.load(std::memory_order_relaxed));
  return snapshot;
}

std::vector<double> Histogram::latency_seconds_buckets() {
  return {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_sample_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::trunc(value) && std::fabs(value) < 1e15) return fmt::format("{}", static_cast<std::int64_t>(value));
  return fmt::format("{}", value);
}

namespace {

std::string escape_help(std::string_view help) {
  std::string out;
  for (const char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

}  // namespace

void PrometheusWriter::family(std::string_view name, std::string_view help, std::string_view type) {
  if (current_ == name) return;
  current_ = name;
  fmt::format_to(std::back_inserter(text_), "# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help), name, type);
}

void PrometheusWriter::sample(std::string_view name, const Labels& labels, double value,
                              const std::pair<std::string, std::string>* extra) {
  text_ += name;
  if (!labels.empty() || extra != nullptr) {
    text_ += '{';
    bool first = true;
    auto add = [&](const std::pair<std::string, std::string>& label) {
      if (!first) text_ += ',';
      first = false;
      fmt::format_to(std::back_inserter(text_), "{}=\"{}\"", label.first, escape_label_value(label.second));
    };
    for (const auto& label : labels) add(label);
    if (extra != nullptr) add(*extra);
    text_ += '}';
  }
  text_ += ' ';
  text_ += format_sample_value(value);
  text_ += '\n';
}

void PrometheusWriter::counter(std::string_view name, std::string_view help, double value, const Labels& labels) {
  family(name, help, "counter");
  sample(name, labels, value, nullptr);
}

void PrometheusWriter::gauge(std::string_view name, std::string_view help, double value, const Labels& labels) {
  family(name, help, "gauge");
  sample(name, labels, value, nullptr);
}

void PrometheusWriter::histogram(std::string_view name, std::string_view help, const HistogramSnapshot& h,
                                 const Labels& labels) {
  family(name, help, "histogram");
  const std::string bucket = fmt::format("{}_bucket", name);
  for (std::size_t i = 0; i < h.bounds.size(); ++i) {
    const std::pair<std::string, std::string> le{"le", format_sample_value(h.bounds[i])};
    sample(bucket, labels, static_cast<double>(h.cumulative[i]), &le);
  }
  const std::pair<std::string, std::string> inf{"le", "+Inf"};
  sample(bucket, labels, static_cast<double>(h.count), &inf);
  sample(fmt::format("{}_sum", name), labels, h.sum, nullptr);
  sample(fmt::format("{}_count", name), labels, static_cast<double>(h.count), nullptr);
}

}  // namespace screener::app
