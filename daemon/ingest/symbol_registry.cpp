// SPDX-License-Identifier: Apache-2.0
#include "daemon/ingest/symbol_registry.hpp"

#include <algorithm>
#include <cstring>

namespace screener::ingest {

namespace {
template <std::size_t N>
void copy_name(std::array<char, N>& target, std::string_view source) noexcept {
  target.fill('\0');
  std::memcpy(target.data(), source.data(), std::min(source.size(), N));
}
}  // namespace

std::optional<std::uint32_t> SymbolRegistry::find(std::string_view symbol) const noexcept {
  const auto it = slots_.find(symbol);
  if (it == slots_.end() || !active_[it->second]) return std::nullopt;
  return it->second;
}

std::size_t SymbolRegistry::active_count() const noexcept {
  return static_cast<std::size_t>(std::count(active_.begin(), active_.end(), true));
}

std::optional<std::uint32_t> SymbolRegistry::upsert(const SymbolListing& listing) {
  if (names_.empty()) {
    names_.assign(capacity(), std::string());
    active_.assign(capacity(), false);
    generations_.assign(capacity(), 0);
  }
  std::uint32_t slot = 0;
  if (const auto it = slots_.find(listing.symbol); it != slots_.end()) {
    slot = it->second;
  } else {
    // Slots are never reused for another symbol: a worker holding indicator state for a slot
    // must never find different prices under it.
    const auto free = std::find(names_.begin(), names_.end(), std::string());
    if (free == names_.end()) return std::nullopt;
    slot = static_cast<std::uint32_t>(free - names_.begin());
    names_[slot] = listing.symbol;
    slots_.emplace(listing.symbol, slot);
    ++generations_[slot];
  }
  active_[slot] = true;
  write_slot(slot, listing, shm::SlotState::Active);
  return slot;
}

std::optional<std::uint32_t> SymbolRegistry::retire(std::string_view symbol, shm::TradingStatus status) {
  const auto slot = find(symbol);
  if (!slot) return std::nullopt;
  active_[*slot] = false;
  const auto current = shm::seqlock_read(&writer_.view().symbol_slot(*slot)->info);
  SymbolListing listing;
  listing.symbol = std::string(symbol);
  if (current) {
    listing.base_asset = std::string(current->base_asset.data(), strnlen(current->base_asset.data(), current->base_asset.size()));
    listing.quote_asset = std::string(current->quote_asset.data(), strnlen(current->quote_asset.data(), current->quote_asset.size()));
    listing.tick_size = current->tick_size;
    listing.step_size = current->step_size;
  }
  listing.status = status;
  write_slot(*slot, listing, shm::SlotState::Retired);
  return slot;
}

void SymbolRegistry::write_slot(std::uint32_t slot, const SymbolListing& listing, shm::SlotState state) {
  shm::SymbolInfo info{};
  copy_name(info.symbol, listing.symbol);
  copy_name(info.base_asset, listing.base_asset);
  copy_name(info.quote_asset, listing.quote_asset);
  info.slot_state = static_cast<std::uint32_t>(state);
  info.trading_status = static_cast<std::uint32_t>(listing.status);
  info.tick_size = listing.tick_size;
  info.step_size = listing.step_size;
  info.generation = generations_[slot];
  writer_.set_symbol(slot, info);
}

}  // namespace screener::ingest
