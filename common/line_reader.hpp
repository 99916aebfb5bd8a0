// SPDX-License-Identifier: Apache-2.0
#pragma once

// Line-by-line reading of a plain or gzip-compressed text file (zlib reads plain files through),
// in large blocks and without a length limit per line: capture lines hold whole frames.

#include <zlib.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace screener {

class LineReader {
 public:
  /// Opens `path`; check ok() before reading.
  explicit LineReader(const std::string& path) : file_(gzopen(path.c_str(), "rb")) {
    if (file_ != nullptr) gzbuffer(file_, 1U << 18);
    buffer_.resize(1U << 18);
  }
  ~LineReader() {
    if (file_ != nullptr) gzclose(file_);
  }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  [[nodiscard]] bool ok() const noexcept { return file_ != nullptr; }
  [[nodiscard]] const std::string& error() const noexcept { return error_; }

  /// The next line without "\n" / "\r\n", valid until the next call; nothing at the end or on a
  /// read error (then error() is set).
  std::optional<std::string_view> next() {
    if (file_ == nullptr) return std::nullopt;
    for (;;) {
      const auto first = buffer_.begin() + static_cast<std::ptrdiff_t>(begin_);
      const auto last = buffer_.begin() + static_cast<std::ptrdiff_t>(end_);
      const auto newline = std::find(first, last, '\n');
      if (newline != last) {
        const auto pos = static_cast<std::size_t>(newline - buffer_.begin());
        const std::string_view line(buffer_.data() + begin_, pos - begin_);
        begin_ = pos + 1;
        return trim_cr(line);
      }
      if (eof_) {
        if (begin_ == end_) return std::nullopt;
        const std::string_view line(buffer_.data() + begin_, end_ - begin_);
        begin_ = end_;
        return trim_cr(line);
      }
      std::copy(first, last, buffer_.begin());
      end_ -= begin_;
      begin_ = 0;
      if (end_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);
      const int got = gzread(file_, buffer_.data() + end_, static_cast<unsigned>(buffer_.size() - end_));
      if (got < 0) {
        int errnum = 0;
        error_ = gzerror(file_, &errnum);
        return std::nullopt;
      }
      if (got == 0) eof_ = true;
      end_ += static_cast<std::size_t>(got);
    }
  }

 private:
  static std::string_view trim_cr(std::string_view line) noexcept {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  }
  gzFile file_;
  std::vector<char> buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  bool eof_ = false;
  std::string error_;
};

}  // namespace screener
