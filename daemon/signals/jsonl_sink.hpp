// SPDX-License-Identifier: Apache-2.0
#pragma once

// Where signals end up: one JSON object per line, appended to a file and/or written to stdout.
//
// The file, when there is one, is the record: a signal counts as written once its line is in the
// file, and stdout is a best-effort copy. Without a file, stdout is the record. A line is written
// with one write(2) whenever possible, so a reader tailing the file never sees half of one; if a
// write fails half-way (disk full), the next line starts with a newline so the fragment stays a
// line of its own, which the id scan on start-up ignores.

#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <string>
#include <string_view>

namespace screener::signals {

struct SinkWriteResult {
  int record_error = 0;  ///< errno of the record (file, or stdout without a file); 0 = written
  int stdout_error = 0;  ///< errno of the stdout copy when the file is the record
};

class JsonlSink {
 public:
  /// Opens `path` for appending (O_APPEND, created 0640; its directory must exist) unless it is
  /// empty; throws std::runtime_error naming the path and the error. `stdout_fd` is where the
  /// stdout copy goes when `write_stdout` (a parameter for tests).
  JsonlSink(std::string path, bool write_stdout, int stdout_fd = 1);
  ~JsonlSink();
  JsonlSink(const JsonlSink&) = delete;
  JsonlSink& operator=(const JsonlSink&) = delete;

  /// Writes `json` and a newline to the file and/or stdout.
  [[nodiscard]] SinkWriteResult write(std::string_view json) noexcept;

  /// Opens the path again (after logrotate moved the file away, or to get past a broken file);
  /// on failure the old file stays in use and the error names the path.
  std::expected<void, std::string> reopen();

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] bool has_file() const noexcept { return !path_.empty(); }
  [[nodiscard]] bool writes_stdout() const noexcept { return write_stdout_; }

 private:
  [[nodiscard]] int write_all(int fd, std::string_view bytes, bool& torn) noexcept;

  std::string path_;
  bool write_stdout_;
  int stdout_fd_;
  int fd_ = -1;
  bool file_torn_ = false;    ///< the file ends in the middle of a line
  bool stdout_torn_ = false;
  std::string line_;
};

/// Calls `on_id` with the signal id of every complete signal line ('{' .. '}' with an "id"
/// member) in the last `max_bytes` of the file at `path`, oldest first. A missing file, or one
/// that is not a regular file (a device, a FIFO), has none; a file that exists but cannot be
/// read is an error naming the path.
std::expected<std::size_t, std::string> scan_signal_ids(const std::string& path, std::uint64_t max_bytes,
                                                        const std::function<void(std::uint64_t)>& on_id);

}  // namespace screener::signals
