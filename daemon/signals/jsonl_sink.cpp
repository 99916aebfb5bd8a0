// SPDX-License-Identifier: Apache-2.0
#include "daemon/signals/jsonl_sink.hpp"

#include "common/signal_id.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

namespace screener::signals {

namespace {

constexpr std::size_t kLineReserve = 16 * 1024 + 2;

class Fd {
 public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::expected<int, std::string> open_append(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return std::unexpected(fmt::format("cannot open signal file {}: {}", path, std::strerror(errno)));
  return fd;
}

/// Whether the regular file at `path` is non-empty and its last byte is not a newline. Anything
/// that cannot be checked counts as "no": the worst case is a line glued to a fragment.
bool ends_mid_line(const std::string& path) noexcept {
  const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  struct stat st{};
  if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) return false;
  char last = '\n';
  return ::pread(fd.get(), &last, 1, st.st_size - 1) == 1 && last != '\n';
}

}  // namespace

JsonlSink::JsonlSink(std::string path, bool write_stdout, int stdout_fd)
    : path_(std::move(path)), write_stdout_(write_stdout), stdout_fd_(stdout_fd) {
  line_.reserve(kLineReserve);
  if (path_.empty()) return;
  auto fd = open_append(path_);
  if (!fd) throw std::runtime_error(fd.error());
  fd_ = *fd;
  file_torn_ = ends_mid_line(path_);
}

JsonlSink::~JsonlSink() {
  if (fd_ >= 0) ::close(fd_);
}

std::expected<void, std::string> JsonlSink::reopen() {
  if (path_.empty()) return {};
  auto fd = open_append(path_);
  if (!fd) return std::unexpected(fd.error());
  if (fd_ >= 0) ::close(fd_);
  fd_ = *fd;
  file_torn_ = ends_mid_line(path_);
  return {};
}

int JsonlSink::write_all(int fd, std::string_view bytes, bool& torn) noexcept {
  // After a torn write the line starts with a newline, ending the fragment; line_ keeps one
  // spare byte in front for it.
  if (torn) bytes = std::string_view(bytes.data() - 1, bytes.size() + 1);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      if (done > 0) torn = true;
      return error;
    }
    done += static_cast<std::size_t>(n);
  }
  torn = false;
  return 0;
}

SinkWriteResult JsonlSink::write(std::string_view json) noexcept {
  SinkWriteResult result;
  line_.clear();
  if (json.size() + 2 > line_.capacity()) {
    // Never for a protocol message (bounded by kMaxMessageBytes), which fits the reservation.
    try {
      line_.reserve(json.size() + 2);
    } catch (...) {
      result.record_error = ENOMEM;
      return result;
    }
  }
  line_.push_back('\n');
  line_.append(json);
  line_.push_back('\n');
  const std::string_view bytes = std::string_view(line_).substr(1);
  if (fd_ >= 0) {
    result.record_error = write_all(fd_, bytes, file_torn_);
    if (result.record_error != 0) return result;
    if (write_stdout_) result.stdout_error = write_all(stdout_fd_, bytes, stdout_torn_);
  } else if (write_stdout_) {
    result.record_error = write_all(stdout_fd_, bytes, stdout_torn_);
  }
  return result;
}

std::expected<std::size_t, std::string> scan_signal_ids(const std::string& path, std::uint64_t max_bytes,
                                                        const std::function<void(std::uint64_t)>& on_id) {
  const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) {
    if (errno == ENOENT) return 0;
    return std::unexpected(fmt::format("cannot read signal file {}: {}", path, std::strerror(errno)));
  }
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) {
    return std::unexpected(fmt::format("cannot stat signal file {}: {}", path, std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) return 0;

  const auto size = static_cast<std::uint64_t>(st.st_size);
  std::uint64_t offset = size > max_bytes ? size - max_bytes : 0;
  // Starting mid-file, the first (partial) line is skipped: it cannot be told from a fragment.
  bool skip_first_line = offset > 0;
  std::size_t found = 0;
  std::string line;
  const auto take_line = [&](std::string_view text) {
    if (text.empty() || text.front() != '{' || text.back() != '}') return;
    if (const auto id = signal_id_in_json(text)) {
      on_id(*id);
      ++found;
    }
  };

  std::vector<char> block(1 << 20);
  while (offset < size) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), size - offset));
    const ssize_t got = ::pread(fd.get(), block.data(), want, static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      return std::unexpected(fmt::format("cannot read signal file {}: {}", path, std::strerror(errno)));
    }
    if (got == 0) break;  // truncated while reading
    offset += static_cast<std::uint64_t>(got);
    std::string_view rest(block.data(), static_cast<std::size_t>(got));
    for (std::size_t newline = rest.find('\n'); newline != std::string_view::npos; newline = rest.find('\n')) {
      if (skip_first_line) {
        skip_first_line = false;
      } else if (line.empty()) {
        take_line(rest.substr(0, newline));
      } else {
        line.append(rest.substr(0, newline));
        take_line(line);
      }
      line.clear();
      rest.remove_prefix(newline + 1);
    }
    // A line longer than any signal can be is not one; stop collecting it.
    if (line.size() + rest.size() <= 2 * kLineReserve) {
      line.append(rest);
    } else {
      line.clear();
      skip_first_line = true;
    }
  }
  // The last line without its newline: a signal whose newline did not make it is still written.
  if (!skip_first_line) take_line(line);
  return found;
}

}  // namespace screener::signals
