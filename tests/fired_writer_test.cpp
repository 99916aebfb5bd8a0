// SPDX-License-Identifier: Apache-2.0
// The fired-state writer thread (worker/fired_writer.hpp): what reaches the files, when, and what
// it keeps from a file another worker wrote.
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/temp_dir.hpp"
#include "worker/fired_store.hpp"
#include "worker/fired_writer.hpp"

using namespace std::chrono_literals;
using screener::test::TempDir;
using screener::worker::FiredChange;
using screener::worker::FiredStore;
using screener::worker::FiredWriter;

namespace {
std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}
}  // namespace

TEST_CASE("FiredWriterMergesChangesIntoTheExistingFile", "[fired]") {
  TempDir dir;
  dir.write("alpha.fired", "AAAUSDT 60000\nBBBUSDT 120000\n");
  const FiredStore store(dir.file(""));
  FiredWriter writer(0ms);
  writer.submit(store, "alpha", {FiredChange{"BBBUSDT", 180000}, FiredChange{"CCCUSDT", 240000}});
  writer.drain();
  CHECK(read_file(dir.file("alpha.fired")) == "AAAUSDT 60000\nBBBUSDT 180000\nCCCUSDT 240000\n");
  CHECK(writer.failures() == 0);
}

TEST_CASE("FiredWriterWritesABurstOfChangesToOneTraderOnce", "[fired]") {
  TempDir dir;
  const FiredStore store(dir.file(""));
  // A long gap: every submit below lands in the round that drain() starts.
  FiredWriter writer(10s);
  for (int bar = 1; bar <= 50; ++bar) writer.submit(store, "beta", {FiredChange{"XUSDT", bar * 60'000}});
  writer.submit(store, "gamma", {FiredChange{"YUSDT", 60'000}});
  writer.drain();
  CHECK(read_file(dir.file("beta.fired")) == "XUSDT 3000000\n");
  CHECK(read_file(dir.file("gamma.fired")) == "YUSDT 60000\n");
  // The first submit may have started a round of its own before the others arrived.
  CHECK(writer.writes() >= 2);
  CHECK(writer.writes() <= 3);
}

TEST_CASE("FiredWriterReadsAFileAgainAfterReloadFromFiles", "[fired]") {
  TempDir dir;
  const FiredStore store(dir.file(""));
  FiredWriter writer(0ms);
  writer.submit(store, "delta", {FiredChange{"AUSDT", 60'000}});
  writer.drain();
  // Another worker held the trader meanwhile and wrote its own fire.
  dir.write("delta.fired", "AUSDT 60000\nBUSDT 120000\n");
  writer.reload_from_files();
  writer.submit(store, "delta", {FiredChange{"CUSDT", 180'000}});
  writer.drain();
  CHECK(read_file(dir.file("delta.fired")) == "AUSDT 60000\nBUSDT 120000\nCUSDT 180000\n");
}

TEST_CASE("FiredWriterReportsAFileItCannotWriteAndKeepsGoing", "[fired]") {
  TempDir dir;
  const FiredStore missing(dir.file("no-such-dir"));
  const FiredStore store(dir.file(""));
  FiredWriter writer(0ms);
  writer.submit(missing, "eps", {FiredChange{"AUSDT", 60'000}});
  writer.submit(store, "eps", {FiredChange{"AUSDT", 60'000}});
  writer.drain();
  CHECK(writer.failures() == 1);
  CHECK(read_file(dir.file("eps.fired")) == "AUSDT 60000\n");
}

TEST_CASE("FiredWriterDrainsOnDestruction", "[fired]") {
  TempDir dir;
  const FiredStore store(dir.file(""));
  {
    FiredWriter writer(10s);
    writer.submit(store, "zeta", {FiredChange{"AUSDT", 60'000}});
  }
  CHECK(read_file(dir.file("zeta.fired")) == "AUSDT 60000\n");
}
