// SPDX-License-Identifier: Apache-2.0
#include "common/segment_reader.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include "common/clock.hpp"
#include "common/futex.hpp"
#include "common/shm_atomic.hpp"

namespace screener::shm {

namespace {

std::unexpected<SegmentError> fail(SegmentErrc code, std::string message) {
  return std::unexpected(SegmentError{code, std::move(message)});
}

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

bool same_regions(const RegionTable& a, const RegionTable& b) noexcept {
  return std::memcmp(&a, &b, sizeof(RegionTable)) == 0;
}

}  // namespace

const char* to_string(WriterStatus status) noexcept {
  switch (status) {
    case WriterStatus::Alive: return "alive";
    case WriterStatus::Shutdown: return "shut down";
    case WriterStatus::Replaced: return "replaced by a new segment";
    case WriterStatus::HeartbeatStale: return "heartbeat stale";
  }
  return "unknown";
}

std::expected<SegmentReader, SegmentError> SegmentReader::open(const ReaderOptions& options) {
  auto name = parse_segment_name(options.name);
  if (!name) return std::unexpected(name.error());

  SegmentReader reader;
  reader.name_ = *name;
  reader.heartbeat_timeout_ns_ = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(options.heartbeat_timeout).count());
  const std::string& path = name->file_path;

  reader.shm_fd_ = shm_open(name->shm_object.c_str(), O_RDONLY | O_CLOEXEC, 0);
  if (reader.shm_fd_ < 0) {
    const int error = errno;
    if (error == ENOENT) return fail(SegmentErrc::NotFound, fmt::format("segment {} does not exist (yet)", path));
    if (error == EACCES)
      return fail(SegmentErrc::PermissionDenied,
                  fmt::format("segment {} is not readable by uid {} gid {}: {}; add this user to the segment's "
                              "group",
                              path, getuid(), getgid(), errno_text(error)));
    return fail(SegmentErrc::CreateFailed, fmt::format("cannot open segment {}: {}", path, errno_text(error)));
  }
  struct stat st{};
  if (fstat(reader.shm_fd_, &st) != 0)
    return fail(SegmentErrc::MapFailed, fmt::format("cannot stat segment {}: {}", path, errno_text(errno)));
  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  if (file_size < kHeaderSize)
    return fail(SegmentErrc::TooSmall, fmt::format("segment {} is {} bytes, smaller than its {}-byte header", path,
                                                   file_size, kHeaderSize));

  void* base = mmap(nullptr, file_size, PROT_READ, MAP_SHARED, reader.shm_fd_, 0);
  if (base == MAP_FAILED)
    return fail(SegmentErrc::MapFailed,
                fmt::format("cannot map segment {} ({} bytes): {}", path, file_size, errno_text(errno)));
  reader.size_ = file_size;
  const auto* header = static_cast<const SegmentHeader*>(base);
  // Geometry and regions are only copied into the view once the header is known to be valid.
  reader.view_ = SegmentView(static_cast<const std::byte*>(base));

  // The writer sizes and reserves the object before it writes the header (READY last), so a
  // zero magic with state INIT is a segment still being initialised, or one whose writer died
  // doing so: retryable, not foreign.
  if (header->magic == 0 && load_acquire(&header->state) == static_cast<std::uint32_t>(SegmentState::Init))
    return fail(SegmentErrc::NotReady,
                fmt::format("segment {} is still being initialised (header not written yet)", path));
  if (header->magic != kSegmentMagic)
    return fail(SegmentErrc::BadMagic, fmt::format("segment {} is not a screener segment: magic segment={:#018x} "
                                                   "reader={:#018x}",
                                                   path, header->magic, kSegmentMagic));
  const auto state = static_cast<SegmentState>(load_acquire(&header->state));
  if (state == SegmentState::Init)
    return fail(SegmentErrc::NotReady, fmt::format("segment {} is still being initialised by pid {}", path,
                                                   header->writer_pid));
  if (state == SegmentState::Shutdown)
    return fail(SegmentErrc::Shutdown, fmt::format("segment {} was shut down by its writer (pid {})", path,
                                                   header->writer_pid));
  if (header->layout_version != kLayoutVersion)
    return fail(SegmentErrc::VersionMismatch,
                fmt::format("segment {}: layout_version segment={} reader={}; run screenerd and the workers from "
                            "the same release",
                            path, header->layout_version, kLayoutVersion));
  if (header->layout_hash != kLayoutHash)
    return fail(SegmentErrc::LayoutHashMismatch,
                fmt::format("segment {}: layout_hash segment={:#018x} reader={:#018x}; the writer was built with "
                            "a different struct layout",
                            path, header->layout_hash, kLayoutHash));
  const SegmentGeometry& g = header->geometry;
  const bool geometry_sane = g.max_symbols > 0 && g.interval_count > 0 && g.interval_count <= kMaxIntervals &&
                             g.ring_capacity > 0 && g.journal_capacity > 0 && g.trader_capacity > 0 &&
                             g.trader_text_bytes % 8 == 0 &&
                             (g.journal_capacity & (g.journal_capacity - 1)) == 0;
  const RegionTable expected_regions = compute_regions(g);
  if (!geometry_sane || !same_regions(expected_regions, header->regions) ||
      header->total_size != total_size(expected_regions) || header->header_size != kHeaderSize)
    return fail(SegmentErrc::LayoutHashMismatch,
                fmt::format("segment {}: header is inconsistent: symbols={} intervals={} depth={} journal={} "
                            "total_size segment={} computed={}",
                            path, g.max_symbols, g.interval_count, g.ring_capacity, g.journal_capacity,
                            header->total_size, total_size(expected_regions)));
  if (file_size < header->total_size)
    return fail(SegmentErrc::TooSmall, fmt::format("segment {} is truncated: file size={} header total_size={}",
                                                   path, file_size, header->total_size));
  reader.view_ = SegmentView(static_cast<const std::byte*>(base));
  return reader;
}

std::expected<SegmentReader, SegmentError> SegmentReader::attach(const ReaderOptions& options,
                                                                 std::chrono::milliseconds deadline) {
  constexpr auto kRetryPeriod = std::chrono::milliseconds(20);
  const auto give_up_at = std::chrono::steady_clock::now() + deadline;
  const auto max_attempts = deadline / kRetryPeriod + 1;
  for (std::int64_t attempt = 0;; ++attempt) {
    auto reader = open(options);
    if (reader || !is_retryable(reader.error().code)) return reader;
    if (attempt >= max_attempts || std::chrono::steady_clock::now() >= give_up_at)
      return fail(SegmentErrc::TimedOut, fmt::format("gave up attaching after {} ms: {}", deadline.count(),
                                                     reader.error().message));
    std::this_thread::sleep_for(kRetryPeriod);
  }
}

SegmentReader::SegmentReader(SegmentReader&& other) noexcept
    : name_(std::move(other.name_)),
      view_(std::exchange(other.view_, SegmentView{})),
      size_(std::exchange(other.size_, 0)),
      heartbeat_timeout_ns_(other.heartbeat_timeout_ns_),
      shm_fd_(std::exchange(other.shm_fd_, -1)) {}

SegmentReader& SegmentReader::operator=(SegmentReader&& other) noexcept {
  if (this != &other) {
    release();
    name_ = std::move(other.name_);
    view_ = std::exchange(other.view_, SegmentView{});
    size_ = std::exchange(other.size_, 0);
    heartbeat_timeout_ns_ = other.heartbeat_timeout_ns_;
    shm_fd_ = std::exchange(other.shm_fd_, -1);
  }
  return *this;
}

SegmentReader::~SegmentReader() { release(); }

void SegmentReader::release() noexcept {
  if (view_.base() != nullptr) {
    munmap(const_cast<std::byte*>(view_.base()), size_);  // NOLINT: munmap takes void*
    view_ = SegmentView{};
  }
  if (shm_fd_ >= 0) close(std::exchange(shm_fd_, -1));
}

std::uint32_t SegmentReader::futex_value() const noexcept { return load_acquire(&view_.header()->futex_word); }

std::uint64_t SegmentReader::publish_seq() const noexcept { return load_acquire(&view_.header()->publish_seq); }

std::uint64_t SegmentReader::heartbeat_age_ns() const noexcept {
  const std::uint64_t stamped = load_acquire(&view_.header()->heartbeat_ns);
  const std::uint64_t now = monotonic_ns();
  return now > stamped ? now - stamped : 0;
}

WriterStatus SegmentReader::writer_status() const noexcept {
  if (static_cast<SegmentState>(load_acquire(&view_.header()->state)) == SegmentState::Shutdown)
    return WriterStatus::Shutdown;
  struct stat st{};
  if (fstat(shm_fd_, &st) == 0 && st.st_nlink == 0) return WriterStatus::Replaced;
  if (heartbeat_age_ns() > heartbeat_timeout_ns_) return WriterStatus::HeartbeatStale;
  return WriterStatus::Alive;
}

WaitOutcome SegmentReader::wait_for_publish(std::uint32_t& seen, std::chrono::nanoseconds timeout,
                                            const WaitStrategy& strategy) const noexcept {
  const std::uint32_t* word = &view_.header()->futex_word;
  // A shutdown also bumps the word; report it as such rather than as data, however it is noticed.
  auto moved_to = [&](std::uint32_t now) {
    seen = now;
    const auto state = static_cast<SegmentState>(load_acquire(&view_.header()->state));
    return state == SegmentState::Shutdown ? WaitOutcome::WriterGone : WaitOutcome::Published;
  };
  for (std::uint32_t spin = 0; spin < strategy.spin_iterations; ++spin) {
    if (const std::uint32_t now = load_acquire(word); now != seen) return moved_to(now);
    cpu_relax();
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // Bounded: each pass sleeps at least until the word moves, a signal lands or max_sleep ends,
  // and the loop ends at the deadline.
  for (;;) {
    if (const std::uint32_t now = load_acquire(word); now != seen) return moved_to(now);
    if (writer_status() != WriterStatus::Alive) return WaitOutcome::WriterGone;
    const auto remaining = deadline - std::chrono::steady_clock::now();
    if (remaining <= std::chrono::nanoseconds::zero()) return WaitOutcome::TimedOut;
    if (futex_wait(word, seen, std::min<std::chrono::nanoseconds>(remaining, strategy.max_sleep)) ==
        FutexWaitResult::Interrupted)
      return WaitOutcome::Interrupted;
  }
}

}  // namespace screener::shm
