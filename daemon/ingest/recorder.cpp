// SPDX-License-Identifier: Apache-2.0
#include "daemon/ingest/recorder.hpp"

#include "common/json_escape.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace screener::ingest {

std::expected<Recorder, std::string> Recorder::open(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "ae");
  if (file == nullptr) return std::unexpected(fmt::format("cannot open record file {}: {}", path, std::strerror(errno)));
  return Recorder(file);
}

Recorder::Recorder(Recorder&& other) noexcept
    : file_(std::exchange(other.file_, nullptr)), line_(std::move(other.line_)), frames_(other.frames_) {}

Recorder& Recorder::operator=(Recorder&& other) noexcept {
  if (this != &other) {
    if (file_ != nullptr) std::fclose(file_);
    file_ = std::exchange(other.file_, nullptr);
    line_ = std::move(other.line_);
    frames_ = other.frames_;
  }
  return *this;
}

Recorder::~Recorder() {
  if (file_ != nullptr) std::fclose(file_);
}

void Recorder::record(std::uint64_t recv_unix_ns, std::uint32_t connection, std::string_view frame) noexcept {
  if (file_ == nullptr) return;
  try {
    line_.clear();
    fmt::format_to(std::back_inserter(line_), "{{\"recv_ns\":{},\"conn\":{},\"frame\":\"", recv_unix_ns, connection);
    append_json_escaped(line_, frame);
    line_ += "\"}\n";
    std::fwrite(line_.data(), 1, line_.size(), file_);
    ++frames_;
  } catch (...) {
    // Out of memory while recording: drop this frame's line, never the frame itself.
  }
}

void Recorder::flush() noexcept {
  if (file_ != nullptr) std::fflush(file_);
}

}  // namespace screener::ingest
