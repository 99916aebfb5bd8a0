// SPDX-License-Identifier: Apache-2.0
// `screenerctl status --json` against a running system, every part a real process on loopback:
// screener-replay plays a synthetic market, screenerd ingests it, one screener-worker evaluates a
// trader, and the status read from the segment shows all of it. Every wait is bounded.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <simdjson.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tests/support/child_process.hpp"

using namespace std::chrono_literals;
using screener::test::ChildProcess;
using screener::test::eventually;

namespace {

struct ScratchDir {
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "screener-status-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  [[nodiscard]] std::string file(const std::string& name) const { return path + "/" + name; }
  std::string path;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// What the test looks for in one `screenerctl status --json`.
struct Seen {
  std::int64_t symbols_active = 0;
  std::int64_t symbols_complete = 0;
  std::int64_t rings_complete = 0;
  std::int64_t rings_total = 0;
  bool status_available = false;
  bool stale = true;
  std::uint64_t frames_total = 0;
  bool worker_connected = false;
  bool worker_heartbeat = false;
  std::int64_t worker_lag = -1;
  std::uint64_t worker_evaluations = 0;
  std::string trader_name;
  std::int64_t trader_owner = -1;
  std::uint64_t trader_evaluations = 0;
};

std::optional<Seen> parse_status(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(text).get(root) != simdjson::SUCCESS) return std::nullopt;
  Seen seen;
  try {
    seen.symbols_active = root["segment"]["symbols_active"].get_int64();
    seen.symbols_complete = root["segment"]["symbols_complete"].get_int64();
    seen.rings_complete = root["segment"]["rings_complete"].get_int64();
    seen.rings_total = root["segment"]["rings_total"].get_int64();
    seen.status_available = root["status"]["available"].get_bool();
    if (!seen.status_available) return seen;
    seen.stale = root["status"]["stale"].get_bool();
    seen.frames_total = root["ingest"]["frames_total"].get_uint64();
    for (simdjson::dom::element worker : root["workers"].get_array()) {
      if (worker["index"].get_int64().value() != 0) continue;
      seen.worker_connected = worker["connected"].get_bool();
      seen.worker_heartbeat = worker["last_heartbeat_unix_ms"].get_int64().value() > 0;
      seen.worker_lag = worker["journal_lag"].get_int64();
      seen.worker_evaluations = worker["evaluations"].get_uint64();
    }
    for (simdjson::dom::element trader : root["traders"].get_array()) {
      seen.trader_name = std::string(trader["name"].get_string().value());
      const auto owner = trader["owner"];
      seen.trader_owner = owner.is_null() ? -1 : owner.get_int64().value();
      seen.trader_evaluations = trader["evaluations"].get_uint64();
    }
  } catch (const simdjson::simdjson_error&) {
    return std::nullopt;
  }
  return seen;
}

}  // namespace

TEST_CASE("StatusShowsCompleteRingsFramesTheConnectedWorkerAndItsTradersEvaluations", "[status][e2e]") {
  ScratchDir dir;
  const std::string segment = fmt::format("screener-status-test-{}", ::getpid());

  ChildProcess replay({SCREENER_BIN_DIR "/screener-replay", "--synthetic", "--symbols", "4", "--history-bars", "300",
                       "--speed", "x60", "--listen", "127.0.0.1:0", "--port-file", dir.file("port")},
                      dir.file("replay.log"));
  REQUIRE(eventually([&] { return !read_file(dir.file("port")).empty(); }, 10s));
  std::string port = read_file(dir.file("port"));
  while (!port.empty() && (port.back() == '\n' || port.back() == ' ')) port.pop_back();

  std::filesystem::create_directories(dir.file("traders"));
  std::ofstream(dir.file("traders/always.toml")) << "name = \"always\"\n"
                                                    "symbols = \"*USDT\"\n"
                                                    "interval = \"1m\"\n"
                                                    "when = \"close > 0\"\n";
  std::ofstream(dir.file("screener.toml")) << fmt::format(R"([segment]
name = "{}"
max_symbols = 8
[market]
intervals = ["1m", "5m"]
depth = 60
[exchange]
ws_url = "ws://127.0.0.1:{}"
rest_url = "http://127.0.0.1:{}"
[universe]
symbols = ["SYN000USDT", "SYN001USDT"]
[traders]
dir = "{}"
socket = "{}"
state_dir = "{}"
[signals]
jsonl = "{}"
stdout = false
)",
                                                          segment, port, port, dir.file("traders"),
                                                          dir.file("screenerd.sock"), dir.file("state"),
                                                          dir.file("signals.jsonl"));
  ChildProcess daemon({SCREENER_BIN_DIR "/screenerd", "--config", dir.file("screener.toml")}, dir.file("daemon.log"));
  REQUIRE(eventually([&] { return daemon.log().find("workers connect to") != std::string::npos; }, 10s));
  ChildProcess worker({SCREENER_BIN_DIR "/screener-worker", "--segment", segment, "--index", "0"},
                      dir.file("worker.log"));

  std::optional<Seen> seen;
  std::string last_output;
  auto everything_shows = [&] {
    {
      ChildProcess ctl({SCREENER_BIN_DIR "/screenerctl", "status", "--segment", segment, "--json"}, dir.file("ctl.log"));
      if (!eventually([&] { return !ctl.running(); }, 5s) || ctl.exit_status() != 0) return false;
    }
    last_output = read_file(dir.file("ctl.log"));
    seen = parse_status(last_output);
    return seen && seen->status_available && seen->symbols_complete == 2 && seen->frames_total > 0 &&
           seen->worker_connected && seen->worker_heartbeat && seen->trader_evaluations > 0;
  };
  const bool shown = eventually(everything_shows, 45s);
  INFO("last screenerctl status --json: " << last_output);
  INFO("screenerd log:\n" << daemon.log());
  INFO("worker log:\n" << worker.log());
  REQUIRE(shown);
  CHECK(seen->symbols_active == 2);
  CHECK(seen->rings_complete == 4);
  CHECK(seen->rings_total == 4);
  CHECK_FALSE(seen->stale);
  CHECK(seen->worker_lag >= 0);
  CHECK(seen->worker_evaluations > 0);
  CHECK(seen->trader_name == "always");
  CHECK(seen->trader_owner == 0);

  // The human form names every section.
  {
    ChildProcess ctl({SCREENER_BIN_DIR "/screenerctl", "status", "--segment", segment}, dir.file("human.log"));
    REQUIRE(eventually([&] { return !ctl.running(); }, 5s));
    CHECK(ctl.exit_status() == 0);
  }
  const std::string human = read_file(dir.file("human.log"));
  for (const char* section : {"SEGMENT", "INGEST", "CONNECTIONS", "WORKERS", "TRADERS", "LATEST SIGNALS"})
    CHECK(human.find(section) != std::string::npos);
  CHECK(human.find("always") != std::string::npos);

  worker.stop();
  daemon.stop();
  replay.stop();
  std::error_code ignored;
  std::filesystem::remove("/dev/shm/" + segment + ".lock", ignored);  // screenerd leaves its lock file
}
