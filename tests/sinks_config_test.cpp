// SPDX-License-Identifier: Apache-2.0
// [metrics] and [sinks.*] in screener.toml, and a trader file's `sinks`.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "config/config_error.hpp"
#include "config/screener_config.hpp"
#include "config/trader_config.hpp"
#include "daemon/traders/trader_registry.hpp"
#include "tests/support/temp_dir.hpp"

using screener::config::ConfigError;
using screener::config::parse_config;
using screener::config::SinkConfig;

namespace {

std::string config_error(const std::string& text) {
  try {
    (void)parse_config(text, "s.toml");
  } catch (const ConfigError& error) {
    return error.what();
  }
  FAIL("no ConfigError for:\n" << text);
  return {};
}

screener::config::TraderCheckOptions options_with_sinks(std::vector<std::string> names) {
  screener::config::TraderCheckOptions options;
  options.held = {screener::Interval::m1, screener::Interval::m5};
  options.history_bars = 1440;
  options.sink_names = std::move(names);
  return options;
}

}  // namespace

TEST_CASE("SinksAndMetricsAreParsedWithDefaults", "[config][sinks]") {
  ::setenv("SCREENER_TEST_HOOK_URL", "https://hooks.example.com/t/SECRET", 1);
  const auto sut = parse_config(R"(
[metrics]
listen = "127.0.0.1:9464"

[sinks.ops]
type = "webhook"
url = "http://127.0.0.1:8080/hook"
retries = 2
headers = { Authorization = "Bearer x", X-Source = "screener" }

[sinks.secret]
type = "webhook"
url_env = "SCREENER_TEST_HOOK_URL"

[sinks.ws]
type = "websocket"
listen = "127.0.0.1:0"
)",
                                "s.toml");
  CHECK(sut.metrics.listen == "127.0.0.1:9464");
  REQUIRE(sut.sinks.size() == 3);
  CHECK(sut.sinks[0].name == "ops");
  CHECK(sut.sinks[0].type == SinkConfig::Type::Webhook);
  CHECK(sut.sinks[0].retries == 2);
  CHECK(sut.sinks[0].timeout.count() == 3000);
  CHECK(sut.sinks[0].max_per_minute == 60);
  CHECK(sut.sinks[0].headers.size() == 2);
  CHECK(sut.sinks[1].url == "https://hooks.example.com/t/SECRET");
  CHECK(sut.sinks[1].retries == 5);
  CHECK(sut.sinks[2].type == SinkConfig::Type::WebSocket);
  CHECK(sut.sinks[2].listen == "127.0.0.1:0");
  CHECK(parse_config("", "e.toml").sinks.empty());
  CHECK(parse_config("", "e.toml").metrics.listen.empty());
}

TEST_CASE("SinkConfigErrorsNameFileLineColumnAndKey", "[config][sinks]") {
  CHECK_THAT(config_error("[sinks.x]\ntype = \"email\"\n"),
             Catch::Contains("s.toml:2:8: sinks.x.type: unknown sink type \"email\""));
  CHECK_THAT(config_error("[sinks.x]\ntype = \"webhook\"\nurl = \"ftp://host/x\"\n"),
             Catch::Contains("s.toml:3:7: sinks.x.url: expected an http:// or https:// URL"));
  CHECK_THAT(config_error("[sinks.x]\ntype = \"webhook\"\nurl = \"http://\"\n"), Catch::Contains("no host"));
  ::unsetenv("SCREENER_TEST_UNSET_VAR");
  CHECK_THAT(config_error("[sinks.x]\ntype = \"webhook\"\nurl_env = \"SCREENER_TEST_UNSET_VAR\"\n"),
             Catch::Contains("s.toml:3:11: sinks.x.url_env: the environment variable SCREENER_TEST_UNSET_VAR is not set"));
  CHECK_THAT(config_error("[sinks.x]\ntype = \"webhook\"\nurl = \"http://h/\"\nretry = 3\n"),
             Catch::Contains("s.toml:4:9: sinks.x.retry: unknown key"));
  CHECK_THAT(config_error("[sinks.x]\ntype = \"websocket\"\nlisten = \"localhost:80\"\n"),
             Catch::Contains("s.toml:3:10: sinks.x.listen: expected \"HOST:PORT\""));
  CHECK_THAT(config_error("[sinks.x]\nurl = \"http://h/\"\n"), Catch::Contains("sinks.x.type: missing"));
  CHECK_THAT(config_error("[metrics]\nlisten = \"127.0.0.1\"\n"),
             Catch::Contains("s.toml:2:10: metrics.listen: expected \"HOST:PORT\""));
  CHECK_THAT(config_error("[metrics]\nlisten = \"127.0.0.1:99999\"\n"), Catch::Contains("port must be 0 to 65535"));
}

TEST_CASE("TraderSinksAreCheckedAgainstTheConfiguredSinkNames", "[config][sinks]") {
  const std::string base = "name = \"t\"\ninterval = \"1m\"\nwhen = \"rsi(14) < 30\"\n";
  const auto all = screener::config::parse_trader(base, "t.toml", options_with_sinks({"ops", "ws"}));
  CHECK(all.all_sinks);
  const auto some =
      screener::config::parse_trader(base + "sinks = [\"ws\"]\n", "t.toml", options_with_sinks({"ops", "ws"}));
  CHECK_FALSE(some.all_sinks);
  CHECK(some.sinks == std::vector<std::string>{"ws"});
  const auto none = screener::config::parse_trader(base + "sinks = []\n", "t.toml", options_with_sinks({"ops"}));
  CHECK_FALSE(none.all_sinks);
  CHECK(none.sinks.empty());
  try {
    (void)screener::config::parse_trader(base + "sinks = [\"ops\", \"pager\"]\n", "t.toml",
                                         options_with_sinks({"ops", "ws"}));
    FAIL("an unknown sink name was accepted");
  } catch (const ConfigError& error) {
    CHECK_THAT(error.what(), Catch::Contains("t.toml:4:9: sinks: unknown sink 'pager'; the configured sinks are: ops, ws"));
  }
  // Workers do not check the names (they do not know the daemon's sinks).
  screener::config::TraderCheckOptions unchecked = options_with_sinks({});
  unchecked.sink_names.reset();
  CHECK(screener::config::parse_trader(base + "sinks = [\"pager\"]\n", "t.toml", unchecked).sinks.size() == 1);
}

TEST_CASE("RegistryRefusesATraderNamingAnUnknownSink", "[config][sinks]") {
  screener::test::TempDir dir;
  std::filesystem::create_directories(dir.file("traders.d"));
  dir.write("traders.d/a.toml", "name = \"a\"\ninterval = \"1m\"\nwhen = \"rsi(14) < 30\"\nsinks = [\"ops\"]\n");
  dir.write("traders.d/b.toml", "name = \"b\"\ninterval = \"1m\"\nwhen = \"rsi(14) < 30\"\nsinks = [\"pager\"]\n");
  auto config = parse_config("[traders]\ndir = \"" + dir.file("traders.d") +
                                 "\"\n[sinks.ops]\ntype = \"webhook\"\nurl = \"http://127.0.0.1:1/x\"\n"
                                 "[sinks.ws]\ntype = \"websocket\"\nlisten = \"127.0.0.1:0\"\n",
                             "s.toml");
  screener::traders::TraderRegistry registry(config);
  const auto loaded = registry.load();
  REQUIRE_FALSE(loaded.has_value());
  CHECK_THAT(loaded.error(), Catch::Contains(dir.file("traders.d/b.toml") +
                                             ":4:9: sinks: unknown sink 'pager'; the configured sinks are: ops, ws"));
  CHECK_THAT(loaded.error(), !Catch::Contains("a.toml"));
}
