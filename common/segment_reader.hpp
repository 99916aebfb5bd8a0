// SPDX-License-Identifier: Apache-2.0
#pragma once

// A read-only attachment to a segment (PROT_READ: a reader bug cannot corrupt what others read).
//
// Attach checks, in order: the object exists and is readable -> size >= header -> magic ->
// state READY (acquire) -> layout version -> layout hash -> the region table matches the
// geometry -> the file is as large as the header says. Each refusal prints both values.
// NotFound / NotReady / Shutdown / TooSmall are retryable (the writer may be starting; a sized
// object whose magic is still 0 and state INIT is NotReady, not BadMagic); attach() retries
// them until a deadline, never forever.
//
// While attached, a reader sleeps on the futex word with a timeout and, on every wake-up and
// timeout, checks that its writer is still there: state SHUTDOWN, st_nlink == 0 (the name now
// points at a new segment) or a stale heartbeat all mean "detach and attach again".

#include <chrono>
#include <cstdint>
#include <expected>
#include <string>

#include "common/segment_error.hpp"
#include "common/segment_layout.hpp"
#include "common/segment_name.hpp"
#include "common/segment_view.hpp"

namespace screener::shm {

struct ReaderOptions {
  std::string name = "screener";
  /// A writer whose heartbeat is older than this is considered dead.
  std::chrono::milliseconds heartbeat_timeout{5000};
};

/// How a reader waits for the next publish: spin briefly, then sleep in FUTEX_WAIT.
struct WaitStrategy {
  std::uint32_t spin_iterations = 100;    ///< 0: block at once; large: busy-spin
  std::chrono::milliseconds max_sleep{200};  ///< longest single FUTEX_WAIT: bounds liveness checks
};

enum class WriterStatus {
  Alive,
  Shutdown,        ///< the writer marked the segment SHUTDOWN
  Replaced,        ///< the segment was unlinked (st_nlink == 0): a new writer owns the name
  HeartbeatStale,  ///< no heartbeat within heartbeat_timeout: the writer died or hangs
};

enum class WaitOutcome {
  Published,       ///< the futex word moved: read the journal
  TimedOut,        ///< nothing published within the timeout; the writer is alive
  WriterGone,      ///< see writer_status(): detach and attach again
  Interrupted,     ///< a signal arrived while sleeping: the caller checks its own flags
};

[[nodiscard]] const char* to_string(WriterStatus status) noexcept;

class SegmentReader {
 public:
  /// One attempt.
  [[nodiscard]] static std::expected<SegmentReader, SegmentError> open(const ReaderOptions& options);
  /// Retries retryable refusals every 20 ms until `deadline` has passed; then TimedOut, naming
  /// the last refusal.
  [[nodiscard]] static std::expected<SegmentReader, SegmentError> attach(const ReaderOptions& options,
                                                                         std::chrono::milliseconds deadline);

  SegmentReader(SegmentReader&& other) noexcept;
  SegmentReader& operator=(SegmentReader&& other) noexcept;
  SegmentReader(const SegmentReader&) = delete;
  SegmentReader& operator=(const SegmentReader&) = delete;
  ~SegmentReader();

  [[nodiscard]] const SegmentView& view() const noexcept { return view_; }
  [[nodiscard]] const SegmentHeader& header() const noexcept { return *view_.header(); }
  [[nodiscard]] std::uint64_t epoch() const noexcept { return view_.header()->writer_epoch; }
  [[nodiscard]] std::uint64_t size_bytes() const noexcept { return size_; }

  [[nodiscard]] std::uint32_t futex_value() const noexcept;
  [[nodiscard]] std::uint64_t publish_seq() const noexcept;
  [[nodiscard]] std::uint64_t heartbeat_age_ns() const noexcept;
  /// One fstat(2) plus three loads.
  [[nodiscard]] WriterStatus writer_status() const noexcept;

  /// Returns Published as soon as the futex word differs from `seen` (and updates `seen`),
  /// TimedOut after `timeout`, WriterGone as soon as the writer is found gone, or Interrupted
  /// when a signal handler ran during the sleep.
  [[nodiscard]] WaitOutcome wait_for_publish(std::uint32_t& seen, std::chrono::nanoseconds timeout,
                                             const WaitStrategy& strategy = {}) const noexcept;

 private:
  SegmentReader() = default;
  void release() noexcept;

  SegmentName name_;
  SegmentView view_;
  std::uint64_t size_ = 0;
  std::uint64_t heartbeat_timeout_ns_ = 0;
  int shm_fd_ = -1;
};

}  // namespace screener::shm
