// SPDX-License-Identifier: Apache-2.0
#include "worker/fired_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

namespace screener::worker {

std::string FiredStore::path(std::string_view trader) const { return fmt::format("{}/{}.fired", dir_, trader); }

std::expected<std::map<std::string, std::int64_t, std::less<>>, std::string> FiredStore::load(
    std::string_view trader) const {
  std::map<std::string, std::int64_t, std::less<>> fired;
  if (dir_.empty()) return fired;
  const std::string file = path(trader);
  std::ifstream in(file);
  if (!in) return fired;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const std::size_t space = line.find(' ');
    std::int64_t open_ms = 0;
    const char* first = line.data() + (space == std::string::npos ? line.size() : space + 1);
    const char* last = line.data() + line.size();
    const auto [end, error] = std::from_chars(first, last, open_ms);
    if (space == 0 || space == std::string::npos || error != std::errc{} || end != last)
      return std::unexpected(fmt::format("{}:{}: expected 'SYMBOL OPEN_TIME_MS', got '{}'", file, number, line));
    fired[line.substr(0, space)] = open_ms;
  }
  return fired;
}

std::expected<void, std::string> write_file_atomically(const std::string& file, std::string_view text) {
  const std::string temporary = file + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return std::unexpected(fmt::format("cannot write {}: {}", temporary, std::strerror(errno)));
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int saved = errno;
      ::close(fd);
      return std::unexpected(fmt::format("cannot write {}: {}", temporary, std::strerror(saved)));
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (::rename(temporary.c_str(), file.c_str()) != 0)
    return std::unexpected(fmt::format("cannot rename {} to {}: {}", temporary, file, std::strerror(errno)));
  return {};
}

std::expected<void, std::string> FiredStore::save(std::string_view trader,
                                                  const std::map<std::string, std::int64_t, std::less<>>& fired) const {
  if (dir_.empty()) return {};
  std::string text;
  for (const auto& [symbol, open_ms] : fired) text += fmt::format("{} {}\n", symbol, open_ms);
  return write_file_atomically(path(trader), text);
}

}  // namespace screener::worker
