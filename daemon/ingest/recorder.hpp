// SPDX-License-Identifier: Apache-2.0
#pragma once

// `screenerd --record FILE`: every raw frame, as received, with its receive time and the
// connection it came on, one JSON object per line. screener-replay plays such files back:
//   {"recv_ns":1764083112063356900,"conn":3,"frame":"{\"stream\":\"btcusdt@kline_1m\",...}"}

#include <cstdint>
#include <cstdio>
#include <expected>
#include <string>
#include <string_view>

namespace screener::ingest {

class Recorder {
 public:
  /// Opens (appends to) `path`.
  [[nodiscard]] static std::expected<Recorder, std::string> open(const std::string& path);
  Recorder(Recorder&& other) noexcept;
  Recorder& operator=(Recorder&& other) noexcept;
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;
  ~Recorder();

  void record(std::uint64_t recv_unix_ns, std::uint32_t connection, std::string_view frame) noexcept;
  void flush() noexcept;
  [[nodiscard]] std::uint64_t frames() const noexcept { return frames_; }

 private:
  explicit Recorder(std::FILE* file) noexcept : file_(file) {}
  std::FILE* file_ = nullptr;
  std::string line_;
  std::uint64_t frames_ = 0;
};

}  // namespace screener::ingest
