// SPDX-License-Identifier: Apache-2.0
// The status region in the segment: what screenerd writes is what `screenerctl status` copies,
// arrays longer than the region are cut to it, and a segment without status says so.
#include <catch2/catch.hpp>

#include "common/segment_reader.hpp"
#include "common/segment_writer.hpp"
#include "common/status_board.hpp"
#include "segment_test_support.hpp"

using namespace screener;
using namespace screener::shm;
using screener::test::ScopedSegmentName;
using screener::test::small_geometry;

namespace {

SegmentReader attach(const ScopedSegmentName& name) {
  auto reader = SegmentReader::attach(ReaderOptions{name.str()}, std::chrono::seconds(5));
  if (!reader) throw std::runtime_error(reader.error().message);
  return std::move(*reader);
}

StatusSnapshot sample_status() {
  StatusSnapshot s;
  s.header.updated_unix_ms = 1'795'629'161'638;
  s.header.started_unix_ms = 1'795'629'000'000;
  s.header.frames_per_second = 41.5;
  s.header.frames_total = 123'456;
  s.header.frames_kline = 100'000;
  s.header.frames_ticker = 23'000;
  s.header.frames_other = 456;
  s.header.parse_errors_total = 3;
  s.header.parse_errors_by_reason[1] = 2;
  s.header.parse_errors_by_reason[10] = 1;
  s.header.reconnects = 2;
  s.header.rest_weight_used = 340;
  s.header.rest_weight_limit = 4800;
  s.header.signals_written = 7;
  s.header.reloads_failed = 1;
  s.header.last_reload_unix_ms = 1'795'629'100'000;
  s.header.last_reload_ok = 0;
  s.header.symbols_active = 20;
  s.header.rings_complete = 40;
  set_padded(s.header.last_reload_error, "traders.d/rsi.toml:4:9: unknown function 'rsii'");
  s.connections.push_back(ConnectionStatus{1, 60, 1, 0, 5000, 1'795'629'161'000});
  WorkerStatus worker{};
  worker.index = 1;
  worker.pid = 4242;
  worker.connected = 1;
  worker.traders = 3;
  worker.table_generation = 2;
  worker.journal_lag = 5;
  worker.evaluations = 999;
  worker.eval_ns_total = 123'456'789;
  worker.last_heartbeat_unix_ms = 1'795'629'161'500;
  s.workers.push_back(worker);
  TraderStatus trader{};
  set_padded(trader.name, "oversold-bounce");
  trader.owner = 1;
  trader.evaluations = 500;
  trader.signals = 4;
  trader.last_fire_unix_ms = 1'795'629'161'638;
  set_padded(trader.last_fire_symbol, "SYN005USDT");
  s.traders.push_back(trader);
  s.recent_signals = {R"({"id":"1","trader":"oversold-bounce"})", R"({"id":"2","trader":"oversold-bounce"})"};
  return s;
}

}  // namespace

TEST_CASE("StatusReadsBackExactlyWhatTheDaemonWrote", "[status]") {
  ScopedSegmentName name;
  auto writer = SegmentWriter::create(WriterOptions{name.str(), small_geometry(), ""});
  REQUIRE(writer);
  SegmentReader reader = attach(name);
  CHECK(status_generation(reader.view()) == 0);
  CHECK_FALSE(status_read(reader.view()));  // no status yet

  const StatusSnapshot written = sample_status();
  writer->publish_status(written);
  CHECK_FALSE(writer->publish());  // a status write is not a batch: nobody is woken for it

  const auto read = status_read(reader.view());
  REQUIRE(read);
  const StatusHeader& h = read->header;
  CHECK(h.generation == 1);
  CHECK(h.updated_unix_ms == written.header.updated_unix_ms);
  CHECK(h.started_unix_ms == written.header.started_unix_ms);
  CHECK(h.frames_per_second == 41.5);
  CHECK(h.frames_total == 123'456);
  CHECK(h.frames_kline == 100'000);
  CHECK(h.frames_other == 456);
  CHECK(h.parse_errors_by_reason[1] == 2);
  CHECK(h.parse_errors_by_reason[10] == 1);
  CHECK(h.reconnects == 2);
  CHECK(h.rest_weight_used == 340);
  CHECK(h.rest_weight_limit == 4800);
  CHECK(h.signals_written == 7);
  CHECK(h.reloads_failed == 1);
  CHECK(h.last_reload_ok == 0);
  CHECK(h.symbols_active == 20);
  CHECK(h.rings_complete == 40);
  CHECK(padded_text(h.last_reload_error) == "traders.d/rsi.toml:4:9: unknown function 'rsii'");
  CHECK(h.connection_count == 1);
  CHECK(h.worker_count == 1);
  CHECK(h.trader_count == 1);
  CHECK(h.recent_signal_count == 2);
  REQUIRE(read->connections.size() == 1);
  CHECK(std::memcmp(&read->connections[0], &written.connections[0], sizeof(ConnectionStatus)) == 0);
  REQUIRE(read->workers.size() == 1);
  CHECK(std::memcmp(&read->workers[0], &written.workers[0], sizeof(WorkerStatus)) == 0);
  REQUIRE(read->traders.size() == 1);
  CHECK(std::memcmp(&read->traders[0], &written.traders[0], sizeof(TraderStatus)) == 0);
  CHECK(read->recent_signals == written.recent_signals);

  // A second write replaces the first, entries included, and is the next generation.
  StatusSnapshot second = written;
  second.workers.clear();
  second.recent_signals.push_back(R"({"id":"3"})");
  writer->publish_status(second);
  const auto again = status_read(reader.view());
  REQUIRE(again);
  CHECK(again->header.generation == 2);
  CHECK(again->workers.empty());
  CHECK(again->recent_signals.size() == 3);
  CHECK(again->recent_signals.back() == R"({"id":"3"})");
}

TEST_CASE("StatusKeepsTheNewestSignalsAndCutsWhatDoesNotFit", "[status]") {
  ScopedSegmentName name;
  auto writer = SegmentWriter::create(WriterOptions{name.str(), small_geometry(), ""});
  REQUIRE(writer);
  SegmentReader reader = attach(name);

  StatusSnapshot status;
  for (int i = 0; i < 20; ++i) status.recent_signals.push_back(fmt::format(R"({{"id":"{}"}})", i));
  status.recent_signals.push_back(std::string(3000, 'x'));  // longer than a RecentSignal
  for (std::uint32_t i = 0; i < kStatusMaxConnections + 4; ++i) status.connections.push_back({i, 1, 1, 0, i, 0});
  for (std::uint32_t i = 0; i < kStatusMaxWorkers + 1; ++i) {
    WorkerStatus worker{};
    worker.index = i;
    status.workers.push_back(worker);
  }
  status.traders.resize(reader.view().trader_capacity() + 5);
  writer->publish_status(status);

  const auto read = status_read(reader.view());
  REQUIRE(read);
  REQUIRE(read->recent_signals.size() == kStatusRecentSignals);
  CHECK(read->recent_signals.front() == R"({"id":"5"})");  // the oldest of the newest 16
  CHECK(read->recent_signals.back() == std::string(kStatusSignalCapacity, 'x'));
  CHECK(read->connections.size() == kStatusMaxConnections);
  CHECK(read->connections.back().id == kStatusMaxConnections - 1);
  CHECK(read->workers.size() == kStatusMaxWorkers);
  CHECK(read->traders.size() == reader.view().trader_capacity());
}
