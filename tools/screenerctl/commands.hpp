// SPDX-License-Identifier: Apache-2.0
#pragma once

// screenerctl's subcommands. Each takes its own arguments (after the subcommand name) and
// returns the process exit code.

#include <span>
#include <string_view>

namespace screener::ctl {

int run_layout(std::span<const std::string_view> args);
int run_header(std::span<const std::string_view> args);
int run_symbols(std::span<const std::string_view> args);
int run_klines(std::span<const std::string_view> args);
int run_eval(std::span<const std::string_view> args);
int run_status(std::span<const std::string_view> args);

}  // namespace screener::ctl
