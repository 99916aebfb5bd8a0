// SPDX-License-Identifier: Apache-2.0
#pragma once

// Frames applied to the segment are published together: the first frame of a burst schedules one
// publish for after the current handler returns, so a burst read in one go wakes the workers once.
// The batcher also remembers when each frame of the burst arrived, and once the burst is published
// it reports every frame's arrival-to-publish delay (screener_frame_to_publish_seconds).

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "daemon/ingest/scheduler.hpp"

namespace screener::ingest {

class FrameBatcher {
 public:
  using Clock = Scheduler::Clock;

  /// `publish` makes the applied updates visible to the workers. `on_frame_published`, when set,
  /// hears the arrival-to-publish delay of each timed frame right after the publish that carried it.
  FrameBatcher(Scheduler& scheduler, std::function<void()> publish,
               std::function<void(Clock::duration)> on_frame_published);
  FrameBatcher(const FrameBatcher&) = delete;
  FrameBatcher& operator=(const FrameBatcher&) = delete;

  /// A frame arrived at `arrival` and was applied; `timed`: it changed market data, so its delay
  /// counts (control replies and rejected frames publish nothing of their own). Allocates only
  /// when a burst is larger than every burst before it, and once per burst to schedule it.
  void frame_applied(Clock::time_point arrival, bool timed) noexcept;
  /// Publishes at once, with the frames waiting so far (a lost connection must reach the workers
  /// before anything else runs).
  void publish_now();
  /// Nothing is published after this, not even a burst already scheduled.
  void stop() noexcept;

 private:
  void publish_batch();

  Scheduler& scheduler_;
  std::function<void()> publish_;
  std::function<void(Clock::duration)> on_frame_published_;
  std::vector<Clock::time_point> arrivals_;  ///< of the burst being built; its capacity is kept
  bool scheduled_ = false;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace screener::ingest
