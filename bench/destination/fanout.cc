// destination-fanout: how long a mesh file edit takes to reach 1,000 followers of
// lmesh-destination, and what the service's memory is meanwhile.
//
//   destination-fanout [path/to/lmesh-destination]   (default: next to this build)
//
// A mesh file of 1,000 services x 10 endpoints (10,000 endpoints) is generated, the service is
// started on it as a child (--reload-debounce 0, so the debounce is not measured), and
// 1,000 /v1/resolve watches are opened with api::Client over HTTP/2 (100 streams per
// connection: the server's SETTINGS_MAX_CONCURRENT_STREAMS). Then the file is rewritten
// (written aside, renamed into place) and the time from the rename to the last follower
// receiving its update is measured:
//   (a) one service changed, all 1,000 watches on it   (1,000 lines of add + remove)
//   (b) every service changed, one watch on each       (1,000 services diffed, same lines)
// Each three times. For comparison, in the same run, the service's own time to read, parse
// and check the file (destination_reload_duration_ms): the fan-out seen against the parse.
// Bounded: every wait gives up after 30 s.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "bench/destination/child_process.h"
#include "common/api/client.h"
#include "common/event/worker.h"

namespace {

using namespace std::chrono_literals;
using lmesh::api::Client;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr int kServices = 1000;
constexpr int kEndpointsPerService = 10;
constexpr int kFollowers = 1000;
constexpr int kStreamsPerConnection = 100;
constexpr int kRuns = 3;
constexpr auto kGiveUp = 30s;

std::string service_name(int s) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "svc-%04d.bench.svc.cluster.local:8080", s);
  return buf;
}

// Endpoint 0 of the services in `changed` moves to a port of generation `gen`; the rest stay.
std::string mesh_text(int gen, const std::function<bool(int)>& changed) {
  std::string out = "services:\n";
  out.reserve(1 << 20);
  char buf[160];
  for (int s = 0; s < kServices; ++s) {
    out += "  " + service_name(s) + ":\n    endpoints:\n";
    for (int e = 0; e < kEndpointsPerService; ++e) {
      int port = e == 0 && changed(s) ? 9000 + gen : 8080;
      std::snprintf(buf, sizeof buf, "      - {addr: 198.18.%d.%d:%d, labels: {pod: svc-%d-%d}}\n",
                    s / 25, 10 * (s % 25) + e, port, s, e);
      out += buf;
    }
  }
  return out;
}

void write_file(const std::string& path, const std::string& text) {
  std::string tmp = path + ".new";
  std::ofstream(tmp, std::ios::trunc) << text;
  fs::rename(tmp, path);
}

// Turns the loop until `done()` or `limit`; a ticking timer bounds each turn.
bool run_until(lmesh::event::Worker& w, const std::function<bool()>& done,
               std::chrono::milliseconds limit = kGiveUp) {
  auto deadline = Clock::now() + limit;
  uv_timer_t tick;
  uv_timer_init(w.loop(), &tick);
  uv_timer_start(
      &tick, [](uv_timer_t*) {}, 5, 5);
  while (!done() && Clock::now() < deadline) uv_run(w.loop(), UV_RUN_ONCE);
  uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
  uv_run(w.loop(), UV_RUN_NOWAIT);
  return done();
}

struct Follower {
  int lines = 0;
  Clock::time_point last_line{};
  std::unique_ptr<lmesh::api::Watch> watch;
};

class Bench {
 public:
  Bench(lmesh::event::Worker& w, lmesh::net::SocketAddress server) : w_(w), server_(server) {
    for (int i = 0; i < kFollowers / kStreamsPerConnection; ++i) {
      clients_.push_back(std::make_unique<Client>(w, server));
    }
    metrics_client_ = std::make_unique<Client>(w, server);
  }
  ~Bench() {
    followers_.clear();
    clients_.clear();
    metrics_client_.reset();
    run_until(
        w_, [] { return false; }, 50ms);  // let the connections close
  }

  // Opens one watch per name; true once each has its first line.
  bool follow(const std::vector<std::string>& names) {
    followers_.clear();
    followers_.resize(names.size());
    for (size_t i = 0; i < names.size(); ++i) {
      Follower& f = followers_[i];
      lmesh::api::WatchCallbacks cb;
      cb.on_open = [](int status) { return status == 200; };
      cb.on_line = [&f](std::string_view) {
        ++f.lines;
        f.last_line = Clock::now();
      };
      f.watch = clients_[i / kStreamsPerConnection]->watch("/v1/resolve?authority=" + names[i],
                                                           std::move(cb));
    }
    return run_until(w_, [&] { return all_have(1); });
  }
  void unfollow() {
    followers_.clear();
    run_until(
        w_, [&] { return metric("destination_subscribers{kind=\"resolve\"}") == 0; }, 5s);
  }
  bool all_have(int lines) const {
    return std::all_of(followers_.begin(), followers_.end(),
                       [lines](const Follower& f) { return f.lines >= lines; });
  }
  // From `t0` to the first and to the last follower's latest line.
  std::pair<double, double> spread(Clock::time_point t0) const {
    Clock::time_point first = Clock::time_point::max(), last{};
    for (const Follower& f : followers_) {
      first = std::min(first, f.last_line);
      last = std::max(last, f.last_line);
    }
    auto ms = [t0](Clock::time_point t) {
      return std::chrono::duration<double, std::milli>(t - t0).count();
    };
    return {ms(first), ms(last)};
  }
  int lines_now() const { return followers_.empty() ? 0 : followers_.front().lines; }

  // One sample of /metrics, by its full name with labels; -1 when absent.
  double metric(const std::string& series) {
    std::string body;
    bool done = false;
    auto call = metrics_client_->request("GET", "/metrics", "", [&](auto r) {
      if (r) body = std::move(r->body);
      done = true;
    });
    run_until(
        w_, [&] { return done; }, 5s);
    size_t at = body.find("\n" + series + " ");
    return at == std::string::npos ? -1 : std::stod(body.substr(at + series.size() + 2));
  }

 private:
  lmesh::event::Worker& w_;
  lmesh::net::SocketAddress server_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::unique_ptr<Client> metrics_client_;
  std::vector<Follower> followers_;
};

struct Run {
  double first_ms = 0;
  double last_ms = 0;
  double parse_ms = 0;
};

// Rewrites the file with generation `gen` and waits for every follower to have `lines` lines.
std::optional<Run> edit_and_wait(Bench& b, const std::string& path, int gen,
                                 const std::function<bool(int)>& changed, int lines,
                                 lmesh::event::Worker& w) {
  double sum0 = b.metric("destination_reload_duration_ms_sum");
  double count0 = b.metric("destination_reload_duration_ms_count");
  std::string text = mesh_text(gen, changed);
  write_file(path, text);
  Clock::time_point t0 = Clock::now();
  if (!run_until(w, [&] { return b.all_have(lines); })) return std::nullopt;
  Run r;
  std::tie(r.first_ms, r.last_ms) = b.spread(t0);
  run_until(
      w, [&] { return b.metric("destination_reload_duration_ms_count") > count0; }, 5s);
  double count1 = b.metric("destination_reload_duration_ms_count");
  r.parse_ms =
      (b.metric("destination_reload_duration_ms_sum") - sum0) / std::max(1.0, count1 - count0);
  return r;
}

void print_row(const char* scenario, int run, const Run& r) {
  std::printf("%-44s %3d %14.1f %14.1f %12.1f %10.1fx\n", scenario, run, r.first_ms, r.last_ms,
              r.parse_ms, r.parse_ms > 0 ? r.last_ms / r.parse_ms : 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  fs::path self = fs::read_symlink("/proc/self/exe");
  std::string binary =
      argc > 1 ? argv[1]
               : (self.parent_path().parent_path() / "src/destination/lmesh-destination").string();
  if (!fs::exists(binary)) {
    std::fprintf(stderr, "lmesh-destination not found at %s (give its path)\n", binary.c_str());
    return 2;
  }
  char dir_template[] = "/tmp/lmesh-fanout-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) return 2;
  std::string dir = dir_template;
  std::string path = dir + "/mesh.yaml";
  int gen = 0;
  std::string text = mesh_text(gen, [](int) { return false; });
  write_file(path, text);

  int rc = 1;
  lmesh::bench::ChildProcess service(
      {binary, "--mesh-file", path, "--listen", "127.0.0.1:0", "--reload-debounce", "0"},
      dir + "/destination.log");
  auto port = service.wait_listening(10s);
  if (!port) {
    std::fprintf(stderr, "lmesh-destination did not start:\n%s\n", service.log().c_str());
    return 1;
  }
  std::printf(
      "lmesh-destination fan-out: %d services x %d endpoints = %d endpoints, mesh file %zu KiB\n",
      kServices, kEndpointsPerService, kServices * kEndpointsPerService, text.size() >> 10);
  std::printf(
      "service: %s (pid %d, --reload-debounce 0); followers: api::Client, HTTP/2, %d "
      "connections\n\n",
      binary.c_str(), service.pid(), kFollowers / kStreamsPerConnection);
  long rss_idle = service.rss_kib();
  {
    lmesh::event::Worker w(0);
    {
      Bench b(w, lmesh::net::SocketAddress::loopback_v4(*port));
      std::printf("%-44s %3s %14s %14s %12s %11s\n", "scenario", "run", "write->first ms",
                  "write->last ms", "parse ms", "last/parse");
      bool ok = true;
      long rss_followed = 0, rss_after_a = 0, rss_after_b = 0, rss_settled_a = 0, rss_settled_b = 0;

      std::vector<std::string> same(kFollowers, service_name(0));
      ok = ok && b.follow(same);
      rss_followed = service.rss_kib();
      for (int run = 1; ok && run <= kRuns; ++run) {
        int want = b.lines_now() + 2;  // add + remove
        auto r = edit_and_wait(
            b, path, ++gen, [](int s) { return s == 0; }, want, w);
        if (!r) {
          ok = false;
          break;
        }
        print_row("(a) 1 service changed, 1000 followers of it", run, *r);
      }
      rss_after_a = service.rss_kib();
      run_until(
          w, [] { return false; }, 1s);  // the service trims its heap 0.5 s after a reload
      rss_settled_a = service.rss_kib();
      b.unfollow();

      std::vector<std::string> each;
      for (int s = 0; s < kServices; ++s) each.push_back(service_name(s));
      ok = ok && b.follow(each);
      for (int run = 1; ok && run <= kRuns; ++run) {
        int want = b.lines_now() + 2;
        auto r = edit_and_wait(
            b, path, ++gen, [](int) { return true; }, want, w);
        if (!r) {
          ok = false;
          break;
        }
        print_row("(b) 1000 services changed, 1 follower each", run, *r);
      }
      rss_after_b = service.rss_kib();
      run_until(
          w, [] { return false; }, 1s);
      rss_settled_b = service.rss_kib();
      if (!ok) {
        std::fprintf(stderr, "gave up: a wait exceeded %llds\n%s\n",
                     static_cast<long long>(kGiveUp.count()), service.log().c_str());
      } else {
        auto mib = [](long kib) { return kib / 1024.0; };
        std::printf(
            "\nRSS of lmesh-destination (VmRSS, MiB): idle with 10,000 endpoints %.1f; "
            "1,000 followers %.1f;\n  right after (a) %.1f, 1 s later %.1f; right after "
            "(b) %.1f, 1 s later %.1f\n",
            mib(rss_idle), mib(rss_followed), mib(rss_after_a), mib(rss_settled_a),
            mib(rss_after_b), mib(rss_settled_b));
        rc = 0;
      }
    }
    w.stop();
    w.run();
  }
  service.stop();
  fs::remove_all(dir);
  return rc;
}
