// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config_error.hpp"
#include "config/trader_config.hpp"
#include "tests/support/temp_dir.hpp"

using screener::Interval;
using screener::config::ConfigError;
using screener::config::EvaluateOn;
using screener::config::LatePolicy;
using screener::config::load_traders_dir;
using screener::config::parse_trader;
using screener::config::SymbolSelector;
using screener::config::TraderCheckOptions;
using screener::config::TraderDirError;
using screener::test::TempDir;
using namespace std::chrono_literals;

namespace {

/// The default [market]: 1m 5m 15m 1h 4h 1d, 1440 bars each.
TraderCheckOptions market() {
  TraderCheckOptions options;
  options.held = {Interval::m1, Interval::m5, Interval::m15, Interval::h1, Interval::h4, Interval::d1};
  options.history_bars = 1440;
  return options;
}

/// A valid trader file with `extra` lines appended.
std::string trader(const std::string& extra = "", const std::string& name = "t") {
  return "name = \"" + name + "\"\ninterval = \"1m\"\nwhen = \"rsi(14) < 30\"\n" + extra;
}

/// The error parse_trader raises for `text`, which must be invalid.
ConfigError error_of(const std::string& text) {
  try {
    (void)parse_trader(text, "t.toml", market());
  } catch (const ConfigError& error) {
    return error;
  }
  FAIL("trader was accepted: " << text);
  throw std::logic_error("unreachable");
}

std::string message_of(const std::string& text) { return error_of(text).what(); }

/// The error load_traders_dir raises for `dir`, which must be invalid.
TraderDirError dir_error_of(const std::string& dir) {
  try {
    (void)load_traders_dir(dir, market());
  } catch (const TraderDirError& error) {
    return error;
  }
  FAIL("directory was accepted: " << dir);
  throw std::logic_error("unreachable");
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    const std::size_t end = std::min(text.find('\n', begin), text.size());
    lines.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return lines;
}

}  // namespace

TEST_CASE("FullTraderFileSetsEveryKey", "[config][traders]") {
  const auto sut = parse_trader(R"toml(name     = "oversold-bounce"
symbols  = "*USDT"
interval = "5m"
when     = "rsi(14) < 30 and close > ema(200)@1h and volume > 2 * sma(volume, 20)"
on       = "update"
cooldown = "30m"
throttle = "250ms"
late     = "suppress"
description = "dip in an uptrend"
)toml",
                                "traders.d/oversold.toml", market());
  CHECK(sut.file == "traders.d/oversold.toml");
  CHECK(sut.name == "oversold-bounce");
  CHECK(sut.symbols.to_string() == "*USDT");
  CHECK(sut.interval == Interval::m5);
  CHECK(sut.when == "rsi(14) < 30 and close > ema(200)@1h and volume > 2 * sma(volume, 20)");
  CHECK(sut.when_origin.file == "traders.d/oversold.toml");
  CHECK(sut.when_origin.line == 4);
  CHECK(sut.when_origin.column == 13);
  CHECK(sut.on == EvaluateOn::Update);
  CHECK(sut.cooldown == 30min);
  CHECK(sut.cooldown_bars == 0);
  CHECK(sut.throttle == 250ms);
  CHECK(sut.late == LatePolicy::Suppress);
  CHECK(sut.description == "dip in an uptrend");
  CHECK(sut.rule.trader_interval == Interval::m5);
  CHECK(sut.rule.keys.size() == 3);
  CHECK(screener::rules::to_string(sut.rule) ==
        "rsi(14) < 30 and close > ema(200)@1h and volume > 2 * sma(volume, 20)");
}

TEST_CASE("MinimalTraderFileGetsTheDocumentedDefaults", "[config][traders]") {
  const auto sut = parse_trader(trader(), "t.toml", market());
  CHECK(sut.symbols.is_all());
  CHECK(sut.symbols.to_string() == "all");
  CHECK(sut.on == EvaluateOn::Close);
  CHECK(sut.cooldown == 0ms);
  CHECK(sut.cooldown_bars == 0);
  CHECK(sut.throttle == 1s);
  CHECK(sut.late == LatePolicy::Mark);
  CHECK(sut.description.empty());
  CHECK(parse_trader(trader("symbols = \"all\"\n"), "t.toml", market()).symbols.is_all());
}

TEST_CASE("CooldownTakesTimeUnitsZeroOrABarCount", "[config][traders]") {
  auto cooldown = [](const std::string& value) {
    return parse_trader(trader("cooldown = \"" + value + "\"\n"), "t.toml", market());
  };
  CHECK(cooldown("90s").cooldown == 90s);
  CHECK(cooldown("5m").cooldown == 5min);
  CHECK(cooldown("1h").cooldown == 1h);
  CHECK(cooldown("1d").cooldown == 24h);
  CHECK(cooldown("1500ms").cooldown == 1500ms);
  CHECK(cooldown("0").cooldown == 0ms);
  const auto one = cooldown("1 bar");
  CHECK(one.cooldown_bars == 1);
  CHECK(one.cooldown == 0ms);
  CHECK(cooldown("3 bars").cooldown_bars == 3);
}

TEST_CASE("BadDurationIsAnErrorShowingTheValueReceived", "[config][traders]") {
  for (const std::string value : {"30 minutes", "5", "-1m", "1w", "m", "1.5h", "", "3bars", "366d", "2 hours"}) {
    INFO(value);
    const auto error = error_of(trader("cooldown = \"" + value + "\"\n"));
    CHECK(error.key() == "cooldown");
    CHECK(error.line() == 4);
    CHECK_THAT(std::string(error.what()),
               Catch::Contains("expected a duration") && Catch::Contains("got \"" + value + "\""));
  }
  const auto throttle = error_of(trader("on = \"update\"\nthrottle = \"3 bars\"\n"));
  CHECK(throttle.key() == "throttle");
  CHECK_THAT(std::string(throttle.what()), Catch::Contains("got \"3 bars\""));
}

TEST_CASE("ThrottleIsAtLeast100msAndOnlyForOnUpdate", "[config][traders]") {
  CHECK(parse_trader(trader("on = \"update\"\nthrottle = \"100ms\"\n"), "t.toml", market()).throttle == 100ms);
  CHECK_THAT(message_of(trader("on = \"update\"\nthrottle = \"50ms\"\n")),
             Catch::Contains("t.toml:5:12: throttle: expected a duration from 100ms to 365d") &&
                 Catch::Contains("got \"50ms\""));
  CHECK_THAT(message_of(trader("throttle = \"2s\"\n")),
             Catch::Contains("throttle: only applies to on = \"update\""));
}

TEST_CASE("IntervalNotHeldIsAnErrorListingTheHeldIntervals", "[config][traders]") {
  const auto error = error_of("name = \"t\"\ninterval = \"30m\"\nwhen = \"rsi(14) < 30\"\n");
  CHECK(error.key() == "interval");
  CHECK(error.line() == 2);
  CHECK(error.column() == 12);
  CHECK(std::string(error.what()) ==
        "t.toml:2:12: interval: interval '30m' is not held; the segment holds: 1m 5m 15m 1h 4h 1d");
}

TEST_CASE("UnknownIntervalNameListsBinanceIntervals", "[config][traders]") {
  CHECK_THAT(message_of("name = \"t\"\ninterval = \"1H\"\nwhen = \"rsi(14) < 30\"\n"),
             Catch::Contains("unknown interval '1H'; Binance's are: 1s 1m 3m"));
}

TEST_CASE("UnknownKeyIsAnErrorNamingItsLineColumnAndKey", "[config][traders]") {
  const auto error = error_of(trader("cooldwon = \"5m\"\n"));
  CHECK(error.key() == "cooldwon");
  CHECK(error.line() == 4);
  CHECK(error.column() == 12);
  CHECK_THAT(std::string(error.what()), Catch::StartsWith("t.toml:4:12: cooldwon: unknown key"));
}

TEST_CASE("MisspeltRequiredKeyIsReportedAsUnknownNotAsMissing", "[config][traders]") {
  const auto error = error_of("name = \"t\"\nintreval = \"1m\"\nwhen = \"rsi(14) < 30\"\n");
  CHECK(error.key() == "intreval");
  CHECK_THAT(std::string(error.what()), Catch::Contains("unknown key"));
}

TEST_CASE("MissingRequiredKeyIsAnErrorNamingIt", "[config][traders]") {
  CHECK(error_of("interval = \"1m\"\nwhen = \"rsi(14) < 30\"\n").key() == "name");
  CHECK(error_of("name = \"t\"\nwhen = \"rsi(14) < 30\"\n").key() == "interval");
  const auto error = error_of("name = \"t\"\ninterval = \"1m\"\n");
  CHECK(error.key() == "when");
  CHECK_THAT(std::string(error.what()), Catch::Contains("missing"));
}

TEST_CASE("UnknownOnOrLateValueListsTheAllowedOnes", "[config][traders]") {
  const auto on = error_of(trader("on = \"intrabar\"\n"));
  CHECK(on.key() == "on");
  CHECK(std::string(on.what()) == "t.toml:4:6: on: expected \"close\" or \"update\", got \"intrabar\"");
  const auto late = error_of(trader("late = \"drop\"\n"));
  CHECK(late.key() == "late");
  CHECK_THAT(std::string(late.what()), Catch::EndsWith("expected \"mark\" or \"suppress\", got \"drop\""));
}

TEST_CASE("EmptySymbolsListIsAnError", "[config][traders]") {
  const auto error = error_of(trader("symbols = []\n"));
  CHECK(error.key() == "symbols");
  CHECK(error.line() == 4);
  CHECK_THAT(std::string(error.what()), Catch::Contains("the list is empty"));
}

TEST_CASE("SymbolPatternWithCharactersNoSymbolHasIsAnError", "[config][traders]") {
  CHECK_THAT(message_of(trader("symbols = \"*usdt\"\n")),
             Catch::Contains("symbols: symbol pattern '*usdt' has the character 'u'") &&
                 Catch::Contains("Binance symbols are upper-case letters and digits"));
  CHECK_THAT(message_of(trader("symbols = [\"BTCUSDT\", \"ETH/USDT\"]\n")),
             Catch::Contains("'ETH/USDT' has the character '/'"));
  CHECK_THAT(message_of(trader("symbols = [\"BTCUSDT\", \"\"]\n")), Catch::Contains("must not be empty"));
  CHECK_THAT(message_of(trader("symbols = \"\"\n")), Catch::Contains("must not be empty"));
  CHECK_THAT(message_of(trader("symbols = \"BTC[AB\"\n")), Catch::Contains("unclosed '['"));
  CHECK_THAT(message_of(trader("symbols = [\"all\"]\n")), Catch::Contains("\"all\" stands alone"));
  CHECK_THAT(message_of(trader("symbols = [\"BTCUSDT\", \"BTCUSDT\"]\n")), Catch::Contains("listed twice"));
  CHECK_THAT(message_of(trader("symbols = 3\n")), Catch::Contains("symbols: expected \"all\", a symbol pattern"));
  CHECK_THAT(message_of(trader("symbols = [\"BTCUSDT\", 3]\n")), Catch::Contains("element 1 must be a string"));
}

TEST_CASE("BadNameIsAnErrorShowingTheName", "[config][traders]") {
  const std::vector<std::string> bad_names{"", "my trader", "caf\xc3\xa9", "a/b", std::string(65, 'x')};
  for (const std::string& name : bad_names) {
    INFO(name);
    const auto error = error_of(trader("", name));
    CHECK(error.key() == "name");
    CHECK(error.line() == 1);
    CHECK_THAT(std::string(error.what()),
               Catch::Contains("expected 1 to 64 characters of A-Z a-z 0-9 . _ -, got '" + name + "'"));
  }
  CHECK(parse_trader(trader("", std::string(64, 'x')), "t.toml", market()).name.size() == 64);
  CHECK(parse_trader(trader("", "A.b_c-9"), "t.toml", market()).name == "A.b_c-9");
}

TEST_CASE("WrongValueTypeIsAnErrorNamingTheType", "[config][traders]") {
  CHECK(message_of("name = \"t\"\ninterval = \"1m\"\nwhen = 30\n") ==
        "t.toml:3:8: when: expected a string, got an integer");
}

TEST_CASE("TomlSyntaxErrorReportsItsPosition", "[config][traders]") {
  const auto error = error_of("name = \"t\nwhen = 1\n");
  CHECK(error.key() == "<syntax>");
  CHECK(error.line() == 1);
}

TEST_CASE("MisspeltFunctionPointsAtTheColumnInTheFileWithCaretAndSuggestion", "[config][traders]") {
  const std::string when_line = "when = \"close > 1 and rsii(14) < 30\"";
  const auto error = error_of("name = \"t\"\ninterval = \"1m\"\n" + when_line + "\n");
  const std::string message = error.what();
  CHECK(message ==
        "t.toml:3:23: unknown function 'rsii' (did you mean 'rsi'?)\n"
        "        close > 1 and rsii(14) < 30\n"
        "                      ^~~~");
  // The shown line and the caret line up with the line of the file itself.
  const auto lines = lines_of(message);
  REQUIRE(lines.size() == 3);
  CHECK(lines[1] == std::string(8, ' ') + "close > 1 and rsii(14) < 30");
  const std::size_t caret = lines[2].find('^');
  CHECK(caret == 22);
  CHECK(when_line.substr(caret, 4) == "rsii");
  CHECK(error.key() == "when");
  CHECK(error.line() == 3);
  CHECK(error.column() == 9);
}

TEST_CASE("RulePositionsAccountForSpacingAndLiteralStrings", "[config][traders]") {
  const std::string when_line = "when   =    'rsii(14) < 30'";
  const std::string message = message_of("name = \"t\"\ninterval = \"1m\"\n" + when_line + "\n");
  CHECK_THAT(message, Catch::StartsWith("t.toml:3:14: unknown function 'rsii'"));
  const auto lines = lines_of(message);
  REQUIRE(lines.size() == 3);
  CHECK(when_line.substr(lines[2].find('^'), 4) == "rsii");
}

TEST_CASE("MultiLineLiteralRuleMapsEachLineToTheFile", "[config][traders]") {
  const std::string file = "name = \"t\"\ninterval = \"1m\"\nwhen = '''\nclose > 1 and\n  clsoe < 2\n'''\n";
  CHECK(message_of(file) ==
        "t.toml:5:3: unknown name 'clsoe' (did you mean 'close'?)\n"
        "  clsoe < 2\n"
        "  ^~~~~");
  const auto sut = parse_trader("name = \"t\"\ninterval = \"1m\"\nwhen = '''\nclose > 1 and\n  close < 2\n'''\n",
                                "t.toml", market());
  CHECK(sut.when == "close > 1 and\n  close < 2\n");
  CHECK(sut.when_origin.line == 4);
  CHECK(sut.when_origin.column == 1);

  // Text right after the opening ''' starts on the delimiter's line, three columns on.
  CHECK_THAT(message_of("name = \"t\"\ninterval = \"1m\"\nwhen = '''rsii(14) < 30 and\nclose > 1'''\n"),
             Catch::StartsWith("t.toml:3:11: unknown function 'rsii'"));
  CHECK_THAT(message_of("name = \"t\"\ninterval = \"1m\"\nwhen = \"\"\"\nclose > 1 and\n  clsoe < 2\"\"\"\n"),
             Catch::StartsWith("t.toml:5:3: unknown name 'clsoe'"));
}

TEST_CASE("TypeErrorInWhenIsReportedWithItsPosition", "[config][traders]") {
  const auto error = error_of("name = \"t\"\ninterval = \"1m\"\nwhen = \"close > 1 and 1 + (close < open) > 2\"\n");
  CHECK(error.key() == "when");
  CHECK_THAT(std::string(error.what()), Catch::StartsWith("t.toml:3:") && Catch::Contains("^"));
  CHECK_THAT(message_of("name = \"t\"\ninterval = \"1m\"\nwhen = \"rsi(14)\"\n"),
             Catch::StartsWith("t.toml:3:9: a rule must be a condition"));
}

TEST_CASE("QualifierNotHeldIsARuleError", "[config][traders]") {
  CHECK_THAT(message_of("name = \"t\"\ninterval = \"1m\"\nwhen = \"close > ema(50)@2h\"\n"),
             Catch::StartsWith("t.toml:3:") && Catch::Contains("2h"));
}

TEST_CASE("InsufficientHistoryIsAnErrorNamingTheNumbers", "[config][traders]") {
  const auto error = error_of("name = \"t\"\ninterval = \"1m\"\nwhen = \"close > ema(2000)\"\n");
  CHECK(error.key() == "when");
  CHECK(error.line() == 3);
  CHECK(error.column() == 8);
  CHECK_THAT(std::string(error.what()),
             Catch::Matches("t\\.toml:3:8: when: rule needs \\d+ bars of 1m history, 1440 are held"));
  auto deeper = market();
  deeper.history_bars = 20'000;
  CHECK(parse_trader("name = \"t\"\ninterval = \"1m\"\nwhen = \"close > ema(2000)\"\n", "t.toml", deeper).name == "t");
}

TEST_CASE("SymbolGlobsMatchWithFnmatchSemantics", "[config][traders]") {
  const auto usdt = SymbolSelector::patterns({"*USDT"});
  CHECK(usdt.matches("BTCUSDT"));
  CHECK(usdt.matches("USDT"));
  CHECK_FALSE(usdt.matches("BTCBUSD"));
  CHECK_FALSE(usdt.matches("USDTBRL"));
  CHECK_FALSE(usdt.matches("btcusdt"));

  const auto eth = SymbolSelector::patterns({"ETH*"});
  CHECK(eth.matches("ETHUSDT"));
  CHECK(eth.matches("ETHBTC"));
  CHECK_FALSE(eth.matches("BETHUSDT"));

  const auto list = SymbolSelector::patterns({"BTCUSDT", "ETH*", "?NBUSDT", "[AX]RB*", "[!A]DAUSDT"});
  CHECK(list.matches("BTCUSDT"));
  CHECK_FALSE(list.matches("BTCUSDC"));
  CHECK(list.matches("ETHFDUSD"));
  CHECK(list.matches("BNBUSDT"));
  CHECK(list.matches("ARBUSDT"));
  CHECK(list.matches("XRBUSDT"));
  CHECK_FALSE(list.matches("ORBUSDT"));
  CHECK(list.matches("XDAUSDT"));
  CHECK_FALSE(list.matches("ADAUSDT"));
  CHECK(list.to_string() == "[BTCUSDT, ETH*, ?NBUSDT, [AX]RB*, [!A]DAUSDT]");
  CHECK_FALSE(list.is_all());
  CHECK(list.globs().size() == 5);

  const auto all = SymbolSelector::all();
  CHECK(all.matches("ANYTHING"));
  CHECK(all.globs().empty());
}

TEST_CASE("SymbolsFromAFileMatchAsListed", "[config][traders]") {
  const auto sut = parse_trader(trader("symbols = [\"BTCUSDT\", \"ETH*\"]\n"), "t.toml", market());
  CHECK(sut.symbols.to_string() == "[BTCUSDT, ETH*]");
  CHECK(sut.symbols.matches("BTCUSDT"));
  CHECK(sut.symbols.matches("ETHBTC"));
  CHECK_FALSE(sut.symbols.matches("SOLUSDT"));
}

TEST_CASE("DirectoryLoadsTomlFilesSortedByFileNameIgnoringOthers", "[config][traders]") {
  TempDir dir;
  dir.write("b.toml", trader("", "second"));
  dir.write("a.toml", trader("", "first"));
  dir.write("c.toml", trader("", "third"));
  dir.write("notes.txt", "not a trader");
  dir.write("c.toml~", "editor backup");
  dir.write(".hidden.toml", "not = \"a trader\"");
  std::filesystem::create_directory(dir.file("sub.toml"));
  std::filesystem::create_directory(dir.file("nested"));
  std::ofstream(dir.file("nested/d.toml")) << trader("", "nested");

  const auto traders = load_traders_dir(dir.file(""), market());
  REQUIRE(traders.size() == 3);
  CHECK(traders[0].name == "first");
  CHECK(traders[1].name == "second");
  CHECK(traders[2].name == "third");
  CHECK(traders[0].file == dir.file("a.toml"));
}

TEST_CASE("EmptyDirectoryHasNoTraders", "[config][traders]") {
  TempDir dir;
  CHECK(load_traders_dir(dir.file(""), market()).empty());
}

TEST_CASE("DirectoryErrorListsEveryBadFile", "[config][traders]") {
  TempDir dir;
  dir.write("1-good.toml", trader("", "good"));
  const std::string bad_interval =
      dir.write("2-interval.toml", "name = \"a\"\ninterval = \"2h\"\nwhen = \"rsi(14) < 30\"\n");
  const std::string bad_rule = dir.write("3-rule.toml", "name = \"b\"\ninterval = \"1m\"\nwhen = \"rsii(14) < 30\"\n");
  const std::string bad_key = dir.write("4-key.toml", trader("colldown = \"1m\"\n", "c"));

  const auto error = dir_error_of(dir.file(""));
  REQUIRE(error.errors.size() == 3);
  CHECK_THAT(error.errors[0], Catch::StartsWith(bad_interval + ":2:12: interval:"));
  CHECK_THAT(error.errors[1], Catch::StartsWith(bad_rule + ":3:9: unknown function 'rsii'"));
  CHECK_THAT(error.errors[2], Catch::StartsWith(bad_key + ":4:12: colldown: unknown key"));
  const std::string what = error.what();
  CHECK_THAT(what, Catch::Contains("3 errors"));
  for (const auto& each : error.errors) CHECK_THAT(what, Catch::Contains(each));
}

TEST_CASE("DuplicateNamesInADirectoryAreAnErrorNamingBothFiles", "[config][traders]") {
  TempDir dir;
  const std::string first = dir.write("a.toml", trader("", "same"));
  const std::string second = dir.write("b.toml", trader("", "same"));
  dir.write("c.toml", trader("", "other"));
  const auto error = dir_error_of(dir.file(""));
  REQUIRE(error.errors.size() == 1);
  CHECK_THAT(error.errors[0], Catch::StartsWith(second) && Catch::Contains("'same'") && Catch::Contains(first));
}

TEST_CASE("MissingDirectoryIsAnErrorNamingIt", "[config][traders]") {
  TempDir dir;
  const std::string missing = dir.file("no-such-dir");
  const auto error = dir_error_of(missing);
  CHECK_THAT(std::string(error.what()), Catch::Contains(missing) && Catch::Contains("no such directory"));
  REQUIRE(error.errors.size() == 1);

  const std::string file = dir.write("plain.toml", trader());
  CHECK_THAT(std::string(dir_error_of(file).what()), Catch::Contains("is not a directory"));
}

TEST_CASE("MissingTraderFileIsAConfigErrorNamingThePath", "[config][traders]") {
  try {
    (void)screener::config::load_trader("/nonexistent/trader.toml", market());
    FAIL("no error");
  } catch (const ConfigError& error) {
    CHECK(error.file() == "/nonexistent/trader.toml");
    CHECK_THAT(std::string(error.what()), Catch::Contains("cannot open"));
  }
}

TEST_CASE("ShippedExampleTradersLoadWithTheDefaultMarket", "[config][traders]") {
  const auto traders = load_traders_dir(SCREENER_SOURCE_DIR "/config/traders.d", market());
  REQUIRE(traders.size() == 3);
  CHECK(traders[0].name == "macd-turn");
  CHECK(traders[0].interval == Interval::m5);
  CHECK(traders[0].on == EvaluateOn::Update);
  CHECK(traders[1].name == "oversold-bounce");
  CHECK(traders[1].interval == Interval::m1);
  CHECK(traders[2].name == "volume-spike");
  CHECK(traders[2].cooldown_bars == 5);
}
