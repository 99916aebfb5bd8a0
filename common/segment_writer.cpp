// SPDX-License-Identifier: Apache-2.0
#include "common/segment_writer.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "common/futex.hpp"
#include "common/journal.hpp"
#include "common/trader_table.hpp"
#include "common/seqlock.hpp"
#include "common/shm_atomic.hpp"

namespace screener::shm {

namespace {

constexpr mode_t kSegmentMode = 0640;  // owner rw, group r, others nothing

std::unexpected<SegmentError> fail(SegmentErrc code, std::string message) {
  return std::unexpected(SegmentError{code, std::move(message)});
}

/// Reads the pid a live writer left in its lock file, for the refusal message.
std::string lock_holder(int lock_fd) {
  std::array<char, 32> text{};
  const ssize_t n = pread(lock_fd, text.data(), text.size() - 1, 0);
  if (n <= 0) return "unknown pid";
  std::string pid(text.data(), static_cast<std::size_t>(n));
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return "pid " + pid;
}

std::expected<gid_t, SegmentError> resolve_group(const std::string& group) {
  if (group.empty()) return getegid();
  std::vector<char> buffer(16384);
  struct group entry{};
  struct group* found = nullptr;
  int rc = getgrnam_r(group.c_str(), &entry, buffer.data(), buffer.size(), &found);
  for (int grow = 0; rc == ERANGE && grow < 6; ++grow) {
    buffer.resize(buffer.size() * 4);
    rc = getgrnam_r(group.c_str(), &entry, buffer.data(), buffer.size(), &found);
  }
  if (rc != 0 || found == nullptr)
    return fail(SegmentErrc::GroupNotFound,
                fmt::format("segment group '{}' does not exist{}", group, rc != 0 ? ": " + errno_text(rc) : ""));
  return found->gr_gid;
}

std::string describe_shm_space(const std::string& directory) {
  struct statvfs fs{};
  if (statvfs(directory.c_str(), &fs) != 0) return fmt::format("{}: free space unknown", directory);
  const std::uint64_t free_bytes = std::uint64_t{fs.f_bavail} * fs.f_frsize;
  const std::uint64_t total_bytes = std::uint64_t{fs.f_blocks} * fs.f_frsize;
  return fmt::format("{} has {} bytes ({:.1f} MiB) free of {} bytes ({:.1f} MiB)", directory, free_bytes,
                     static_cast<double>(free_bytes) / 1048576.0, total_bytes,
                     static_cast<double>(total_bytes) / 1048576.0);
}

}  // namespace

std::expected<SegmentWriter, SegmentError> SegmentWriter::create(const WriterOptions& options) {
  auto name = parse_segment_name(options.name);
  if (!name) return std::unexpected(name.error());
  const SegmentGeometry& geometry = options.geometry;
  if (geometry.max_symbols == 0 || geometry.interval_count == 0 || geometry.ring_capacity == 0 ||
      geometry.journal_capacity == 0 || geometry.trader_capacity == 0 || geometry.trader_text_bytes % 8 != 0)
    return fail(SegmentErrc::InvalidGeometry,
                fmt::format("segment '{}': geometry has a zero dimension (symbols={} intervals={} depth={} "
                            "journal={} traders={} trader text={}); build it with make_geometry",
                            name->name, geometry.max_symbols, geometry.interval_count, geometry.ring_capacity,
                            geometry.journal_capacity, geometry.trader_capacity, geometry.trader_text_bytes));
  auto gid = resolve_group(options.group);
  if (!gid) return std::unexpected(gid.error());

  SegmentWriter writer;
  writer.name_ = *name;

  writer.lock_fd_ = open(name->lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kSegmentMode);
  if (writer.lock_fd_ < 0)
    return fail(SegmentErrc::LockFailed,
                fmt::format("cannot open lock file {}: {}", name->lock_path, errno_text(errno)));
  if (flock(writer.lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    if (error == EWOULDBLOCK)
      return fail(SegmentErrc::WriterAlive,
                  fmt::format("segment '{}' is owned by a live writer ({}, lock {}); stop it first", name->name,
                              lock_holder(writer.lock_fd_), name->lock_path));
    return fail(SegmentErrc::LockFailed, fmt::format("cannot lock {}: {}", name->lock_path, errno_text(error)));
  }
  const std::string pid_text = fmt::format("{}\n", getpid());
  if (ftruncate(writer.lock_fd_, 0) != 0 ||
      pwrite(writer.lock_fd_, pid_text.data(), pid_text.size(), 0) != static_cast<ssize_t>(pid_text.size()))
    return fail(SegmentErrc::LockFailed,
                fmt::format("cannot record the writer pid in {}: {}", name->lock_path, errno_text(errno)));
  (void)fchown(writer.lock_fd_, static_cast<uid_t>(-1), *gid);
  (void)fchmod(writer.lock_fd_, kSegmentMode);

  // Whoever held the lock before us is dead: its segment, if any, is stale.
  if (shm_unlink(name->shm_object.c_str()) != 0 && errno != ENOENT)
    return fail(SegmentErrc::CreateFailed,
                fmt::format("cannot remove stale segment {}: {}", name->file_path, errno_text(errno)));

  writer.shm_fd_ = shm_open(name->shm_object.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (writer.shm_fd_ < 0)
    return fail(SegmentErrc::CreateFailed,
                fmt::format("cannot create segment {}: {}", name->file_path, errno_text(errno)));

  const RegionTable regions = compute_regions(geometry);
  writer.size_ = total_size(regions);
  auto abandon = [&](SegmentErrc code, std::string message) {
    shm_unlink(name->shm_object.c_str());
    return fail(code, std::move(message));
  };
  if (fchown(writer.shm_fd_, static_cast<uid_t>(-1), *gid) != 0)
    return abandon(SegmentErrc::CreateFailed, fmt::format("cannot give segment {} to group '{}' (gid {}): {}",
                                                          name->file_path, options.group, *gid, errno_text(errno)));
  if (fchmod(writer.shm_fd_, kSegmentMode) != 0)
    return abandon(SegmentErrc::CreateFailed,
                   fmt::format("cannot set mode 0640 on {}: {}", name->file_path, errno_text(errno)));
  if (ftruncate(writer.shm_fd_, static_cast<off_t>(writer.size_)) != 0)
    return abandon(SegmentErrc::NoSpace, fmt::format("cannot size segment {} to {} bytes: {}; {}", name->file_path,
                                                     writer.size_, errno_text(errno),
                                                     describe_shm_space(std::string(kShmDirectory))));
  if (const int rc = posix_fallocate(writer.shm_fd_, 0, static_cast<off_t>(writer.size_)); rc != 0)
    return abandon(SegmentErrc::NoSpace,
                   fmt::format("cannot reserve {} bytes ({:.1f} MiB) for segment {}: posix_fallocate: {}; {}. "
                               "Enlarge /dev/shm or lower max_symbols, intervals or history depth",
                               writer.size_, static_cast<double>(writer.size_) / 1048576.0, name->file_path,
                               errno_text(rc), describe_shm_space(std::string(kShmDirectory))));

  void* base = mmap(nullptr, writer.size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, writer.shm_fd_, 0);
  if (base == MAP_FAILED)
    return abandon(SegmentErrc::MapFailed,
                   fmt::format("cannot map segment {} ({} bytes): {}", name->file_path, writer.size_,
                               errno_text(errno)));

  // The object is fresh and zero-filled; only the header needs writing before READY.
  auto* header = static_cast<SegmentHeader*>(base);
  header->magic = kSegmentMagic;
  header->layout_version = kLayoutVersion;
  header->header_size = kHeaderSize;
  header->total_size = writer.size_;
  header->layout_hash = kLayoutHash;
  header->writer_epoch = realtime_ns();
  header->writer_pid = static_cast<std::uint32_t>(getpid());
  header->created_unix_ns = header->writer_epoch;
  header->geometry = geometry;
  header->regions = regions;
  writer.view_ = MutableSegmentView(static_cast<std::byte*>(base));
  store_release(&header->heartbeat_ns, monotonic_ns());
  store_release(&header->state, static_cast<std::uint32_t>(SegmentState::Ready));
  return writer;
}

SegmentWriter::SegmentWriter(SegmentWriter&& other) noexcept
    : name_(std::move(other.name_)),
      view_(std::exchange(other.view_, MutableSegmentView{})),
      size_(std::exchange(other.size_, 0)),
      shm_fd_(std::exchange(other.shm_fd_, -1)),
      lock_fd_(std::exchange(other.lock_fd_, -1)),
      dirty_(std::exchange(other.dirty_, false)) {}

SegmentWriter& SegmentWriter::operator=(SegmentWriter&& other) noexcept {
  if (this != &other) {
    shutdown();
    name_ = std::move(other.name_);
    view_ = std::exchange(other.view_, MutableSegmentView{});
    size_ = std::exchange(other.size_, 0);
    shm_fd_ = std::exchange(other.shm_fd_, -1);
    lock_fd_ = std::exchange(other.lock_fd_, -1);
    dirty_ = std::exchange(other.dirty_, false);
  }
  return *this;
}

SegmentWriter::~SegmentWriter() { shutdown(); }

std::uint64_t SegmentWriter::epoch() const noexcept { return view_.header()->writer_epoch; }

void SegmentWriter::heartbeat() noexcept { store_release(&view_.header()->heartbeat_ns, monotonic_ns()); }

void SegmentWriter::journal(std::uint32_t symbol, std::uint8_t interval_index, JournalKind kind) noexcept {
  journal_append(view_, symbol, interval_index, kind);
  dirty_ = true;
}

void SegmentWriter::set_symbol(std::uint32_t symbol, const SymbolInfo& info) noexcept {
  seqlock_write(&view_.symbol_slot(symbol)->info, info);
  journal(symbol, kNoInterval, JournalKind::Symbol);
}

void SegmentWriter::write_ticker(std::uint32_t symbol, const Ticker& ticker) noexcept {
  seqlock_write(&view_.ticker_slot(symbol)->ticker, ticker);
  journal(symbol, kNoInterval, JournalKind::Ticker);
}

void SegmentWriter::write_forming(std::uint32_t symbol, std::uint32_t interval_index, const Bar& bar) noexcept {
  ring_write_forming(view_, view_.ring_index(symbol, interval_index), bar);
  journal(symbol, static_cast<std::uint8_t>(interval_index), JournalKind::Forming);
}

UpsertResult SegmentWriter::upsert_closed(std::uint32_t symbol, std::uint32_t interval_index, const Bar& bar,
                                          bool from_backfill) noexcept {
  if (from_backfill) ring_mark_backfilled(view_, view_.ring_index(symbol, interval_index), bar.open_time_ms);
  const UpsertResult result = ring_upsert_closed(view_, view_.ring_index(symbol, interval_index), bar);
  const auto interval = static_cast<std::uint8_t>(interval_index);
  switch (result) {
    case UpsertResult::Appended: journal(symbol, interval, JournalKind::Closed); break;
    case UpsertResult::Replaced:
    case UpsertResult::Inserted: journal(symbol, interval, JournalKind::Rewrite); break;
    case UpsertResult::Unchanged:
    case UpsertResult::TooOld: break;
  }
  return result;
}

void SegmentWriter::set_ring_complete(std::uint32_t symbol, std::uint32_t interval_index, bool complete) noexcept {
  ring_set_complete(view_, view_.ring_index(symbol, interval_index), complete);
  journal(symbol, static_cast<std::uint8_t>(interval_index), JournalKind::RingFlags);
}

std::expected<std::uint64_t, std::string> SegmentWriter::publish_trader_table(const TraderTableContent& content) {
  auto generation = trader_table_write(view_, content);
  if (generation) dirty_ = true;
  return generation;
}

void SegmentWriter::publish_status(const StatusSnapshot& status) noexcept {
  if (view_.base() != nullptr) status_write(view_, status);
}

bool SegmentWriter::publish() noexcept {
  if (!dirty_ || view_.base() == nullptr) return false;
  dirty_ = false;
  SegmentHeader* header = view_.header();
  fetch_add_release(&header->publish_seq, std::uint64_t{1});
  fetch_add_release(&header->futex_word, std::uint32_t{1});
  futex_wake_all(&header->futex_word);
  return true;
}

void SegmentWriter::shutdown() noexcept {
  if (view_.base() != nullptr) {
    SegmentHeader* header = view_.header();
    store_release(&header->state, static_cast<std::uint32_t>(SegmentState::Shutdown));
    fetch_add_release(&header->futex_word, std::uint32_t{1});
    futex_wake_all(&header->futex_word);
    // Unlink only our own object: the name must never be taken from a successor.
    struct stat ours{};
    struct stat named{};
    if (fstat(shm_fd_, &ours) == 0 && stat(name_.file_path.c_str(), &named) == 0 && ours.st_ino == named.st_ino &&
        ours.st_dev == named.st_dev)
      shm_unlink(name_.shm_object.c_str());
    munmap(view_.base(), size_);
    view_ = MutableSegmentView{};
  }
  if (shm_fd_ >= 0) close(std::exchange(shm_fd_, -1));
  if (lock_fd_ >= 0) close(std::exchange(lock_fd_, -1));  // releases the flock
}

}  // namespace screener::shm
