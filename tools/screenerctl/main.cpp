// SPDX-License-Identifier: Apache-2.0
// screenerctl: the operator's view of a running screener. It reads the segment directly; no
// RPC, no daemon involvement.

#include <cstdio>
#include <string_view>
#include <vector>

#include "tools/screenerctl/commands.hpp"

namespace {
constexpr std::string_view kUsage =
    "usage: screenerctl COMMAND [ARGS]\n"
    "commands:\n"
    "  layout [--config FILE] [--symbols N] [--intervals 1m,5m,...] [--depth N] [--journal N]\n"
    "         [--traders N] [--trader-text BYTES]\n"
    "         byte size and offset of every segment region for a configuration\n"
    "  header [--segment NAME]\n"
    "         identity, state and counters of a live segment\n"
    "  symbols [--segment NAME]\n"
    "         the symbol table as CSV: slot, names, status, filters, complete rings\n"
    "  klines SYMBOL INTERVAL [--last N] [--segment NAME]\n"
    "         a ring as CSV, oldest first; the forming bar last, with closed=false\n"
    "  eval (--csv FILE [--symbol SYM] | --symbol SYM [--segment NAME]) --interval IV [--series] 'EXPR'\n"
    "         a rule's value (or a number's) at the last closed bar; --series: at every bar\n"
    "  status [--segment NAME] [--watch [SECONDS]] [--json]\n"
    "         what screenerd is doing: symbols and complete rings, ingest counters, connections,\n"
    "         workers, traders, the latest signals; --watch redraws every SECONDS (default 2)\n";
}

int main(int argc, char** argv) {
  if (argc < 2 || std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h") {
    std::fputs(kUsage.data(), argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string_view command = argv[1];
  const std::vector<std::string_view> args(argv + 2, argv + argc);
  if (command == "layout") return screener::ctl::run_layout(args);
  if (command == "header") return screener::ctl::run_header(args);
  if (command == "symbols") return screener::ctl::run_symbols(args);
  if (command == "klines") return screener::ctl::run_klines(args);
  if (command == "eval") return screener::ctl::run_eval(args);
  if (command == "status") return screener::ctl::run_status(args);
  std::fprintf(stderr, "screenerctl: unknown command '%.*s'\n%s", static_cast<int>(command.size()), command.data(),
               kUsage.data());
  return 2;
}
