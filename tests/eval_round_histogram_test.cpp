// SPDX-License-Identifier: Apache-2.0
// The workers' evaluation-round histogram (daemon/app/eval_round_histogram.hpp): heartbeats carry
// counts since each worker process started; the daemon adds only what is new.
#include <catch2/catch.hpp>

#include "common/worker_protocol.hpp"
#include "daemon/app/eval_round_histogram.hpp"

using screener::app::EvalRoundHistogram;
using screener::protocol::HeartbeatBody;

namespace {
HeartbeatBody beat(std::uint64_t rounds_in_first_bucket, std::uint64_t rounds_over_a_second, std::uint64_t ns) {
  HeartbeatBody b{};
  b.eval_round_buckets[0] = rounds_in_first_bucket;
  b.eval_round_buckets[15] = rounds_over_a_second;
  b.eval_rounds = rounds_in_first_bucket + rounds_over_a_second;
  b.eval_round_ns_total = ns;
  return b;
}
}  // namespace

TEST_CASE("EvalRoundBucketsSplitAtTheirUpperBounds", "[metrics]") {
  using screener::protocol::eval_round_bucket;
  CHECK(eval_round_bucket(0) == 0);
  CHECK(eval_round_bucket(10'000) == 0);
  CHECK(eval_round_bucket(10'001) == 1);
  CHECK(eval_round_bucket(1'000'000) == 6);
  CHECK(eval_round_bucket(1'000'000'000) == 14);
  CHECK(eval_round_bucket(1'000'000'001) == 15);
}

TEST_CASE("EvalRoundHistogramCountsEachWorkersRoundsOnceAcrossHeartbeats", "[metrics]") {
  EvalRoundHistogram histogram;
  histogram.add(0, 100, beat(5, 0, 50'000));
  histogram.add(0, 100, beat(8, 1, 2'000'080'000));  // 3 more short rounds and one long one
  histogram.add(1, 200, beat(2, 0, 10'000));
  histogram.add(1, 200, beat(2, 0, 10'000));  // the same heartbeat again: nothing new
  const auto h = histogram.snapshot();
  REQUIRE(h.bounds.size() == 15);
  CHECK(h.bounds.front() == Approx(10e-6));
  CHECK(h.bounds.back() == Approx(1.0));
  CHECK(h.cumulative.front() == 10);
  CHECK(h.cumulative.back() == 10);
  CHECK(h.count == 11);
  CHECK(h.sum == Approx(2.00009));
}

TEST_CASE("EvalRoundHistogramKeepsARestartedWorkersEarlierRounds", "[metrics]") {
  EvalRoundHistogram histogram;
  histogram.add(0, 100, beat(7, 0, 70'000));
  histogram.add(0, 101, beat(2, 0, 20'000));  // a new process under the same index counts from zero
  CHECK(histogram.snapshot().count == 9);
  histogram.add(0, 101, beat(4, 0, 40'000));
  const auto h = histogram.snapshot();
  CHECK(h.count == 11);
  CHECK(h.sum == Approx(110e-6));
}
