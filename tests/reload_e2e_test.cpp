// SPDX-License-Identifier: Apache-2.0
// Reloading traders while the market streams, every part a real process on loopback:
// screener-replay (synthetic, x600: a 1m bar every 100 ms) -> screenerd -> one screener-worker.
// The operator edits files in the traders directory; screenerd notices (inotify) and reloads.
// What must hold throughout: a trader added starts signalling, a trader removed stops, a broken
// file changes nothing but is reported with its position, no signal is written twice, and the
// market data in the segment has no gap. And `screenerd --check-config`'s report of the sinks and
// the metrics endpoint, which must never print a secret.

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdlib.h>
#include <string>
#include <vector>

#include "tests/segment_test_support.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace std::chrono_literals;

// A condition that must come true within `timeout`; on failure the processes' logs are printed.
#define REQUIRE_EVENTUALLY(condition, timeout)                                  \
  do {                                                                          \
    if (!eventually([&] { return (condition); }, (timeout)))                    \
      FAIL("not within " #timeout ": " #condition "\n" << stack.logs());        \
  } while (false)
using screener::test::ChildProcess;
using screener::test::eventually;
using screener::test::ScopedSegmentName;
using screener::test::TempDir;

namespace {

struct SignalLine {
  std::string id;
  std::string trader;
  std::string symbol;
  std::string bar_open_time;
};

/// The value of a top-level string or number member, as text; good enough for our own JSON.
std::string member(const std::string& json, const std::string& key) {
  const std::string quoted = "\"" + key + "\":";
  const auto at = json.find(quoted);
  if (at == std::string::npos) return {};
  std::size_t begin = at + quoted.size();
  if (json[begin] == '"') {
    const auto end = json.find('"', begin + 1);
    return json.substr(begin + 1, end - begin - 1);
  }
  const auto end = json.find_first_of(",}", begin);
  return json.substr(begin, end - begin);
}

std::vector<SignalLine> read_signals(const std::string& path) {
  std::vector<SignalLine> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    out.push_back({member(line, "id"), member(line, "trader"), member(line, "symbol"), member(line, "bar_open_time")});
  return out;
}

std::size_t count_of(const std::vector<SignalLine>& signals, const std::string& trader) {
  return static_cast<std::size_t>(
      std::count_if(signals.begin(), signals.end(), [&](const SignalLine& s) { return s.trader == trader; }));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::string trader_file(const std::string& name, const std::string& when) {
  return fmt::format("name = \"{}\"\ninterval = \"1m\"\nwhen = \"{}\"\n", name, when);
}

/// The replay, screenerd and one worker, with the traders directory under `dir`.
class Stack {
 public:
  explicit Stack(const TempDir& dir) : dir_(dir) {
    std::filesystem::create_directories(dir.file("traders"));
    replay_.emplace(std::vector<std::string>{SCREENER_BIN_DIR "/screener-replay", "--synthetic", "--symbols", "4",
                                             "--history-bars", "300", "--speed", "x600", "--listen", "127.0.0.1:0",
                                             "--port-file", dir.file("port")},
                    dir.file("replay.log"));
    REQUIRE(eventually(
        [&] {
          std::error_code missing;
          return std::filesystem::file_size(dir.file("port"), missing) > 0 && !missing;
        },
        10s));
  }

  void start(const std::string& segment) {
    std::string port = read_file(dir_.file("port"));
    port.erase(port.find_last_not_of(" \n") + 1);
    dir_.write("screener.toml", fmt::format(R"([segment]
name = "{}"
max_symbols = 8
journal_capacity = 4096
max_traders = 16
trader_text_bytes = 65536
[market]
intervals = ["1m", "5m"]
depth = 400
[exchange]
ws_url = "ws://127.0.0.1:{}"
rest_url = "http://127.0.0.1:{}"
[universe]
quote_asset = "USDT"
top_n = 4
[traders]
dir = "{}"
socket = "{}"
state_dir = "{}"
[signals]
jsonl = "{}"
stdout = false
)",
                                            segment, port, port, dir_.file("traders"), dir_.file("w.sock"),
                                            dir_.file("state"), dir_.file("signals.jsonl")));
    daemon_.emplace(std::vector<std::string>{SCREENER_BIN_DIR "/screenerd", "--config", dir_.file("screener.toml")},
                    dir_.file("screenerd.log"));
    worker_.emplace(std::vector<std::string>{SCREENER_BIN_DIR "/screener-worker", "--segment", segment, "--index", "0",
                                             "--attach-timeout-ms", "10000"},
                    dir_.file("worker.log"));
  }

  [[nodiscard]] std::string daemon_log() const { return read_file(dir_.file("screenerd.log")); }
  [[nodiscard]] std::string worker_log() const { return read_file(dir_.file("worker.log")); }
  [[nodiscard]] std::vector<SignalLine> signals() const { return read_signals(dir_.file("signals.jsonl")); }
  [[nodiscard]] std::string logs() const {
    return "--- screenerd\n" + daemon_log() + "--- worker\n" + worker_log();
  }

 private:
  const TempDir& dir_;
  std::optional<ChildProcess> replay_;
  std::optional<ChildProcess> daemon_;
  std::optional<ChildProcess> worker_;
};

/// `screenerd --check-config`'s exit status and output.
std::pair<int, std::string> check_config(const TempDir& dir) {
  ChildProcess check({SCREENER_BIN_DIR "/screenerd", "--config", dir.file("screener.toml"), "--check-config"},
                     dir.file("check.log"));
  REQUIRE(eventually([&] { return !check.running(); }, 10s));
  return {check.exit_status().value_or(-1), read_file(dir.file("check.log"))};
}

}  // namespace

TEST_CASE("TradersAddedRemovedOrBrokenWhileRunningReloadWithoutGapsOrRepeats", "[reload][e2e]") {
  TempDir dir;
  ScopedSegmentName segment;
  Stack stack(dir);
  dir.write("traders/green.toml", trader_file("green", "close > open"));
  stack.start(segment.str());

  // A trader present at start signals.
  REQUIRE_EVENTUALLY(count_of(stack.signals(), "green") >= 3, 20s);

  // Added while running: picked up without SIGHUP, and signals.
  dir.write("traders/red.toml", trader_file("red", "close < open"));
  REQUIRE_EVENTUALLY(stack.daemon_log().find("+1 added, -0 removed") != std::string::npos, 10s);
  REQUIRE_EVENTUALLY(count_of(stack.signals(), "red") >= 3, 20s);

  // Removed while running: once the worker runs the new table, no more of its signals.
  std::filesystem::remove(dir.file("traders/green.toml"));
  REQUIRE_EVENTUALLY(stack.daemon_log().find("+0 added, -1 removed") != std::string::npos, 10s);
  REQUIRE_EVENTUALLY(stack.worker_log().find("1 of 1 traders are mine") != std::string::npos, 10s);
  const std::size_t green_after_removal = count_of(stack.signals(), "green");
  const std::size_t red_after_removal = count_of(stack.signals(), "red");
  REQUIRE_EVENTUALLY(count_of(stack.signals(), "red") >= red_after_removal + 3, 20s);
  CHECK(count_of(stack.signals(), "green") == green_after_removal);

  // A broken file: the reload is refused with the file's position, and red keeps running.
  const std::size_t generations_before = occurrences(stack.worker_log(), "trader table generation");
  dir.write("traders/broken.toml", "name = \"broken\"\ninterval = \"1m\"\nwhen = \"close <\"\n");
  REQUIRE_EVENTUALLY(stack.daemon_log().find("reload refused") != std::string::npos, 10s);
  CHECK(stack.daemon_log().find("broken.toml:3:") != std::string::npos);
  const std::size_t red_before = count_of(stack.signals(), "red");
  REQUIRE_EVENTUALLY(count_of(stack.signals(), "red") >= red_before + 3, 20s);
  CHECK(occurrences(stack.worker_log(), "trader table generation") == generations_before);

  // --check-config agrees: 2 with the broken file, 0 once it is gone.
  const auto [broken_status, broken_output] = check_config(dir);
  CHECK(broken_status == 2);
  CHECK(broken_output.find("broken.toml:3:") != std::string::npos);
  std::filesystem::remove(dir.file("traders/broken.toml"));
  const auto [fixed_status, fixed_output] = check_config(dir);
  CHECK(fixed_status == 0);
  CHECK(fixed_output.find("traders       1 from") != std::string::npos);

  // No signal written twice, and no (trader, symbol, bar) twice.
  const std::vector<SignalLine> signals = stack.signals();
  std::set<std::string> ids;
  std::set<std::string> bars;
  for (const SignalLine& s : signals) {
    CHECK(ids.insert(s.id).second);
    CHECK(bars.insert(s.trader + "/" + s.symbol + "/" + s.bar_open_time).second);
  }

  // The market data never paused: every symbol's 1m ring is contiguous and complete.
  for (int i = 0; i < 4; ++i) {
    const std::string symbol = fmt::format("SYN{:03}USDT", i);
    ChildProcess klines({SCREENER_BIN_DIR "/screenerctl", "klines", symbol, "1m", "--segment", segment.str()},
                        dir.file("klines.csv"));
    REQUIRE_EVENTUALLY(!klines.running(), 10s);
    REQUIRE(klines.exit_status() == 0);
    std::istringstream csv(read_file(dir.file("klines.csv")));
    std::string row;
    std::getline(csv, row);  // header
    std::int64_t previous = 0;
    std::size_t closed = 0;
    while (std::getline(csv, row)) {
      if (row.ends_with(",false")) continue;  // the forming bar
      std::int64_t open = 0;
      std::from_chars(row.data(), row.data() + row.find(','), open);
      if (previous != 0) CHECK(open - previous == 60'000);
      previous = open;
      ++closed;
    }
    CHECK(closed >= 300);
  }
}

TEST_CASE("CheckConfigListsSinksTheirTradersAndTheMetricsEndpointButNoSecrets", "[reload][config]") {
  TempDir dir;
  std::filesystem::create_directories(dir.file("traders"));
  dir.write("traders/green.toml", trader_file("green", "close > open") + "sinks = [\"ops\"]\n");
  dir.write("traders/red.toml", trader_file("red", "close < open"));  // no `sinks`: every sink
  dir.write("traders/quiet.toml", trader_file("quiet", "close < open") + "sinks = []\n");
  // The URL from the environment carries its secret in the path, as Slack's and Discord's do.
  const std::string variable = fmt::format("SCREENER_TEST_HOOK_{}", ::getpid());
  REQUIRE(::setenv(variable.c_str(), "https://hooks.example.com/services/PATH-SECRET?sig=ENV-SECRET", 1) == 0);
  dir.write("screener.toml", fmt::format(R"([traders]
dir = "{}"
[metrics]
listen = "127.0.0.1:9464"
[sinks.ops]
type = "webhook"
url = "https://alerts.example.com:8443/hook?token=QUERY-SECRET"
headers = {{ Authorization = "Bearer HEADER-SECRET" }}
[sinks.pager]
type = "webhook"
url_env = "{}"
[sinks.live]
type = "websocket"
listen = "127.0.0.1:8765"
)",
                                         dir.file("traders"), variable));
  const auto [status, output] = check_config(dir);
  ::unsetenv(variable.c_str());
  INFO(output);
  CHECK(status == 0);
  CHECK(output.find("metrics       http://127.0.0.1:9464/metrics and /healthz\n") != std::string::npos);
  CHECK(output.find("sinks         3\n") != std::string::npos);
  CHECK(output.find("  live (websocket): serves ws://127.0.0.1:8765/signals\n    traders red\n") != std::string::npos);
  CHECK(output.find("  ops (webhook): POST https://alerts.example.com:8443/hook (query not shown); headers "
                    "Authorization\n    traders green red\n") != std::string::npos);
  CHECK(output.find(fmt::format("  pager (webhook): POST https://hooks.example.com:443/... (from ${}; path and query "
                                "not shown)\n    traders red\n",
                                variable)) != std::string::npos);
  for (const char* secret : {"QUERY-SECRET", "token=", "HEADER-SECRET", "PATH-SECRET", "ENV-SECRET", "sig="})
    CHECK(output.find(secret) == std::string::npos);

  // Without [metrics] and sinks, the report says so.
  dir.write("screener.toml", fmt::format("[traders]\ndir = \"{}\"\n", dir.file("traders")));
  std::filesystem::remove(dir.file("traders/green.toml"));
  std::filesystem::remove(dir.file("traders/quiet.toml"));
  const auto [plain_status, plain_output] = check_config(dir);
  INFO(plain_output);
  CHECK(plain_status == 0);
  CHECK(plain_output.find("metrics       off (no [metrics] listen)\n") != std::string::npos);
  CHECK(plain_output.find("sinks         none\n") != std::string::npos);
}
