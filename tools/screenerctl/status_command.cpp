// SPDX-License-Identifier: Apache-2.0
// `screenerctl status`: what screenerd is doing, read straight from the segment (no RPC): the
// symbols and their complete rings, the status region screenerd rewrites once a second (ingest
// counters, connections, workers, traders, the latest signals) and the trader table.
//
//   screenerctl status [--segment NAME] [--watch [SECONDS]] [--json]
//
// --watch redraws every SECONDS (default 2) until SIGINT or SIGTERM, with frames/s taken from the
// change of the frame count between two reads; --json prints one JSON object (per refresh).

#include <fmt/format.h>

#include <signal.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/json_escape.hpp"
#include "common/kline_ring.hpp"
#include "common/segment_reader.hpp"
#include "common/status_board.hpp"
#include "common/trader_table.hpp"
#include "daemon/feed/validation.hpp"
#include "tools/screenerctl/commands.hpp"

namespace screener::ctl {

namespace {

/// A status older than this is reported as stale: screenerd rewrites it every second.
constexpr std::int64_t kStaleAfterMs = 5000;

std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop.store(true); }

struct Options {
  shm::ReaderOptions reader;
  bool json = false;
  bool watch = false;
  unsigned interval_s = 2;
};

/// Everything one refresh shows.
struct View {
  std::string segment;
  std::uint32_t writer_pid = 0;
  std::uint64_t epoch = 0;
  const char* writer = "";
  std::uint32_t intervals = 0;
  std::uint32_t symbols_active = 0;
  std::uint32_t symbols_complete = 0;  ///< every ring complete
  std::uint32_t rings_complete = 0;
  std::uint64_t table_generation = 0;
  std::size_t table_traders = 0;
  std::optional<shm::StatusSnapshot> status;
  std::int64_t now_ms = 0;
  double frames_per_second = 0;
  bool rate_measured = false;  ///< from two reads, not the daemon's gauge
};

std::int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<View> read_view(const Options& options, std::string& error) {
  auto reader = shm::SegmentReader::open(options.reader);
  if (!reader) {
    error = reader.error().message;
    return std::nullopt;
  }
  const shm::SegmentView& view = reader->view();
  View v;
  v.segment = options.reader.name;
  v.writer_pid = reader->header().writer_pid;
  v.epoch = reader->epoch();
  v.writer = shm::to_string(reader->writer_status());
  v.intervals = view.interval_count();
  for (std::uint32_t slot = 0; slot < view.max_symbols(); ++slot) {
    const auto info = shm::seqlock_read(&view.symbol_slot(slot)->info);
    if (!info || info->slot_state != static_cast<std::uint32_t>(shm::SlotState::Active)) continue;
    ++v.symbols_active;
    std::uint32_t complete = 0;
    for (std::uint32_t i = 0; i < view.interval_count(); ++i) {
      const auto state = shm::ring_read_state(view, view.ring_index(slot, i));
      if (state && state->complete()) ++complete;
    }
    v.rings_complete += complete;
    if (complete == view.interval_count()) ++v.symbols_complete;
  }
  if (const auto table = shm::trader_table_read(view)) {
    v.table_generation = table->generation;
    v.table_traders = table->traders.size();
  }
  v.status = shm::status_read(view);
  v.now_ms = now_unix_ms();
  if (v.status) v.frames_per_second = v.status->header.frames_per_second;
  return v;
}

std::string age_text(std::int64_t now_ms, std::int64_t then_ms) {
  if (then_ms <= 0) return "never";
  const double s = static_cast<double>(now_ms - then_ms) / 1000.0;
  if (s < 0) return "just now";
  if (s < 120) return fmt::format("{:.1f} s ago", s);
  if (s < 7200) return fmt::format("{:.0f} min ago", s / 60);
  return fmt::format("{:.1f} h ago", s / 3600);
}

std::string duration_text(std::int64_t ms) {
  const std::int64_t s = std::max<std::int64_t>(0, ms / 1000);
  if (s >= 86400) return fmt::format("{}d {:02}:{:02}:{:02}", s / 86400, s % 86400 / 3600, s % 3600 / 60, s % 60);
  return fmt::format("{:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60);
}

std::string clock_text(std::int64_t unix_ms) {
  if (unix_ms <= 0) return "-";
  const time_t t = static_cast<time_t>(unix_ms / 1000);
  tm local{};
  localtime_r(&t, &local);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", local.tm_year + 1900, local.tm_mon + 1, local.tm_mday,
                     local.tm_hour, local.tm_min, local.tm_sec);
}

double eval_us_per_evaluation(const shm::WorkerStatus& w) {
  return w.evaluations == 0 ? 0.0 : static_cast<double>(w.eval_ns_total) / static_cast<double>(w.evaluations) / 1000.0;
}

std::string owner_text(std::uint32_t owner) {
  return owner == shm::kUnassigned ? std::string("-") : fmt::format("{}", owner);
}

/// Prints rows with every column as wide as its widest cell; the first `left` columns flush left.
void print_table(const std::vector<std::vector<std::string>>& rows, std::size_t left) {
  std::vector<std::size_t> width;
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (width.size() <= c) width.push_back(0);
      width[c] = std::max(width[c], row[c].size());
    }
  for (const auto& row : rows) {
    std::string line = " ";
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += ' ';
      line += c < left ? fmt::format("{:<{}}", row[c], width[c]) : fmt::format("{:>{}}", row[c], width[c]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    fmt::print("{}\n", line);
  }
}

void print_human(const View& v) {
  fmt::print("SEGMENT\n");
  fmt::print("  {}: writer pid {} ({}), epoch {}\n", v.segment, v.writer_pid, v.writer, v.epoch);
  fmt::print("  symbols  {} active, {} with every ring complete ({}/{} rings)\n", v.symbols_active,
             v.symbols_complete, v.rings_complete, v.symbols_active * v.intervals);
  fmt::print("  traders  {} in table generation {}\n", v.table_traders, v.table_generation);
  if (!v.status) {
    fmt::print("  status   none yet: screenerd has not written its status (it does once a second after start;\n"
               "           a screenerd older than this screenerctl never does)\n");
    return;
  }
  const shm::StatusSnapshot& s = *v.status;
  const shm::StatusHeader& h = s.header;
  const std::int64_t age_ms = v.now_ms - h.updated_unix_ms;
  fmt::print("  status   written {}{}, screenerd up {}\n", age_text(v.now_ms, h.updated_unix_ms),
             age_ms > kStaleAfterMs ? " - STALE: screenerd is not updating it (stopped or stuck?)" : "",
             duration_text(h.updated_unix_ms - h.started_unix_ms));

  fmt::print("\nINGEST\n");
  fmt::print("  frames        {} total (kline {}, ticker {}, other {}), {:.1f}/s{}\n", h.frames_total, h.frames_kline,
             h.frames_ticker, h.frames_other, v.frames_per_second, v.rate_measured ? "" : " (last second)");
  std::string reasons;
  for (std::size_t r = 1; r < feed::kRejectReasonCount; ++r) {
    if (h.parse_errors_by_reason[r] == 0) continue;
    reasons += fmt::format("{}{} {}", reasons.empty() ? "" : ", ",
                           feed::to_string(static_cast<feed::RejectReason>(r)), h.parse_errors_by_reason[r]);
  }
  fmt::print("  parse errors  {}{}\n", h.parse_errors_total, reasons.empty() ? "" : " (" + reasons + ")");
  fmt::print("  connects      {}, reconnects {}, rotations {}\n", h.connects, h.reconnects, h.rotations);
  fmt::print("  bars          closed {}, backfilled {}, gaps detected {}\n", h.closed_bars, h.backfilled_bars,
             h.gaps_detected);
  fmt::print("  REST          {} requests, 429: {}, 418: {}, weight {}/{} this minute\n", h.rest_requests, h.rest_429,
             h.rest_418, h.rest_weight_used, h.rest_weight_limit);
  fmt::print("  signals       written {}, duplicates {}, rejected {}, write errors {}\n", h.signals_written,
             h.signals_duplicates, h.signals_rejected, h.signal_write_errors);
  fmt::print("  reloads       ok {}, failed {}", h.reloads_ok, h.reloads_failed);
  if (h.last_reload_unix_ms > 0) {
    fmt::print("; last at {} {}", clock_text(h.last_reload_unix_ms), h.last_reload_ok ? "applied" : "REFUSED");
  }
  fmt::print("\n");
  if (!h.last_reload_ok && !shm::padded_text(h.last_reload_error).empty()) {
    std::string_view text = shm::padded_text(h.last_reload_error);
    while (!text.empty()) {
      const std::size_t end = text.find('\n');
      fmt::print("                {}\n", text.substr(0, end));
      text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    }
  }

  fmt::print("\nCONNECTIONS\n");
  if (s.connections.empty()) {
    fmt::print("  none\n");
  } else {
    std::vector<std::vector<std::string>> rows{{"ID", "STREAMS", "OPEN", "FRAMES", "LAST FRAME"}};
    for (const shm::ConnectionStatus& c : s.connections)
      rows.push_back({fmt::format("{}", c.id), fmt::format("{}", c.streams), c.open ? "yes" : "no",
                      fmt::format("{}", c.frames), age_text(h.updated_unix_ms, c.last_frame_unix_ms)});
    print_table(rows, 0);
  }

  fmt::print("\nWORKERS\n");
  if (s.workers.empty()) {
    fmt::print("  none has connected\n");
  } else {
    std::vector<std::vector<std::string>> rows{{"INDEX", "PID", "STATE", "TRADERS", "TABLE", "LAG", "EVALUATIONS",
                                                "SIGNALS", "SUPPRESSED", "EVAL us/EVAL", "PENDING", "HEARTBEAT"}};
    for (const shm::WorkerStatus& w : s.workers)
      rows.push_back({fmt::format("{}", w.index), fmt::format("{}", w.pid), w.connected ? "connected" : "gone",
                      fmt::format("{}", w.traders), fmt::format("{}", w.table_generation),
                      fmt::format("{}", w.journal_lag), fmt::format("{}", w.evaluations),
                      fmt::format("{}", w.signals), fmt::format("{}", w.suppressed),
                      fmt::format("{:.2f}", eval_us_per_evaluation(w)), fmt::format("{}", w.pending_signals),
                      age_text(h.updated_unix_ms, w.last_heartbeat_unix_ms)});
    print_table(rows, 0);
  }

  fmt::print("\nTRADERS\n");
  if (s.traders.empty()) {
    fmt::print("  none\n");
  } else {
    std::vector<std::vector<std::string>> rows{
        {"NAME", "OWNER", "EVALUATIONS", "SIGNALS", "SUPPRESSED", "LAST FIRE", "SYMBOL"}};
    for (const shm::TraderStatus& t : s.traders)
      rows.push_back({std::string(shm::padded_text(t.name)), owner_text(t.owner), fmt::format("{}", t.evaluations),
                      fmt::format("{}", t.signals), fmt::format("{}", t.suppressed),
                      t.last_fire_unix_ms > 0 ? clock_text(t.last_fire_unix_ms) : "-",
                      t.last_fire_unix_ms > 0 ? std::string(shm::padded_text(t.last_fire_symbol)) : "-"});
    print_table(rows, 1);
  }

  fmt::print("\nLATEST SIGNALS\n");
  if (s.recent_signals.empty()) fmt::print("  none since screenerd started\n");
  for (const std::string& line : s.recent_signals) fmt::print("  {}\n", line);
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  append_json_escaped(out, text);
  out += '"';
  return out;
}

std::string json_double(double value) { return std::isfinite(value) ? fmt::format("{}", value) : "null"; }

void print_json(const View& v) {
  std::string o = "{";
  o += fmt::format(
      R"("segment":{{"name":{},"writer_pid":{},"epoch":{},"writer":{},"intervals":{},"symbols_active":{},)"
      R"("symbols_complete":{},"rings_complete":{},"rings_total":{},"trader_table_generation":{},"traders":{}}})",
      json_string(v.segment), v.writer_pid, v.epoch, json_string(v.writer), v.intervals, v.symbols_active,
      v.symbols_complete, v.rings_complete, v.symbols_active * v.intervals, v.table_generation, v.table_traders);
  if (!v.status) {
    o += R"(,"status":{"available":false,"updated_unix_ms":null,"age_ms":null,"stale":true,"started_unix_ms":null})";
    o += R"(,"ingest":null,"signals":null,"reloads":null,"connections":[],"workers":[],"traders":[],"latest_signals":[]})";
    fmt::print("{}\n", o);
    return;
  }
  const shm::StatusSnapshot& s = *v.status;
  const shm::StatusHeader& h = s.header;
  const std::int64_t age_ms = v.now_ms - h.updated_unix_ms;
  o += fmt::format(R"(,"status":{{"available":true,"updated_unix_ms":{},"age_ms":{},"stale":{},"started_unix_ms":{}}})",
                   h.updated_unix_ms, age_ms, age_ms > kStaleAfterMs ? "true" : "false", h.started_unix_ms);
  std::string reasons;
  for (std::size_t r = 1; r < feed::kRejectReasonCount; ++r) {
    if (h.parse_errors_by_reason[r] == 0) continue;
    reasons += fmt::format("{}{}:{}", reasons.empty() ? "" : ",",
                           json_string(feed::to_string(static_cast<feed::RejectReason>(r))), h.parse_errors_by_reason[r]);
  }
  o += fmt::format(
      R"(,"ingest":{{"frames_total":{},"frames_kline":{},"frames_ticker":{},"frames_other":{},"frames_per_second":{},)"
      R"("frames_per_second_source":{},"parse_errors_total":{},"parse_errors_by_reason":{{{}}},"connects":{},)"
      R"("reconnects":{},"rotations":{},"closed_bars":{},"backfilled_bars":{},"gaps_detected":{},"rest_requests":{},)"
      R"("rest_429":{},"rest_418":{},"rest_weight_used":{},"rest_weight_limit":{}}})",
      h.frames_total, h.frames_kline, h.frames_ticker, h.frames_other, json_double(v.frames_per_second),
      v.rate_measured ? R"("watch")" : R"("daemon")", h.parse_errors_total, reasons, h.connects, h.reconnects,
      h.rotations, h.closed_bars, h.backfilled_bars, h.gaps_detected, h.rest_requests, h.rest_429, h.rest_418,
      h.rest_weight_used, h.rest_weight_limit);
  o += fmt::format(R"(,"signals":{{"written":{},"duplicates":{},"rejected":{},"write_errors":{}}})", h.signals_written,
                   h.signals_duplicates, h.signals_rejected, h.signal_write_errors);
  o += fmt::format(R"(,"reloads":{{"ok":{},"failed":{},"last_unix_ms":{},"last_ok":{},"last_error":{}}})", h.reloads_ok,
                   h.reloads_failed, h.last_reload_unix_ms, h.last_reload_ok ? "true" : "false",
                   json_string(shm::padded_text(h.last_reload_error)));
  o += R"(,"connections":[)";
  for (std::size_t i = 0; i < s.connections.size(); ++i) {
    const shm::ConnectionStatus& c = s.connections[i];
    o += fmt::format(R"({}{{"id":{},"streams":{},"open":{},"frames":{},"last_frame_unix_ms":{}}})", i ? "," : "", c.id,
                     c.streams, c.open ? "true" : "false", c.frames, c.last_frame_unix_ms);
  }
  o += R"(],"workers":[)";
  for (std::size_t i = 0; i < s.workers.size(); ++i) {
    const shm::WorkerStatus& w = s.workers[i];
    o += fmt::format(
        R"({}{{"index":{},"pid":{},"connected":{},"traders":{},"table_generation":{},"journal_lag":{},)"
        R"("evaluations":{},"signals":{},"suppressed":{},"eval_ns_total":{},"eval_ns_per_evaluation":{},)"
        R"("pending_signals":{},"last_heartbeat_unix_ms":{},"connected_since_unix_ms":{}}})",
        i ? "," : "", w.index, w.pid, w.connected ? "true" : "false", w.traders, w.table_generation, w.journal_lag,
        w.evaluations, w.signals, w.suppressed, w.eval_ns_total, json_double(eval_us_per_evaluation(w) * 1000.0),
        w.pending_signals, w.last_heartbeat_unix_ms, w.connected_since_unix_ms);
  }
  o += R"(],"traders":[)";
  for (std::size_t i = 0; i < s.traders.size(); ++i) {
    const shm::TraderStatus& t = s.traders[i];
    o += fmt::format(
        R"({}{{"name":{},"owner":{},"evaluations":{},"signals":{},"worker_signals":{},"suppressed":{},)"
        R"("last_fire_unix_ms":{},"last_fire_symbol":{}}})",
        i ? "," : "", json_string(shm::padded_text(t.name)),
        t.owner == shm::kUnassigned ? std::string("null") : fmt::format("{}", t.owner), t.evaluations, t.signals,
        t.worker_signals, t.suppressed, t.last_fire_unix_ms, json_string(shm::padded_text(t.last_fire_symbol)));
  }
  o += R"(],"latest_signals":[)";
  for (std::size_t i = 0; i < s.recent_signals.size(); ++i) o += (i ? "," : "") + json_string(s.recent_signals[i]);
  o += "]}";
  fmt::print("{}\n", o);
}

std::optional<Options> parse_options(std::span<const std::string_view> args) {
  Options options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--segment" && i + 1 < args.size()) {
      options.reader.name = std::string(args[++i]);
    } else if (args[i] == "--json") {
      options.json = true;
    } else if (args[i] == "--watch") {
      options.watch = true;
      if (i + 1 < args.size() && !args[i + 1].starts_with("--")) {
        const std::string_view value = args[++i];
        unsigned seconds = 0;
        const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seconds);
        if (error != std::errc{} || end != value.data() + value.size() || seconds < 1 || seconds > 3600) {
          fmt::print(stderr, "screenerctl status: --watch expects seconds from 1 to 3600, got '{}'\n", value);
          return std::nullopt;
        }
        options.interval_s = seconds;
      }
    } else {
      fmt::print(stderr,
                 "screenerctl status: unknown argument '{}'\n"
                 "usage: screenerctl status [--segment NAME] [--watch [SECONDS]] [--json]\n",
                 args[i]);
      return std::nullopt;
    }
  }
  return options;
}

/// Sleeps `seconds`, returning early when a stop signal arrives.
void sleep_unless_stopped(unsigned seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (!g_stop.load() && std::chrono::steady_clock::now() < until) {
    timespec slice{0, 100'000'000};
    nanosleep(&slice, nullptr);
  }
}

}  // namespace

int run_status(std::span<const std::string_view> args) {
  const auto options = parse_options(args);
  if (!options) return 2;
  if (!options->watch) {
    std::string error;
    const auto v = read_view(*options, error);
    if (!v) {
      fmt::print(stderr, "screenerctl status: {}\n", error);
      return 1;
    }
    options->json ? print_json(*v) : print_human(*v);
    return 0;
  }

  struct sigaction action{};
  action.sa_handler = on_stop_signal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  // The previous read: frames/s is the change of the frame count between two of them.
  std::optional<std::pair<std::uint64_t, std::int64_t>> previous;  // (frames, updated_unix_ms), same epoch
  std::uint64_t previous_epoch = 0;
  while (!g_stop.load()) {
    std::string error;
    auto v = read_view(*options, error);
    if (!options->json) fmt::print("\x1b[H\x1b[2J");
    if (!v) {
      if (options->json) {
        fmt::print("{{\"error\":{}}}\n", json_string(error));
      } else {
        fmt::print("screenerctl status: {} (retrying every {} s; Ctrl-C to stop)\n", error, options->interval_s);
      }
      previous.reset();
    } else {
      if (v->status) {
        const std::uint64_t frames = v->status->header.frames_total;
        const std::int64_t at = v->status->header.updated_unix_ms;
        if (previous && previous_epoch == v->epoch && at > previous->second && frames >= previous->first) {
          v->frames_per_second =
              static_cast<double>(frames - previous->first) * 1000.0 / static_cast<double>(at - previous->second);
          v->rate_measured = true;
        }
        if (!previous || at != previous->second) previous = std::make_pair(frames, at);
        previous_epoch = v->epoch;
      }
      options->json ? print_json(*v) : print_human(*v);
      if (!options->json) fmt::print("\nevery {} s; Ctrl-C to stop\n", options->interval_s);
    }
    std::fflush(stdout);
    sleep_unless_stopped(options->interval_s);
  }
  return 0;
}

}  // namespace screener::ctl
