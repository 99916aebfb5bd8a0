// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <string>

#include "common/segment_layout.hpp"
#include "config/config_error.hpp"
#include "config/screener_config.hpp"

using screener::Interval;
using screener::config::ConfigError;
using screener::config::parse_config;

namespace {
/// The error parse_config raises for `text`, which must be invalid.
ConfigError error_of(const std::string& text) {
  try {
    (void)parse_config(text, "test.toml");
  } catch (const ConfigError& error) {
    return error;
  }
  FAIL("configuration was accepted: " << text);
  throw std::logic_error("unreachable");
}
}  // namespace

TEST_CASE("EmptyConfigurationGivesTheDocumentedDefaults", "[config]") {
  const auto sut = parse_config("", "empty.toml");
  CHECK(sut.segment.name == "screener");
  CHECK(sut.segment.max_symbols == 400);
  CHECK(sut.segment.journal_capacity == 65536);
  CHECK(sut.market.depth == 1440);
  CHECK(sut.market.intervals ==
        std::vector<Interval>{Interval::m1, Interval::m5, Interval::m15, Interval::h1, Interval::h4, Interval::d1});
  const auto geometry = sut.geometry();
  CHECK(geometry.interval_count == 6);
  CHECK(geometry.ring_capacity == 1440);
}

TEST_CASE("ShippedExampleConfigurationParsesToTheDefaults", "[config]") {
  const auto shipped = screener::config::load_config(SCREENER_SOURCE_DIR "/config/screener.toml");
  const auto defaults = parse_config("", "empty.toml");
  CHECK(shipped.segment.name == defaults.segment.name);
  CHECK(shipped.segment.max_symbols == defaults.segment.max_symbols);
  CHECK(shipped.market.intervals == defaults.market.intervals);
  CHECK(shipped.market.depth == defaults.market.depth);
}

TEST_CASE("ConfiguredValuesOverrideDefaults", "[config]") {
  const auto sut = parse_config(R"(
[segment]
name = "alt-seg"
max_symbols = 20
journal_capacity = 4096
heartbeat_timeout_ms = 1500
[market]
intervals = ["1m", "1h", "1M"]
depth = 120
)",
                                "t.toml");
  CHECK(sut.segment.name == "alt-seg");
  CHECK(sut.segment.max_symbols == 20);
  CHECK(sut.segment.journal_capacity == 4096);
  CHECK(sut.segment.heartbeat_timeout.count() == 1500);
  CHECK(sut.market.intervals == std::vector<Interval>{Interval::m1, Interval::h1, Interval::M1});
  CHECK(sut.market.depth == 120);
}

TEST_CASE("UnknownKeyIsAnErrorNamingFileLineAndKeyPath", "[config]") {
  const auto error = error_of("[segment]\nname = \"x\"\nmax_symbol = 3\n");
  CHECK(error.file() == "test.toml");
  CHECK(error.line() == 3);
  CHECK(error.key() == "segment.max_symbol");
  CHECK_THAT(std::string(error.what()), Catch::Contains("test.toml:3:") && Catch::Contains("unknown key"));
}

TEST_CASE("OutOfRangeNumberIsAnErrorShowingRangeAndValue", "[config]") {
  const auto error = error_of("[segment]\nmax_symbols = 0\n");
  CHECK(error.line() == 2);
  CHECK(error.key() == "segment.max_symbols");
  CHECK_THAT(std::string(error.what()), Catch::Contains("[1, 65536]") && Catch::Contains("got 0"));
}

TEST_CASE("JournalCapacityMustBeAPowerOfTwo", "[config]") {
  const auto error = error_of("[segment]\njournal_capacity = 3000\n");
  CHECK(error.key() == "segment.journal_capacity");
  CHECK_THAT(std::string(error.what()), Catch::Contains("power of two") && Catch::Contains("3000"));
}

TEST_CASE("IntervalsAreCaseSensitiveAndMustBeBinanceIntervals", "[config]") {
  const auto unknown = error_of("[market]\nintervals = [\"1m\", \"1H\"]\n");
  CHECK(unknown.key() == "market.intervals");
  CHECK_THAT(std::string(unknown.what()), Catch::Contains("'1H'") && Catch::Contains("1h"));
  const auto twice = error_of("[market]\nintervals = [\"5m\", \"5m\"]\n");
  CHECK_THAT(std::string(twice.what()), Catch::Contains("listed twice"));
}

TEST_CASE("WrongTypeIsAnErrorNamingBothTypes", "[config]") {
  const auto error = error_of("[market]\ndepth = \"1440\"\n");
  CHECK(error.key() == "market.depth");
  CHECK_THAT(std::string(error.what()), Catch::Contains("expected an integer, got a string"));
}

TEST_CASE("InvalidSegmentNameIsRejected", "[config]") {
  const auto error = error_of("[segment]\nname = \"a/b\"\n");
  CHECK(error.key() == "segment.name");
  CHECK_THAT(std::string(error.what()), Catch::Contains("'a/b'"));
}

TEST_CASE("SyntaxErrorReportsItsPosition", "[config]") {
  const auto error = error_of("[segment]\nname = \n");
  CHECK(error.file() == "test.toml");
  CHECK(error.line() == 2);
}

TEST_CASE("MissingFileIsAConfigErrorNamingThePath", "[config]") {
  try {
    (void)screener::config::load_config("/nonexistent/screener.toml");
    FAIL("a missing file was accepted");
  } catch (const ConfigError& error) {
    CHECK_THAT(std::string(error.what()), Catch::Contains("/nonexistent/screener.toml"));
  }
}
