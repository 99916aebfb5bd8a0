// SPDX-License-Identifier: Apache-2.0
#include "daemon/app/asio_scheduler.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>

namespace screener::app {

void AsioScheduler::after(std::chrono::milliseconds delay, std::function<void()> task) {
  if (delay.count() <= 0) {
    boost::asio::post(io_, std::move(task));
    return;
  }
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, delay);
  timer->async_wait([timer, task = std::move(task)](const boost::system::error_code& error) {
    if (!error) task();
  });
}

}  // namespace screener::app
