// SPDX-License-Identifier: Apache-2.0
// screener-replay: a local Binance-compatible exchange for tests, benchmarks and the demo. The
// command line picks a market source for the model (tools/replay/exchange_model.hpp) and the
// server's clock, network and fault settings (tools/replay/server/replay_server.hpp).

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

#include "tools/replay/exchange_model.hpp"
#include "tools/replay/server/replay_server.hpp"

namespace {

using namespace screener::replay;

constexpr std::string_view kUsage = R"(usage: screener-replay [OPTIONS]
A local Binance-compatible spot exchange: REST (/api/v3/...) and WebSocket market streams
(/ws/<stream>, /stream?streams=a/b) on one port, driven by a market clock over a kline source.

Market source (one of; default --synthetic):
  --synthetic                  deterministic random market SYN000USDT, SYN001USDT, ... at 1m
    --seed N                   random seed (1)
    --symbols N                number of symbols (20)
    --start-ms T               open time of the first live bar, ms since the epoch (2024-01-01)
    --history-bars N           bars before the start, served over REST only (1500)
    --live-bars N              bars streamed from the start on (default: endless)
  --csv FILE                   kline CSV (7-column multi-symbol or 12-column archive); repeatable
    --symbol SYM               symbol of a 12-column file (default: from its file name)
    --csv-interval IV          interval of the CSV bars (default: detected)
  --capture FILE               recorded frames (screenerd --record JSONL or cryptofeed), verbatim
  --live-from-bars N           stream after N base bars of history (synthetic, CSV)
  --live-from-ms T             stream from the first base bar opening at or after T (synthetic, CSV)

Market:
  --intervals 1m,5m,...        kline intervals streamed (default: 1m,5m,15m,1h,4h,1d that the
                               source's base interval can build)
  --updates-per-bar N          forming (x=false) updates per base bar (default: one per 2 s)
  --weight-limit N             REQUEST_WEIGHT per minute, advertised and enforced (6000)
  --speed realtime|xN|max      market clock: wall time, N times faster (x60), or as fast as the
                               slowest subscribed client reads (realtime)
  --run-without-clients        start the clock before the first subscription (and keep it running
                               at --speed max while nobody is subscribed)

Network:
  --listen HOST:PORT           address to listen on (127.0.0.1:0, port 0: any free port)
  --port-file FILE             write the bound port to FILE once listening (atomically)
  --tls-cert FILE              PEM certificate chain; with --tls-key, serve TLS only (wss, https)
  --tls-key FILE               PEM private key
  --ping-interval-ms N         server ping period (20000)
  --pong-timeout-ms N          drop a connection whose ping is unanswered this long (60000)
  --max-queued-frames N        frames queued for one connection before it is dropped as too slow
                               (100000; not at --speed max, where the clock waits instead)
  --ban-after-429s N           429 answers in a minute before the next over-limit request bans
                               the IP with 418 (3)
  --ban-seconds N              length of that ban (120)

Faults (each also at run time: POST /replay/fault?<name>=<value>, name with '_' for '-'):
  --drop-after-frames N        close each connection's TCP socket after N frames
  --stall-after-frames N       send nothing, pings and pongs included, after N frames ...
  --stall-ms M                 ... for M ms (once per connection)
  --malformed-every N          make every Nth frame of a connection malformed, in turn: bad JSON,
                               truncated, negative price, high < low, misaligned open time
  --server-shutdown-after-frames N
                               send !serverShutdown to each connection after N frames
  --rest-429 N                 answer the next N REST requests 429 (with Retry-After)
  --rest-418 N                 answer the next N REST requests 418 (with Retry-After)
  --skip-closed N              drop the next N closed (x=true) kline frames (a gap to backfill)
  Run time only: drop=now, server_shutdown=now, stall=now (for stall_ms).

Symbol status (the exchange halting and resuming a symbol):
  --status-after-ms SYMBOL:STATUS:MS
                               set SYMBOL's status to STATUS (TRADING, BREAK, HALT, PRE_TRADING,
                               POST_TRADING, END_OF_DAY, AUCTION_MATCH) MS ms of wall time after
                               the market clock starts; repeatable. exchangeInfo reports it; while
                               it is not TRADING the symbol's kline frames are not sent (its bars
                               go on: REST serves them, except from a capture), and they resume
                               when it is TRADING again
  At run time: POST /replay/fault?status=SYMBOL:STATUS (400 for a symbol the market does not list).

Control endpoints: GET /replay/status, GET /replay/connections, POST /replay/fault?...

Other:
  --log-level LEVEL            trace, debug, info, warn, error (info); logs go to stderr
  -h, --help                   this text
)";

/// Everything the command line says, before it is split into model and server options.
struct CommandLine {
  enum class Source { Synthetic, Csv, Capture } source = Source::Synthetic;
  bool source_given = false;
  SyntheticSource synthetic;
  CsvSource csv;
  CaptureSource capture;
  std::optional<std::size_t> live_from_bars;
  std::optional<std::int64_t> live_from_ms;
  std::vector<screener::Interval> intervals;
  std::uint32_t updates_per_bar = 0;
  std::optional<int> weight_limit;
  ServerOptions server;
  std::string log_level = "info";
};

/// The model's options for the command line. Kept in one place: the model's factory owns what
/// each source accepts, and this is the only code that knows both sides.
ModelOptions make_model_options(const CommandLine& line) {
  ModelOptions options;
  switch (line.source) {
    case CommandLine::Source::Synthetic: options.source = line.synthetic; break;
    case CommandLine::Source::Csv: options.source = line.csv; break;
    case CommandLine::Source::Capture: options.source = line.capture; break;
  }
  options.intervals = line.intervals;
  if (line.live_from_bars) options.live_from = LiveFromBars{*line.live_from_bars};
  if (line.live_from_ms) options.live_from = LiveFromTime{*line.live_from_ms};
  options.updates_per_bar = line.updates_per_bar;
  if (line.weight_limit) options.weight_limit = *line.weight_limit;
  return options;
}

template <class T>
std::expected<T, std::string> parse_number(std::string_view flag, std::string_view text) {
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size())
    return std::unexpected(fmt::format("{} takes a number, not '{}'", flag, text));
  return value;
}

std::expected<void, std::string> parse_listen(std::string_view text, ServerOptions& server) {
  // HOST:PORT, or [IPv6]:PORT.
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::unexpected(fmt::format("--listen takes HOST:PORT, not '{}'", text));
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto port = parse_number<std::uint16_t>("--listen port", text.substr(colon + 1));
  if (!port) return std::unexpected(port.error());
  server.listen_host = host.empty() ? std::string("0.0.0.0") : std::string(host);
  server.listen_port = *port;
  return {};
}

std::expected<std::vector<screener::Interval>, std::string> parse_intervals(std::string_view text) {
  std::vector<screener::Interval> out;
  for (std::size_t start = 0; start <= text.size();) {
    std::size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view name = text.substr(start, end - start);
    if (!name.empty()) {
      const auto interval = screener::parse_interval(name);
      if (!interval) return std::unexpected(fmt::format("--intervals: unknown interval '{}' (1m, 5m, 1h, 1M, ...)", name));
      out.push_back(*interval);
    }
    start = end + 1;
  }
  if (out.empty()) return std::unexpected(std::string("--intervals: no interval given"));
  return out;
}

/// --status-after-ms SYMBOL:STATUS:MS, appended to the server's schedule.
std::expected<void, std::string> parse_status_after(std::string_view text, ServerOptions& server) {
  const std::size_t colon = text.rfind(':');
  const auto ms = colon == std::string_view::npos
                      ? std::expected<std::int64_t, std::string>(std::unexpected(std::string()))
                      : parse_number<std::int64_t>("--status-after-ms", text.substr(colon + 1));
  if (!ms)
    return std::unexpected(fmt::format("--status-after-ms takes SYMBOL:STATUS:MS (BTCUSDT:BREAK:5000), not '{}'", text));
  if (*ms < 0) return std::unexpected(fmt::format("--status-after-ms: MS must not be negative ({})", *ms));
  ScheduledStatusChange scheduled;
  scheduled.after = std::chrono::milliseconds(*ms);
  if (auto error = parse_status_change(text.substr(0, colon), scheduled.change))
    return std::unexpected(fmt::format("--status-after-ms: {}", *error));
  server.status_changes.push_back(std::move(scheduled));
  return {};
}

/// Parses argv; an error text on failure, nothing when --help was printed.
std::expected<std::optional<CommandLine>, std::string> parse_command_line(int argc, char** argv) {
  CommandLine line;
  const auto choose = [&line](CommandLine::Source source) -> std::expected<void, std::string> {
    if (line.source_given && line.source != source)
      return std::unexpected(std::string("choose one source: --synthetic, --csv or --capture"));
    line.source = source;
    line.source_given = true;
    return {};
  };
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "-h" || flag == "--help") {
      std::fputs(kUsage.data(), stdout);
      return std::optional<CommandLine>();
    }
    // Flags without a value.
    if (flag == "--synthetic") {
      if (auto chosen = choose(CommandLine::Source::Synthetic); !chosen) return std::unexpected(chosen.error());
      continue;
    }
    if (flag == "--run-without-clients") {
      line.server.run_without_clients = true;
      continue;
    }
    static constexpr std::string_view kValueFlags[] = {
        "--seed", "--symbols", "--start-ms", "--history-bars", "--live-bars", "--csv", "--symbol", "--csv-interval",
        "--capture", "--live-from-bars", "--live-from-ms", "--intervals", "--updates-per-bar", "--weight-limit",
        "--speed", "--listen", "--port-file", "--tls-cert", "--tls-key", "--ping-interval-ms", "--pong-timeout-ms",
        "--max-queued-frames", "--ban-after-429s", "--ban-seconds", "--drop-after-frames", "--stall-after-frames",
        "--stall-ms", "--malformed-every", "--server-shutdown-after-frames", "--rest-429", "--rest-418",
        "--skip-closed", "--status-after-ms", "--log-level"};
    if (std::find(std::begin(kValueFlags), std::end(kValueFlags), flag) == std::end(kValueFlags))
      return std::unexpected(fmt::format("unknown option '{}' (see --help)", flag));
    if (i + 1 >= argc) return std::unexpected(fmt::format("{} needs a value (see --help)", flag));
    const std::string_view value = argv[++i];

    // Each numeric flag: where it goes.
    std::expected<void, std::string> result;
    const auto number = [&](auto& target) {
      using T = std::remove_reference_t<decltype(target)>;
      auto parsed = parse_number<T>(flag, value);
      if (!parsed) result = std::unexpected(parsed.error());
      else target = *parsed;
    };
    const auto milliseconds = [&](std::chrono::milliseconds& target) {
      std::int64_t ms = 0;
      number(ms);
      target = std::chrono::milliseconds(ms);
    };
    std::uint64_t u64 = 0;
    if (flag == "--seed") number(line.synthetic.seed);
    else if (flag == "--symbols") number(line.synthetic.symbols);
    else if (flag == "--start-ms") number(line.synthetic.start_ms);
    else if (flag == "--history-bars") number(line.synthetic.history_bars);
    else if (flag == "--live-bars") {
      std::size_t bars = 0;
      number(bars);
      line.synthetic.live_bars = bars;
    } else if (flag == "--csv") {
      result = choose(CommandLine::Source::Csv);
      line.csv.files.emplace_back(value);
    } else if (flag == "--symbol") line.csv.symbol = std::string(value);
    else if (flag == "--csv-interval") {
      const auto interval = screener::parse_interval(value);
      if (!interval) result = std::unexpected(fmt::format("--csv-interval: unknown interval '{}'", value));
      else line.csv.interval = *interval;
    } else if (flag == "--capture") {
      result = choose(CommandLine::Source::Capture);
      line.capture.file = std::string(value);
    } else if (flag == "--live-from-bars") {
      std::size_t bars = 0;
      number(bars);
      line.live_from_bars = bars;
    } else if (flag == "--live-from-ms") {
      std::int64_t ms = 0;
      number(ms);
      line.live_from_ms = ms;
    } else if (flag == "--intervals") {
      auto intervals = parse_intervals(value);
      if (!intervals) result = std::unexpected(intervals.error());
      else line.intervals = std::move(*intervals);
    } else if (flag == "--updates-per-bar") number(line.updates_per_bar);
    else if (flag == "--weight-limit") {
      int limit = 0;
      number(limit);
      line.weight_limit = limit;   // the server enforces what the model advertises
    } else if (flag == "--speed") {
      const auto speed = parse_speed(value);
      if (!speed) result = std::unexpected(fmt::format("--speed takes realtime, max or xN (x60), not '{}'", value));
      else line.server.speed = *speed;
    } else if (flag == "--listen") result = parse_listen(value, line.server);
    else if (flag == "--port-file") line.server.port_file = std::string(value);
    else if (flag == "--tls-cert") line.server.tls_cert_file = std::string(value);
    else if (flag == "--tls-key") line.server.tls_key_file = std::string(value);
    else if (flag == "--ping-interval-ms") milliseconds(line.server.ping_interval);
    else if (flag == "--pong-timeout-ms") milliseconds(line.server.pong_timeout);
    else if (flag == "--max-queued-frames") number(line.server.max_queued_frames);
    else if (flag == "--ban-after-429s") number(line.server.ban_after_429s);
    else if (flag == "--ban-seconds") {
      number(u64);
      line.server.ban_duration = std::chrono::seconds(u64);
    } else if (flag == "--drop-after-frames") number(line.server.faults.drop_after_frames);
    else if (flag == "--stall-after-frames") number(line.server.faults.stall_after_frames);
    else if (flag == "--stall-ms") number(line.server.faults.stall_ms);
    else if (flag == "--malformed-every") number(line.server.faults.malformed_every);
    else if (flag == "--server-shutdown-after-frames") number(line.server.faults.server_shutdown_after_frames);
    else if (flag == "--rest-429") number(line.server.faults.rest_429);
    else if (flag == "--rest-418") number(line.server.faults.rest_418);
    else if (flag == "--skip-closed") number(line.server.faults.skip_closed);
    else if (flag == "--status-after-ms") result = parse_status_after(value, line.server);
    else if (flag == "--log-level") line.log_level = std::string(value);
    else return std::unexpected(fmt::format("unknown option '{}' (see --help)", flag));
    if (!result) return std::unexpected(result.error());
  }
  if (line.source == CommandLine::Source::Csv && line.csv.files.empty())
    return std::unexpected(std::string("--csv needs at least one file"));
  if (line.server.faults.stall_after_frames > 0 && line.server.faults.stall_ms == 0)
    return std::unexpected(std::string("--stall-after-frames needs --stall-ms"));
  if (line.live_from_bars && line.live_from_ms)
    return std::unexpected(std::string("choose one of --live-from-bars and --live-from-ms"));
  return std::optional<CommandLine>(std::move(line));
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = parse_command_line(argc, argv);
  if (!parsed) {
    std::fprintf(stderr, "screener-replay: %s\n", parsed.error().c_str());
    return 2;
  }
  if (!*parsed) return 0;   // --help
  CommandLine& line = **parsed;

  const auto level = spdlog::level::from_str(line.log_level);
  if (level == spdlog::level::off && line.log_level != "off") {
    std::fprintf(stderr, "screener-replay: --log-level takes trace, debug, info, warn or error, not '%s'\n",
                 line.log_level.c_str());
    return 2;
  }
  auto logger = spdlog::stderr_color_mt("replay");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ screener-replay: %v");
  spdlog::set_level(level);

  auto model = make_exchange_model(make_model_options(line));
  if (!model) {
    spdlog::error("{}", model.error());
    return 1;
  }
  line.server.handle_signals = true;
  try {
    ReplayServer server(std::move(line.server), std::move(*model));
    server.start();
    server.run();
  } catch (const std::exception& error) {
    spdlog::error("{}", error.what());
    return 1;
  }
  return 0;
}
