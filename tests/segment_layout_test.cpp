// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "common/segment_geometry.hpp"
#include "common/segment_layout.hpp"

using namespace screener;
using namespace screener::shm;

TEST_CASE("DefaultGeometryRegionsAreContiguousPageAlignedAndSizedByTheirCounts", "[layout]") {
  const auto geometry = make_geometry(400, kDefaultIntervals, 1440, 65536);
  REQUIRE(geometry);
  const RegionTable r = compute_regions(*geometry);
  CHECK(r.symbols_offset == kHeaderSize);
  CHECK(r.symbols_bytes == 400 * 128 + 4096 * 13 - 400 * 128);  // 51200 rounded up to 13 pages
  CHECK(r.tickers_offset == r.symbols_offset + r.symbols_bytes);
  CHECK(r.ring_controls_bytes == 2400 * 256);                   // 614400 is already 150 pages
  CHECK(r.column_stride == 1440 * 8);                           // 11520 = 90 lines of 128 B
  CHECK(r.ring_stride == 10 * 1440 * 8);
  CHECK(r.ring_columns_bytes == 2400ULL * 115200);
  CHECK(r.journal_bytes == 65536 * 16);
  CHECK(r.trader_table_offset == r.journal_offset + r.journal_bytes);
  CHECK(r.trader_table_bytes == 4096 + 4096 * 128 + (4U << 20));  // already whole pages
  CHECK(r.status_offset == r.trader_table_offset + r.trader_table_bytes);
  // 4096 + 16 x 32 + 64 x 128 + 4096 x 160 + 16 x 1024 = 684544, rounded up to 168 pages
  CHECK(r.status_bytes == 168 * 4096);
  CHECK(total_size(r) == 4096 + 53248 + 53248 + 614400 + 276480000 + 1048576 + 4722688 + 688128);
}

TEST_CASE("StatusRegionFollowsTheTraderTableAndGrowsWithTheTraderCapacity", "[layout]") {
  const auto geometry = make_geometry(20, kDefaultIntervals, 120, 4096, 64, 65536);
  REQUIRE(geometry);
  const RegionTable r = compute_regions(*geometry);
  CHECK(r.status_offset % kPageSize == 0);
  CHECK(r.status_offset == r.trader_table_offset + r.trader_table_bytes);
  CHECK(r.status_bytes == 10 * 4096);  // 4096 + 512 + 8192 + 64 x 160 + 16384 = 39424
  CHECK(total_size(r) == r.status_offset + r.status_bytes);
}

TEST_CASE("TraderTableSizeFollowsItsConfiguredCapacityAndTextArea", "[layout]") {
  const auto geometry = make_geometry(20, kDefaultIntervals, 120, 4096, 10, 5000);
  REQUIRE(geometry);
  const RegionTable r = compute_regions(*geometry);
  CHECK(r.trader_table_bytes == 3 * 4096);  // 4096 + 10 * 128 + 5000 = 10376, rounded up to 3 pages
  CHECK(r.trader_table_bytes % kPageSize == 0);
  CHECK_FALSE(make_geometry(20, kDefaultIntervals, 120, 4096, 0, 5000));
  CHECK_FALSE(make_geometry(20, kDefaultIntervals, 120, 4096, 10, 5001));
  CHECK(make_geometry(20, kDefaultIntervals, 120, 4096, 10, 5001).error().message.find("5001") != std::string::npos);
}
