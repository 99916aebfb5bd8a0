// SPDX-License-Identifier: Apache-2.0
#pragma once

// The ingest Scheduler on an Asio io_context: steady timers, and post() for "after this handler".

#include "daemon/ingest/scheduler.hpp"

namespace boost::asio {
class io_context;
}

namespace screener::app {

class AsioScheduler final : public ingest::Scheduler {
 public:
  explicit AsioScheduler(boost::asio::io_context& io) noexcept : io_(io) {}
  [[nodiscard]] Clock::time_point now() const override { return Clock::now(); }
  [[nodiscard]] std::chrono::system_clock::time_point wall_now() const override {
    return std::chrono::system_clock::now();
  }
  void after(std::chrono::milliseconds delay, std::function<void()> task) override;

 private:
  boost::asio::io_context& io_;
};

}  // namespace screener::app
