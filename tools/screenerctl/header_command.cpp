// SPDX-License-Identifier: Apache-2.0
// `screenerctl header`: identity, state and counters of a live segment, read straight from it.

#include <fmt/format.h>

#include <map>
#include <string>

#include "common/clock.hpp"
#include "common/interval.hpp"
#include "common/segment_reader.hpp"
#include "common/shm_atomic.hpp"
#include "common/trader_table.hpp"
#include "tools/screenerctl/commands.hpp"

namespace screener::ctl {

namespace {
const char* state_name(std::uint32_t state) {
  switch (static_cast<shm::SegmentState>(state)) {
    case shm::SegmentState::Init: return "INIT";
    case shm::SegmentState::Ready: return "READY";
    case shm::SegmentState::Shutdown: return "SHUTDOWN";
  }
  return "?";
}
}  // namespace

int run_header(std::span<const std::string_view> args) {
  shm::ReaderOptions options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--segment" && i + 1 < args.size()) {
      options.name = std::string(args[++i]);
    } else {
      fmt::print(stderr, "screenerctl header: unknown argument '{}'\n", args[i]);
      return 2;
    }
  }
  auto reader = shm::SegmentReader::open(options);
  if (!reader) {
    fmt::print(stderr, "screenerctl header: {}\n", reader.error().message);
    return 1;
  }
  const shm::SegmentHeader& h = reader->header();
  const shm::SegmentGeometry& g = h.geometry;
  std::string intervals;
  for (std::uint32_t i = 0; i < g.interval_count; ++i)
    intervals += (i ? "," : "") + std::string(interval_name(static_cast<Interval>(g.interval_codes[i])));

  fmt::print("segment          {}\n", options.name);
  fmt::print("magic            {:#018x}\n", h.magic);
  fmt::print("layout           v{} hash {:#018x}\n", h.layout_version, h.layout_hash);
  fmt::print("size             {} bytes\n", h.total_size);
  fmt::print("writer           pid {} epoch {}\n", h.writer_pid, h.writer_epoch);
  fmt::print("state            {} (writer {})\n", state_name(shm::load_acquire(&h.state)),
             shm::to_string(reader->writer_status()));
  fmt::print("heartbeat age    {:.1f} ms\n", static_cast<double>(reader->heartbeat_age_ns()) / 1e6);
  fmt::print("geometry         {} symbols x {} intervals ({}) x {} bars\n", g.max_symbols, g.interval_count,
             intervals, g.ring_capacity);
  fmt::print("journal          {} records, head {}\n", g.journal_capacity, shm::load_acquire(&h.journal_head));
  fmt::print("publish seq      {}\n", reader->publish_seq());
  fmt::print("futex word       {}\n", reader->futex_value());
  if (const auto table = shm::trader_table_read(reader->view())) {
    std::map<std::uint32_t, int> per_worker;
    for (const shm::TraderTableItem& t : table->traders) ++per_worker[t.owner];
    std::string owners;
    for (const auto& [owner, count] : per_worker)
      owners += fmt::format("{}{} on {}", owners.empty() ? "" : ", ", count,
                            owner == shm::kUnassigned ? std::string("none") : fmt::format("worker {}", owner));
    fmt::print("traders          generation {}: {} traders, {} workers ({})\n", table->generation,
               table->traders.size(), table->worker_count, owners.empty() ? "-" : owners);
    fmt::print("worker socket    {}\n", table->socket_path);
    fmt::print("state directory  {}\n", table->state_dir);
  } else {
    fmt::print("traders          no trader table published yet\n");
  }
  return 0;
}

}  // namespace screener::ctl
