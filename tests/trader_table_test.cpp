// SPDX-License-Identifier: Apache-2.0
// The trader table in the segment: what the daemon writes is what a read-only reader copies, a
// table that does not fit changes nothing, and every publication is a new generation.
#include <catch2/catch.hpp>

#include "common/segment_reader.hpp"
#include "common/segment_writer.hpp"
#include "common/trader_table.hpp"
#include "segment_test_support.hpp"

using namespace screener;
using namespace screener::shm;
using screener::test::ScopedSegmentName;
using screener::test::small_geometry;

namespace {

TraderTableContent two_traders() {
  TraderTableContent content;
  content.socket_path = "/run/screener/screener.sock";
  content.state_dir = "/var/lib/screener";
  content.worker_count = 2;
  content.traders.push_back({"oversold", 0, "/etc/screener/traders.d/oversold.toml",
                             "name = \"oversold\"\ninterval = \"1m\"\nwhen = \"rsi(14) < 30\"\n", 0});
  content.traders.push_back({"spike", 1, "/etc/screener/traders.d/spike.toml", "name = \"spike\"\nwhen = \"x\"", 0});
  return content;
}

SegmentReader attach(const ScopedSegmentName& name) {
  auto reader = SegmentReader::attach(ReaderOptions{name.str()}, std::chrono::seconds(5));
  if (!reader) throw std::runtime_error(reader.error().message);
  return std::move(*reader);
}

}  // namespace

TEST_CASE("TraderTableReadsBackExactlyWhatTheDaemonPublished", "[trader_table]") {
  ScopedSegmentName name;
  auto writer = SegmentWriter::create(WriterOptions{name.str(), small_geometry(), ""});
  REQUIRE(writer);
  SegmentReader reader = attach(name);
  CHECK(trader_table_generation(reader.view()) == 0);
  CHECK_FALSE(trader_table_read(reader.view()));

  const TraderTableContent content = two_traders();
  auto generation = writer->publish_trader_table(content);
  REQUIRE(generation);
  CHECK(*generation == 1);
  CHECK(writer->publish());  // the table alone is worth a wake-up

  const auto table = trader_table_read(reader.view());
  REQUIRE(table);
  CHECK(table->generation == 1);
  CHECK(table->socket_path == content.socket_path);
  CHECK(table->state_dir == content.state_dir);
  CHECK(table->worker_count == 2);
  REQUIRE(table->traders.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(table->traders[i].name == content.traders[i].name);
    CHECK(table->traders[i].owner == content.traders[i].owner);
    CHECK(table->traders[i].path == content.traders[i].path);
    CHECK(table->traders[i].text == content.traders[i].text);
    CHECK(table->traders[i].content_hash == trader_content_hash(content.traders[i].text));
  }
}

TEST_CASE("TraderTableRepublishingBumpsTheGenerationAndReplacesTheContents", "[trader_table]") {
  ScopedSegmentName name;
  auto writer = SegmentWriter::create(WriterOptions{name.str(), small_geometry(), ""});
  REQUIRE(writer);
  SegmentReader reader = attach(name);
  REQUIRE(writer->publish_trader_table(two_traders()));
  TraderTableContent fewer = two_traders();
  fewer.traders.pop_back();
  fewer.traders[0].owner = 1;
  fewer.worker_count = 1;
  REQUIRE(writer->publish_trader_table(fewer) == std::uint64_t{2});
  const auto table = trader_table_read(reader.view());
  REQUIRE(table);
  CHECK(table->generation == 2);
  REQUIRE(table->traders.size() == 1);
  CHECK(table->traders[0].owner == 1);
  CHECK(table->worker_count == 1);
}

TEST_CASE("TraderTableThatDoesNotFitIsRefusedAndLeavesThePublishedOneIntact", "[trader_table]") {
  ScopedSegmentName name;
  auto writer = SegmentWriter::create(WriterOptions{name.str(), small_geometry(), ""});  // 16 traders, 16 KiB text
  REQUIRE(writer);
  SegmentReader reader = attach(name);
  REQUIRE(writer->publish_trader_table(two_traders()));

  TraderTableContent too_many = two_traders();
  for (int i = 0; i < 20; ++i) too_many.traders.push_back({"t" + std::to_string(i), 0, "p", "text", 0});
  const auto refused = writer->publish_trader_table(too_many);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error(), Catch::Contains("22 traders") && Catch::Contains("16 entries"));

  TraderTableContent too_long = two_traders();
  too_long.traders[0].text = std::string(20000, 'x');
  const auto refused_text = writer->publish_trader_table(too_long);
  REQUIRE_FALSE(refused_text);
  CHECK_THAT(refused_text.error(), Catch::Contains("16384"));

  TraderTableContent bad_name = two_traders();
  bad_name.traders[0].name = std::string(65, 'n');
  CHECK_FALSE(writer->publish_trader_table(bad_name));

  const auto table = trader_table_read(reader.view());
  REQUIRE(table);
  CHECK(table->generation == 1);
  REQUIRE(table->traders.size() == 2);
  CHECK(table->traders[0].text == two_traders().traders[0].text);
}
