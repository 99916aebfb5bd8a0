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
  CHECK(total_size(r) == 4096 + 53248 + 53248 + 614400 + 276480000 + 1048576);
}
