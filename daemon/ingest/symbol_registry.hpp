// SPDX-License-Identifier: Apache-2.0
#pragma once

// Which symbol lives in which slot of the segment. The registry is the daemon-side index of the
// segment's symbol table: it hands out free slots to new listings, writes each slot's metadata
// through the SegmentWriter, and answers "which slot is BTCUSDT?" on the hot path without
// allocating.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/segment_layout.hpp"
#include "common/segment_writer.hpp"

namespace screener::ingest {

struct SymbolListing {
  std::string symbol;
  std::string base_asset;
  std::string quote_asset;
  shm::TradingStatus status = shm::TradingStatus::Unknown;
  double tick_size = 0;
  double step_size = 0;
};

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const noexcept { return std::hash<std::string_view>{}(text); }
};

class SymbolRegistry {
 public:
  explicit SymbolRegistry(shm::SegmentWriter& writer) noexcept : writer_(writer) {}

  /// Slot of an active symbol; nothing for unknown or retired ones.
  [[nodiscard]] std::optional<std::uint32_t> find(std::string_view symbol) const noexcept;

  /// Registers (or refreshes the metadata of) a symbol. Nothing when every slot is taken; the
  /// caller reports it. A retired symbol that lists again gets its old slot back.
  std::optional<std::uint32_t> upsert(const SymbolListing& listing);

  /// Marks a symbol as no longer followed: its slot keeps its data, flagged Retired, with the
  /// exchange's status. Returns its slot, or nothing if it was not active.
  std::optional<std::uint32_t> retire(std::string_view symbol, shm::TradingStatus status);

  [[nodiscard]] const std::vector<std::string>& names() const noexcept { return names_; }  ///< by slot; "" = free
  [[nodiscard]] bool active(std::uint32_t slot) const noexcept { return slot < active_.size() && active_[slot]; }
  [[nodiscard]] std::size_t active_count() const noexcept;
  [[nodiscard]] std::uint32_t capacity() const noexcept { return writer_.view().max_symbols(); }

 private:
  void write_slot(std::uint32_t slot, const SymbolListing& listing, shm::SlotState state);

  shm::SegmentWriter& writer_;
  std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> slots_;  ///< every symbol ever seen
  std::vector<std::string> names_;
  std::vector<bool> active_;
  std::vector<std::uint64_t> generations_;
};

}  // namespace screener::ingest
