// SPDX-License-Identifier: Apache-2.0
#pragma once

// Replay of a recorded capture: every frame verbatim, at its recorded receive time (the market
// clock is the recording's clock, so the server keeps the original spacing at 1×). Two formats:
//   * JSONL, one frame per line: {"recv_ns":<unix ns>,"conn":<n>,"frame":"<raw frame, escaped>"}
//     (what `screenerd --record` writes); frames of all connections are merged in time order;
//   * cryptofeed's `BINANCE.ws.*`: line 1 `<url> <-> <epoch_s>`, then `<epoch_s>: <frame>`.
// Combined frames ({"stream":…,"data":…}) are split into stream and payload; raw frames get the
// stream name Binance would have given them. Subscription replies in a capture are skipped.
// The file is read twice: once at open (validation, symbols, intervals), then lazily while
// replaying, so a long capture is never held in memory. REST has no bars: klines answer [].

#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tools/replay/rest_api.hpp"

namespace screener::replay {

/// A frame's stream and raw payload; nothing for frames that are no stream data (replies).
struct SplitFrame {
  std::string stream;
  std::string payload;
  std::vector<std::string> symbols;  ///< symbols the frame is about (its "s" fields)
};
[[nodiscard]] std::expected<std::optional<SplitFrame>, std::string> split_frame(std::string_view frame);

[[nodiscard]] std::expected<std::unique_ptr<ExchangeModel>, std::string> make_capture_model(
    const std::string& file, int weight_limit);

}  // namespace screener::replay
