// SPDX-License-Identifier: Apache-2.0
// Creating and attaching: refusals and their messages, the single-writer lock, file mode,
// read-only mappings and a /dev/shm that is too small.
#include <catch2/catch.hpp>

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <optional>
#include <vector>

#include "common/segment_geometry.hpp"
#include "common/segment_reader.hpp"
#include "common/segment_writer.hpp"
#include "tests/segment_test_support.hpp"

using namespace screener;
using namespace screener::shm;
using namespace screener::test;

namespace {

using Catch::Matchers::Contains;

std::string describe(const SegmentError& e) { return fmt::format("code {} : {}", static_cast<int>(e.code), e.message); }

/// The bytes of a valid, READY segment as a writer of this build lays it out: its header page
/// (copied from a live writer's file) and its total size.
struct SegmentImage {
  SegmentHeader header{};
  std::uint64_t size = 0;
};

SegmentImage valid_image() {
  ScopedSegmentName source;
  auto writer = SegmentWriter::create(WriterOptions{source.str(), small_geometry(), ""});
  REQUIRE(writer);
  SegmentImage image;
  const int fd = ::open(source.file_path().c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  const ssize_t n = ::pread(fd, &image.header, sizeof(image.header), 0);
  ::close(fd);
  REQUIRE(n == static_cast<ssize_t>(sizeof(image.header)));
  REQUIRE(image.header.state == static_cast<std::uint32_t>(SegmentState::Ready));
  image.size = writer->size_bytes();
  REQUIRE(image.header.total_size == image.size);
  return image;
}

/// Writes `header` (or its first `header_bytes`) to /dev/shm/<name> and sizes the file to `size`.
void write_segment_file(const ScopedSegmentName& name, const SegmentHeader& header, std::uint64_t size,
                        std::size_t header_bytes = sizeof(SegmentHeader)) {
  const int fd = ::open(name.file_path().c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  const std::size_t written = std::min<std::uint64_t>(header_bytes, size);
  const ssize_t n = ::write(fd, &header, written);
  const int truncated = ::ftruncate(fd, static_cast<off_t>(size));
  ::close(fd);
  REQUIRE(n == static_cast<ssize_t>(written));
  REQUIRE(truncated == 0);
}

SegmentError open_error(const ScopedSegmentName& name) {
  auto reader = SegmentReader::open(ReaderOptions{name.str()});
  REQUIRE_FALSE(reader);
  return reader.error();
}

std::string hex(std::uint64_t v) { return fmt::format("{:#018x}", v); }

}  // namespace

TEST_CASE("AttachToAMissingSegmentIsNotFoundAndRetryable", "[segment][attach]") {
  ScopedSegmentName name;
  const SegmentError error = open_error(name);
  INFO(describe(error));
  CHECK(error.code == SegmentErrc::NotFound);
  CHECK(is_retryable(error.code));
  CHECK_THAT(error.message, Contains(name.file_path()));
}

TEST_CASE("AttachWithAShortDeadlineTimesOutNamingTheMissingSegment", "[segment][attach]") {
  ScopedSegmentName name;
  const auto started = Clock::now();
  auto reader = SegmentReader::attach(ReaderOptions{name.str()}, 150ms);
  const auto elapsed = Clock::now() - started;
  REQUIRE_FALSE(reader);
  INFO(describe(reader.error()));
  CHECK(reader.error().code == SegmentErrc::TimedOut);
  CHECK_FALSE(is_retryable(reader.error().code));
  CHECK_THAT(reader.error().message, Contains(name.file_path()));
  CHECK_THAT(reader.error().message, Contains("150 ms"));
  CHECK(elapsed >= 150ms);
  CHECK(elapsed < 3s);
}

TEST_CASE("ReaderAttachingWhileTheWriterInitialisesWaitsForReady", "[segment][attach]") {
  // A reader started together with the writer polls while the writer sizes, reserves and maps a
  // full-size (265 MiB) segment: it must only ever see retryable states, then attach.
  ScopedSegmentName name;
  Pipe go;
  Pipe report;
  struct Seen {
    std::uint64_t attempts = 0;
    std::uint64_t not_found = 0;
    std::uint64_t too_small = 0;
    std::uint64_t not_ready = 0;
    std::uint64_t other = 0;      ///< any refusal that is not retryable
    int other_code = -1;
    bool attached = false;
    std::uint64_t epoch = 0;
    Message last;
  };
  Child reader_child([&] {
    go.close_write();
    report.close_read();
    char byte = 0;
    if (!go.receive(byte, 10s)) return 2;
    Seen seen;
    const auto deadline = Clock::now() + 20s;
    for (; seen.attempts < 2'000'000 && Clock::now() < deadline; ++seen.attempts) {
      auto reader = SegmentReader::open(ReaderOptions{name.str()});
      if (reader) {
        seen.attached = true;
        seen.epoch = reader->epoch();
        break;
      }
      switch (reader.error().code) {
        case SegmentErrc::NotFound: ++seen.not_found; break;
        case SegmentErrc::TooSmall: ++seen.too_small; break;
        case SegmentErrc::NotReady: ++seen.not_ready; break;
        default:
          ++seen.other;
          seen.other_code = static_cast<int>(reader.error().code);
          seen.last = Message::of(reader.error().message);
          break;
      }
    }
    return report.send(seen) ? 0 : 3;
  });
  go.close_read();
  report.close_write();

  const auto geometry = make_geometry(kDefaultMaxSymbols, kDefaultIntervals, kDefaultRingCapacity,
                                      kDefaultJournalCapacity);
  REQUIRE(geometry);
  REQUIRE(go.send('g'));
  auto writer = SegmentWriter::create(WriterOptions{name.str(), *geometry, ""});
  REQUIRE(writer);

  Seen seen;
  REQUIRE(report.receive(seen, 25s));
  REQUIRE(reader_child.wait_exit(5s));
  INFO("attempts=" << seen.attempts << " not_found=" << seen.not_found << " too_small=" << seen.too_small
                   << " not_ready=" << seen.not_ready << " other=" << seen.other << " (code " << seen.other_code
                   << ": " << seen.last.str() << ")");
  CHECK(reader_child.exited_with(0));
  CHECK(seen.other == 0);
  CHECK(seen.attached);
  CHECK(seen.epoch == writer->epoch());
}

TEST_CASE("SegmentWhoseWriterDiedDuringInitIsNotReadyUntilTheDeadline", "[segment][attach]") {
  // Sized and reserved, header never written: what a writer killed during init leaves behind.
  ScopedSegmentName name;
  const SegmentImage image = valid_image();
  write_segment_file(name, SegmentHeader{}, image.size);

  const SegmentError error = open_error(name);
  INFO(describe(error));
  CHECK(error.code == SegmentErrc::NotReady);
  CHECK(is_retryable(error.code));

  auto reader = SegmentReader::attach(ReaderOptions{name.str()}, 100ms);
  REQUIRE_FALSE(reader);
  INFO(describe(reader.error()));
  CHECK(reader.error().code == SegmentErrc::TimedOut);
  CHECK_THAT(reader.error().message, Contains(name.file_path()));
}

TEST_CASE("ForeignOrIncompatibleSegmentsAreRefusedNamingBothValues", "[segment][attach]") {
  ScopedSegmentName name;
  const SegmentImage image = valid_image();

  SECTION("an unaltered copy attaches: the refusals below are due to the altered field") {
    write_segment_file(name, image.header, image.size);
    auto reader = SegmentReader::open(ReaderOptions{name.str()});
    INFO((reader ? std::string() : describe(reader.error())));
    REQUIRE(reader);
    CHECK(reader->epoch() == image.header.writer_epoch);
  }
  SECTION("layout version") {
    SegmentHeader h = image.header;
    h.layout_version = kLayoutVersion + 41;
    write_segment_file(name, h, image.size);
    const SegmentError error = open_error(name);
    INFO(describe(error));
    CHECK(error.code == SegmentErrc::VersionMismatch);
    CHECK_FALSE(is_retryable(error.code));
    CHECK_THAT(error.message, Contains(fmt::format("segment={}", kLayoutVersion + 41)));
    CHECK_THAT(error.message, Contains(fmt::format("reader={}", kLayoutVersion)));
  }
  SECTION("magic") {
    SegmentHeader h = image.header;
    h.magic = 0x0123456789abcdefULL;
    write_segment_file(name, h, image.size);
    const SegmentError error = open_error(name);
    INFO(describe(error));
    CHECK(error.code == SegmentErrc::BadMagic);
    CHECK_FALSE(is_retryable(error.code));
    CHECK_THAT(error.message, Contains(hex(0x0123456789abcdefULL)));
    CHECK_THAT(error.message, Contains(hex(kSegmentMagic)));
  }
  SECTION("layout hash") {
    SegmentHeader h = image.header;
    h.layout_hash = kLayoutHash ^ 0xFF00FFULL;
    write_segment_file(name, h, image.size);
    const SegmentError error = open_error(name);
    INFO(describe(error));
    CHECK(error.code == SegmentErrc::LayoutHashMismatch);
    CHECK_FALSE(is_retryable(error.code));
    CHECK_THAT(error.message, Contains(hex(kLayoutHash ^ 0xFF00FFULL)));
    CHECK_THAT(error.message, Contains(hex(kLayoutHash)));
  }
  SECTION("header total_size disagreeing with the geometry") {
    SegmentHeader h = image.header;
    h.total_size = image.size + kPageSize;
    write_segment_file(name, h, image.size + kPageSize);
    const SegmentError error = open_error(name);
    INFO(describe(error));
    CHECK(error.code == SegmentErrc::LayoutHashMismatch);
    CHECK_THAT(error.message, Contains(fmt::format("segment={}", image.size + kPageSize)));
    CHECK_THAT(error.message, Contains(fmt::format("computed={}", image.size)));
  }
  SECTION("truncated file") {
    const std::uint64_t truncated = image.size - kPageSize;
    write_segment_file(name, image.header, truncated);
    const SegmentError error = open_error(name);
    INFO(describe(error));
    CHECK(error.code == SegmentErrc::TooSmall);
    CHECK_THAT(error.message, Contains(fmt::format("file size={}", truncated)));
    CHECK_THAT(error.message, Contains(fmt::format("total_size={}", image.size)));
    // Retryable (a writer may still be sizing it), so a bounded attach gives up with the values.
    auto reader = SegmentReader::attach(ReaderOptions{name.str()}, 60ms);
    REQUIRE_FALSE(reader);
    INFO(describe(reader.error()));
    CHECK(reader.error().code == SegmentErrc::TimedOut);
    CHECK_THAT(reader.error().message, Contains(fmt::format("file size={}", truncated)));
    CHECK_THAT(reader.error().message, Contains(fmt::format("total_size={}", image.size)));
  }
  SECTION("smaller than a header") {
    write_segment_file(name, image.header, 100, 100);
    const SegmentError error = open_error(name);
    INFO(describe(error));
    CHECK(error.code == SegmentErrc::TooSmall);
    CHECK_THAT(error.message, Contains("100 bytes"));
    CHECK_THAT(error.message, Contains(fmt::format("{}-byte header", kHeaderSize)));
  }
  SECTION("marked shut down") {
    SegmentHeader h = image.header;
    h.state = static_cast<std::uint32_t>(SegmentState::Shutdown);
    write_segment_file(name, h, image.size);
    const SegmentError error = open_error(name);
    INFO(describe(error));
    CHECK(error.code == SegmentErrc::Shutdown);
    CHECK(is_retryable(error.code));
    CHECK_THAT(error.message, Contains(fmt::format("pid {}", h.writer_pid)));
  }
}

TEST_CASE("SecondWriterIsRefusedWhileTheFirstLivesAndNamesItsPid", "[segment][writer]") {
  ScopedSegmentName name;
  const WriterOptions options{name.str(), small_geometry(), ""};

  SECTION("first writer in this process (flock is per open file description)") {
    auto first = SegmentWriter::create(options);
    REQUIRE(first);
    struct stat before{};
    REQUIRE(::stat(name.file_path().c_str(), &before) == 0);

    auto second = SegmentWriter::create(options);
    REQUIRE_FALSE(second);
    INFO(describe(second.error()));
    CHECK(second.error().code == SegmentErrc::WriterAlive);
    CHECK_THAT(second.error().message, Contains(fmt::format("pid {}", getpid())));
    CHECK_THAT(second.error().message, Contains(name.lock_path()));

    // The refused writer left the live segment alone.
    struct stat after{};
    REQUIRE(::stat(name.file_path().c_str(), &after) == 0);
    CHECK(after.st_ino == before.st_ino);
    auto reader = SegmentReader::open(ReaderOptions{name.str()});
    REQUIRE(reader);
    CHECK(reader->epoch() == first->epoch());

    const std::uint64_t first_epoch = first->epoch();
    first->shutdown();
    auto third = SegmentWriter::create(options);
    INFO((third ? std::string() : describe(third.error())));
    REQUIRE(third);
    CHECK(third->epoch() != first_epoch);
  }

  SECTION("first writer in another process") {
    Pipe ready;
    Pipe stop;
    Child first([&] {
      ready.close_read();
      stop.close_write();
      auto writer = SegmentWriter::create(options);
      const std::uint64_t epoch = writer ? writer->epoch() : 0;
      if (!ready.send(epoch)) return 2;
      char byte = 0;
      (void)stop.receive(byte, 20s);  // until the parent closes the pipe (EOF), at most 20 s
      if (writer) writer->shutdown();
      return writer ? 0 : 1;
    });
    ready.close_write();
    stop.close_read();
    std::uint64_t first_epoch = 0;
    REQUIRE(ready.receive(first_epoch, 10s));
    REQUIRE(first_epoch != 0);

    auto second = SegmentWriter::create(options);
    REQUIRE_FALSE(second);
    INFO(describe(second.error()));
    CHECK(second.error().code == SegmentErrc::WriterAlive);
    CHECK_THAT(second.error().message, Contains(fmt::format("pid {}", first.pid())));
    {
      auto reader = SegmentReader::open(ReaderOptions{name.str()});
      REQUIRE(reader);
      CHECK(reader->epoch() == first_epoch);
    }

    stop.close_write();  // the first writer shuts down and exits
    REQUIRE(first.wait_exit(10s));
    CHECK(first.exited_with(0));
    auto third = SegmentWriter::create(options);
    INFO((third ? std::string() : describe(third.error())));
    REQUIRE(third);
    CHECK(third->epoch() != first_epoch);
  }
}

TEST_CASE("SegmentAndLockFilesAreCreatedWithMode0640", "[segment][writer]") {
  ScopedSegmentName name;
  const mode_t old_mask = ::umask(0077);  // the mode must not depend on the caller's umask
  auto writer = SegmentWriter::create(WriterOptions{name.str(), small_geometry(), ""});
  ::umask(old_mask);
  REQUIRE(writer);
  struct stat st{};
  REQUIRE(::stat(name.file_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  CHECK(S_ISREG(st.st_mode));
  CHECK(static_cast<std::uint64_t>(st.st_size) == writer->size_bytes());
  CHECK(st.st_gid == ::getegid());
  struct stat lock{};
  REQUIRE(::stat(name.lock_path().c_str(), &lock) == 0);
  CHECK((lock.st_mode & 07777) == 0640);

  writer->shutdown();
  CHECK(::access(name.file_path().c_str(), F_OK) != 0);  // shutdown unlinks the segment
}

TEST_CASE("ReaderMappingIsReadOnly", "[segment][attach]") {
  ScopedSegmentName name;
  auto writer = SegmentWriter::create(WriterOptions{name.str(), small_geometry(), ""});
  REQUIRE(writer);
  Pipe attached;
  constexpr int kWriteSucceeded = 0;
  Child child([&] {
    attached.close_read();
    auto reader = SegmentReader::open(ReaderOptions{name.str()});
    if (!reader || !attached.send('a')) return 2;
    const SegmentHeader& header = reader->header();
    // Must die with SIGSEGV right here.
    *const_cast<volatile std::uint64_t*>(&header.magic) = 0;  // NOLINT(cppcoreguidelines-pro-type-const-cast)
    return kWriteSucceeded;
  });
  attached.close_write();
  char byte = 0;
  REQUIRE(attached.receive(byte, 10s));  // the child attached; only the write can kill it now
  REQUIRE(child.wait_exit(10s));
  INFO(child.describe());
  CHECK(child.killed_by(SIGSEGV));
  CHECK(writer->view().header()->magic == kSegmentMagic);
}

TEST_CASE("CreateFailsWithNoSpaceNamingTheNeededBytesWhenDevShmIsTooSmall", "[segment][writer]") {
  ScopedSegmentName name;
  const auto geometry = make_geometry(kDefaultMaxSymbols, kDefaultIntervals, kDefaultRingCapacity,
                                      kDefaultJournalCapacity);
  REQUIRE(geometry);
  const std::uint64_t needed = total_size(compute_regions(*geometry));

  struct Outcome {
    int stage = 0;              ///< 0 ran create; 1 unshare EPERM (skip); 2 other setup failure
    int setup_errno = 0;
    bool created = false;
    int code = -1;
    bool file_left_behind = false;
    Message message;
  };
  Pipe report;
  Child child([&] {
    report.close_read();
    Outcome outcome;
    if (::unshare(CLONE_NEWNS) != 0) {
      outcome.stage = errno == EPERM ? 1 : 2;
      outcome.setup_errno = errno;
      return report.send(outcome) ? 0 : 3;
    }
    // Private propagation first, so the small tmpfs stays inside this namespace.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("screener-test-tmpfs", "/dev/shm", "tmpfs", 0, "size=1m") != 0) {
      outcome.stage = 2;
      outcome.setup_errno = errno;
      return report.send(outcome) ? 0 : 3;
    }
    auto writer = SegmentWriter::create(WriterOptions{name.str(), *geometry, ""});
    outcome.created = writer.has_value();
    if (!writer) {
      outcome.code = static_cast<int>(writer.error().code);
      outcome.message = Message::of(writer.error().message);
    }
    outcome.file_left_behind = ::access(name.file_path().c_str(), F_OK) == 0;
    return report.send(outcome) ? 0 : 3;
  });
  report.close_write();
  Outcome outcome;
  REQUIRE(report.receive(outcome, 20s));
  REQUIRE(child.wait_exit(10s));
  CHECK(child.exited_with(0));
  if (outcome.stage == 1) {
    WARN("SKIPPED: unshare(CLONE_NEWNS) is not permitted here (needs CAP_SYS_ADMIN); the small-tmpfs "
         "check did not run");
    return;
  }
  INFO("setup errno " << outcome.setup_errno << ": " << errno_text(outcome.setup_errno));
  REQUIRE(outcome.stage == 0);
  INFO(outcome.message.str());
  CHECK_FALSE(outcome.created);
  CHECK(outcome.code == static_cast<int>(SegmentErrc::NoSpace));
  CHECK_THAT(outcome.message.str(), Contains(fmt::format("{} bytes", needed)));
  CHECK_THAT(outcome.message.str(), Contains("/dev/shm"));
  CHECK_FALSE(outcome.file_left_behind);  // no half-made segment for readers to find
}
