// SPDX-License-Identifier: Apache-2.0
#include "daemon/ingest/frame_batcher.hpp"

namespace screener::ingest {

namespace {
// Enough for the bursts a busy connection delivers in one read, so that steady state never grows it.
constexpr std::size_t kExpectedBurst = 1024;
}  // namespace

FrameBatcher::FrameBatcher(Scheduler& scheduler, std::function<void()> publish,
                           std::function<void(Clock::duration)> on_frame_published)
    : scheduler_(scheduler), publish_(std::move(publish)), on_frame_published_(std::move(on_frame_published)) {
  arrivals_.reserve(kExpectedBurst);
}

void FrameBatcher::frame_applied(Clock::time_point arrival, bool timed) noexcept {
  // noexcept: an allocation failure here would leave the io thread without memory for anything
  // else either; ending the process (and being restarted) beats limping on.
  if (stopped_) return;
  if (timed && on_frame_published_) arrivals_.push_back(arrival);
  if (scheduled_) return;
  scheduled_ = true;
  scheduler_.after(std::chrono::milliseconds(0), [this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired() || !*alive.lock()) return;
    scheduled_ = false;
    publish_batch();
  });
}

void FrameBatcher::publish_now() {
  if (stopped_) return;
  publish_batch();
}

void FrameBatcher::stop() noexcept {
  stopped_ = true;
  *alive_ = false;
}

void FrameBatcher::publish_batch() {
  publish_();
  if (arrivals_.empty()) return;
  // Measured after the publish returned: the workers have been woken by then.
  const Clock::time_point published = scheduler_.now();
  for (const Clock::time_point arrival : arrivals_) on_frame_published_(published - arrival);
  arrivals_.clear();
}

}  // namespace screener::ingest
