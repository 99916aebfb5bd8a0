// SPDX-License-Identifier: Apache-2.0
// Which worker runs which trader (daemon/traders/assignment.hpp: rendezvous hashing) and the
// daemon's trader registry (daemon/traders/trader_registry.hpp: the traders directory, validated
// as a whole, published with owners).
#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "config/screener_config.hpp"
#include "daemon/traders/assignment.hpp"
#include "daemon/traders/trader_registry.hpp"
#include "tests/support/temp_dir.hpp"

using screener::shm::kUnassigned;
using screener::test::TempDir;
using screener::traders::assign_owner;
using screener::traders::TraderRegistry;

namespace {

std::vector<std::string> trader_names(std::size_t n) {
  std::vector<std::string> names;
  names.reserve(n);
  for (std::size_t i = 0; i < n; ++i) names.push_back("trader-" + std::to_string(i));
  return names;
}

std::vector<std::uint32_t> owners(const std::vector<std::string>& names, const std::vector<std::uint32_t>& workers) {
  std::vector<std::uint32_t> out;
  out.reserve(names.size());
  for (const std::string& name : names) out.push_back(assign_owner(name, workers));
  return out;
}

}  // namespace

// ------------------------------------------------------------------------------------- assignment

TEST_CASE("Every trader is assigned to exactly one of the given workers, each getting a share", "[assignment]") {
  const auto names = trader_names(3000);
  const std::vector<std::uint32_t> workers{0, 1, 2};
  std::map<std::uint32_t, std::size_t> counts;
  for (const std::uint32_t owner : owners(names, workers)) {
    REQUIRE(std::find(workers.begin(), workers.end(), owner) != workers.end());
    ++counts[owner];
  }
  REQUIRE(counts.size() == 3);
  for (const auto& [worker, count] : counts) {
    INFO("worker " << worker << " owns " << count);
    CHECK(count > 3000 / 5);
  }
  // Worker indexes need not be contiguous.
  const std::vector<std::uint32_t> sparse{3, 17};
  for (const std::uint32_t owner : owners(names, sparse)) CHECK((owner == 3 || owner == 17));
}

TEST_CASE("With no workers every trader is unassigned", "[assignment]") {
  static_assert(assign_owner("anything", {}) == kUnassigned);
  for (const std::uint32_t owner : owners(trader_names(100), {})) CHECK(owner == kUnassigned);
  const std::array<std::uint32_t, 1> one{5};
  CHECK(assign_owner("anything", one) == 5);
}

TEST_CASE("Assignment is deterministic and does not depend on the order the workers are listed in",
          "[assignment]") {
  const auto names = trader_names(1000);
  const auto first = owners(names, {0, 1, 2, 3});
  CHECK(owners(names, {0, 1, 2, 3}) == first);
  CHECK(owners(names, {3, 1, 0, 2}) == first);
  static_assert(assign_owner("oversold-bounce", std::array<std::uint32_t, 3>{0, 1, 2}) ==
                assign_owner("oversold-bounce", std::array<std::uint32_t, 3>{2, 0, 1}));
}

TEST_CASE("A third worker joining takes about a third of the traders and moves no other", "[assignment]") {
  const auto names = trader_names(3000);
  const auto before = owners(names, {0, 1});
  const auto after = owners(names, {0, 1, 2});
  std::size_t moved = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (after[i] == before[i]) continue;
    INFO(names[i] << " moved from " << before[i] << " to " << after[i]);
    CHECK(after[i] == 2);  // only to the new worker
    ++moved;
  }
  INFO(moved << " of 3000 moved");
  CHECK(moved >= 3000 * 20 / 100);
  CHECK(moved <= 3000 * 45 / 100);
}

TEST_CASE("A worker leaving moves only its own traders", "[assignment]") {
  const auto names = trader_names(3000);
  const auto before = owners(names, {0, 1, 2});
  const auto after = owners(names, {0, 2});
  std::size_t moved = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (before[i] != 1) {
      CHECK(after[i] == before[i]);
    } else {
      CHECK((after[i] == 0 || after[i] == 2));
      ++moved;
    }
  }
  CHECK(moved > 0);
}

// ------------------------------------------------------------------------------------- registry

namespace {

std::string trader_file(const std::string& name, const std::string& interval = "5m",
                        const std::string& when = "rsi(14) < 30") {
  return "name = \"" + name + "\"\ninterval = \"" + interval + "\"\nwhen = \"" + when + "\"\n";
}

screener::config::ScreenerConfig config_for(const TempDir& dir) {
  screener::config::ScreenerConfig config;  // default [market]: 1m 5m 15m 1h 4h 1d, 1440 bars
  config.traders.dir = dir.file("traders.d");
  config.traders.dir_is_default = false;
  config.traders.state_dir = dir.file("state");
  config.traders.socket = dir.file("screener.sock");
  std::filesystem::create_directory(config.traders.dir);
  return config;
}

std::vector<std::string> loaded_names(const TraderRegistry& registry) {
  std::vector<std::string> names;
  for (const auto& t : registry.traders()) names.push_back(t.name);
  return names;
}

}  // namespace

TEST_CASE("The registry loads every valid trader file and publishes each with its assigned owner", "[registry]") {
  TempDir dir;
  const auto config = config_for(dir);
  const std::string a_text = trader_file("alpha");
  const std::string b_text = trader_file("beta", "1h", "close > ema(50)");
  const std::string a_path = dir.write("traders.d/a.toml", a_text);
  const std::string b_path = dir.write("traders.d/b.toml", b_text);
  dir.write("traders.d/notes.txt", "not a trader");

  TraderRegistry registry(config);
  const auto loaded = registry.load();
  REQUIRE(loaded);
  CHECK_THAT(*loaded, Catch::StartsWith("2 traders") && Catch::Contains("+2 added"));
  CHECK(loaded_names(registry) == std::vector<std::string>{"alpha", "beta"});

  const std::vector<std::uint32_t> workers{0, 1, 2};
  const auto table = registry.table(workers);
  CHECK(table.socket_path == config.traders.socket);
  CHECK(table.state_dir == config.traders.state_dir);
  CHECK(table.worker_count == 3);
  REQUIRE(table.traders.size() == 2);
  CHECK(table.traders[0].name == "alpha");
  CHECK(table.traders[0].path == a_path);
  CHECK(table.traders[0].text == a_text);
  CHECK(table.traders[0].owner == assign_owner("alpha", workers));
  CHECK(table.traders[1].name == "beta");
  CHECK(table.traders[1].path == b_path);
  CHECK(table.traders[1].text == b_text);
  CHECK(table.traders[1].owner == assign_owner("beta", workers));

  const auto none = registry.table({});
  CHECK(none.worker_count == 0);
  for (const auto& t : none.traders) CHECK(t.owner == kUnassigned);
}

TEST_CASE("A bad trader file fails the reload with its file:line:column and keeps the traders that run",
          "[registry]") {
  TempDir dir;
  const auto config = config_for(dir);
  const std::string a_text = trader_file("alpha");
  dir.write("traders.d/a.toml", a_text);
  dir.write("traders.d/b.toml", trader_file("beta"));
  TraderRegistry registry(config);
  REQUIRE(registry.load());

  // One file edited, one added with an interval the segment does not hold, one with a bad rule.
  dir.write("traders.d/a.toml", trader_file("alpha", "1m"));
  const std::string bad_interval = dir.write("traders.d/c.toml", trader_file("gamma", "30m"));
  const std::string bad_rule = dir.write("traders.d/d.toml", trader_file("delta", "5m", "close > nope"));
  const auto failed = registry.load();
  REQUIRE_FALSE(failed);
  CHECK_THAT(failed.error(), Catch::Contains(bad_interval + ":2:12: interval:"));
  CHECK_THAT(failed.error(), Catch::Contains(bad_rule + ":3:17:"));
  CHECK(loaded_names(registry) == std::vector<std::string>{"alpha", "beta"});
  CHECK(registry.traders()[0].text == a_text);  // the edit of a.toml is not taken either
  CHECK(registry.table(std::vector<std::uint32_t>{0}).traders.size() == 2);

  // Fixed: the next reload takes everything.
  dir.write("traders.d/c.toml", trader_file("gamma", "15m"));
  std::filesystem::remove(bad_rule);
  const auto loaded = registry.load();
  REQUIRE(loaded);
  CHECK_THAT(*loaded, Catch::StartsWith("3 traders") && Catch::Contains("+1 added") &&
                          Catch::Contains("-0 removed") && Catch::Contains("~1 changed"));
  CHECK(loaded_names(registry) == std::vector<std::string>{"alpha", "beta", "gamma"});
}

TEST_CASE("A missing traders directory is an error unless it is the default one", "[registry]") {
  TempDir dir;
  auto config = config_for(dir);
  config.traders.dir = dir.file("absent");
  {
    TraderRegistry registry(config);
    const auto failed = registry.load();
    REQUIRE_FALSE(failed);
    CHECK_THAT(failed.error(), Catch::Contains(config.traders.dir));
  }
  config.traders.dir_is_default = true;
  TraderRegistry registry(config);
  const auto loaded = registry.load();
  REQUIRE(loaded);
  CHECK(registry.traders().empty());
}
