// SPDX-License-Identifier: Apache-2.0
#include "worker/fired_writer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace screener::worker {

FiredWriter::FiredWriter(std::chrono::milliseconds min_gap) : min_gap_(min_gap), thread_([this] { run(); }) {}

FiredWriter::~FiredWriter() {
  drain();
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void FiredWriter::submit(const FiredStore& store, const std::string& trader, std::vector<FiredChange> changes) {
  if (store.dir().empty() || changes.empty()) return;
  {
    const std::lock_guard lock(mutex_);
    pending_.push_back(Pending{store, trader, std::move(changes)});
    ++submitted_;
  }
  wake_.notify_one();
}

void FiredWriter::replace_file(std::string path, std::string text) {
  {
    const std::lock_guard lock(mutex_);
    whole_files_[std::move(path)] = std::move(text);
    ++submitted_;
  }
  wake_.notify_one();
}

void FiredWriter::drain() {
  std::unique_lock lock(mutex_);
  draining_ = true;
  wake_.notify_one();
  drained_.wait(lock, [&] { return done_ == submitted_; });
  draining_ = false;
}

void FiredWriter::reload_from_files() {
  drain();
  const std::lock_guard lock(mutex_);
  forget_files_ = true;
}

std::uint64_t FiredWriter::writes() const {
  const std::lock_guard lock(mutex_);
  return writes_;
}

std::uint64_t FiredWriter::failures() const {
  const std::lock_guard lock(mutex_);
  return failures_;
}

void FiredWriter::run() {
  auto last_round = std::chrono::steady_clock::now() - min_gap_;
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !pending_.empty() || !whole_files_.empty(); });
    if (pending_.empty() && whole_files_.empty()) return;  // stopping, and the destructor drained first
    // Changes arriving within the gap join this round: one write per trader for a burst.
    wake_.wait_until(lock, last_round + min_gap_, [&] { return stopping_ || draining_; });
    std::vector<Pending> batch;
    batch.swap(pending_);
    std::map<std::string, std::string> whole_files;
    whole_files.swap(whole_files_);
    const std::uint64_t taken = submitted_;
    if (std::exchange(forget_files_, false)) files_.clear();
    lock.unlock();
    write_round(std::move(batch), std::move(whole_files));
    last_round = std::chrono::steady_clock::now();
    lock.lock();
    done_ = taken;
    drained_.notify_all();
  }
}

void FiredWriter::write_round(std::vector<Pending> batch, std::map<std::string, std::string> whole_files) {
  std::vector<TraderFile*> changed;
  for (Pending& p : batch) {
    const std::string key = p.store.dir() + '/' + p.trader;
    TraderFile& file = files_[key];
    if (!file.loaded) {
      file.store = p.store;
      file.trader = p.trader;
      file.loaded = true;
      if (auto fired = file.store.load(file.trader)) {
        file.fired = std::move(*fired);
      } else {
        spdlog::error("{}; rewriting it from this worker's state", fired.error());
      }
    }
    for (FiredChange& change : p.changes) file.fired[std::move(change.symbol)] = change.open_time_ms;
    if (std::find(changed.begin(), changed.end(), &file) == changed.end()) changed.push_back(&file);
  }
  std::uint64_t written = 0;
  std::uint64_t failed = 0;
  for (TraderFile* file : changed) {
    if (auto saved = file->store.save(file->trader, file->fired); saved) {
      ++written;
    } else {
      ++failed;
      spdlog::error("{}; a restart may repeat this trader's last signals", saved.error());
    }
  }
  for (const auto& [path, text] : whole_files) {
    if (auto saved = write_file_atomically(path, text); saved) {
      ++written;
    } else {
      ++failed;
      spdlog::error("{}", saved.error());
    }
  }
  const std::lock_guard lock(mutex_);
  writes_ += written;
  failures_ += failed;
}

}  // namespace screener::worker
