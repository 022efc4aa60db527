// openloop: a small open-loop HTTP/1.1 latency generator.
//
// Why not an existing tool: `h2load -r` sets a *connection* rate, `hey` rounds latencies to
// 100 µs, and wrk measures from the actual send time, so a stall hides the requests that
// should have been sent during it (coordinated omission). Here request i has an intended
// send time t0 + i/rate fixed before the run starts, and its latency is measured from that
// time, whether it went out on time, late (the loop was busy) or queued (no free connection).
//
// One thread, epoll, keep-alive connections with at most one request outstanding each (no
// pipelining, so a slow response delays only its own request). Timestamps come from
// CLOCK_MONOTONIC (ns); epoll_pwait2 waits with ns precision until the next intended send.
//
//   openloop --target 127.0.0.1:8080 [--path /] [--host H] [--rate 2000] [--duration 10s]
//            [--warmup 1s] [--connections 16] [--drain 2s] [--spin 200us]
//
// Timer wake-ups on a VM arrive 20–40 µs late (measured here: a 500 µs clock_nanosleep
// overshoots by 38 µs median, 72 µs p99, with a tail past 150 µs), which would add that much
// jitter to every sample. So the loop sleeps until `--spin` before the next intended send and
// busy-polls (sched_yield + epoll with a zero timeout) from there: sends leave within ~1 µs
// of their intended time. Measured send lag p99 on this machine: 106 µs without spinning,
// 47–51 µs with 100 µs, 3–19 µs with 200 µs. The cost is spin × rate of CPU, yielded to
// anything else runnable (200 µs × 2000/s = 40 % of a core). `--spin 0` turns it off; the
// JSON's send_lag_us shows how late sends actually were (queued requests included).
//
// Prints one JSON object (latencies in µs) on stdout; diagnostics go to stderr.
// Exit status: 0 when the run completed (errors are counted, not fatal), 2 on bad usage,
// 1 when the target could not be reached at all.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Nanos = int64_t;

Nanos now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return Nanos{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "openloop: %s\nusage: openloop --target IP:PORT [--path /] [--host H] [--rate N] "
               "[--duration 10s] [--warmup 1s] [--connections 16] [--drain 2s] [--spin 200us]\n",
               msg);
  std::exit(2);
}

// "10s", "500ms", "2" (seconds) → ns.
std::optional<Nanos> parse_duration(std::string_view s) {
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || value < 0) return std::nullopt;
  std::string_view unit(end, static_cast<size_t>(s.data() + s.size() - end));
  double scale = 1e9;
  if (unit == "ms")
    scale = 1e6;
  else if (unit == "us")
    scale = 1e3;
  else if (unit == "m")
    scale = 60e9;
  else if (!unit.empty() && unit != "s")
    return std::nullopt;
  return static_cast<Nanos>(value * scale);
}

struct Options {
  sockaddr_in target{};
  std::string target_text;
  std::string path = "/";
  std::string host;
  double rate = 2000;
  Nanos duration = 10'000'000'000;
  Nanos warmup = 1'000'000'000;
  Nanos drain = 2'000'000'000;
  int connections = 16;
  Nanos spin = 200'000;  // busy-poll this long before each intended send (see top)
};

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (i + 1 >= argc) usage("missing value after a flag");
    std::string_view v = argv[++i];
    if (flag == "--target") {
      auto colon = v.rfind(':');
      if (colon == std::string_view::npos) usage("--target wants IP:PORT");
      std::string ip(v.substr(0, colon));
      int port = std::atoi(std::string(v.substr(colon + 1)).c_str());
      o.target.sin_family = AF_INET;
      o.target.sin_port = htons(static_cast<uint16_t>(port));
      if (port <= 0 || port > 65535 || inet_pton(AF_INET, ip.c_str(), &o.target.sin_addr) != 1)
        usage("--target wants an IPv4 IP:PORT");
      o.target_text = v;
    } else if (flag == "--path") {
      o.path = v;
    } else if (flag == "--host") {
      o.host = v;
    } else if (flag == "--rate") {
      o.rate = std::atof(std::string(v).c_str());
      if (!(o.rate > 0)) usage("--rate must be > 0");
    } else if (flag == "--connections") {
      o.connections = std::atoi(std::string(v).c_str());
      if (o.connections < 1 || o.connections > 10000) usage("--connections must be 1..10000");
    } else if (flag == "--duration" || flag == "--warmup" || flag == "--drain" ||
               flag == "--spin") {
      auto d = parse_duration(v);
      if (!d) usage("bad duration (use e.g. 10s, 500ms, 100us)");
      (flag == "--duration" ? o.duration
       : flag == "--warmup" ? o.warmup
       : flag == "--drain"  ? o.drain
                            : o.spin) = *d;
    } else {
      usage("unknown flag");
    }
  }
  if (o.target_text.empty()) usage("--target is required");
  if (o.host.empty()) o.host = o.target_text;
  return o;
}

enum class ConnState { Connecting, Idle, Busy };

struct Conn {
  int fd = -1;
  ConnState state = ConnState::Connecting;
  Nanos intended = 0;     // intended send time of the outstanding request
  bool recorded = false;  // outstanding request falls after the warm-up
  size_t write_off = 0;   // bytes of the request already written (partial writes)
  std::string in;         // bytes of the current response received so far
  size_t head_len = 0;    // 0 until the response head is complete
  size_t body_len = 0;
  int status = 0;
  bool close_after = false;
  uint32_t events = 0;  // what epoll watches for this fd now
};

struct Stats {
  std::vector<Nanos> latency;   // recorded (post-warm-up) successful responses
  std::vector<Nanos> send_lag;  // actual send − intended send, all requests
  uint64_t sent = 0;
  uint64_t ok = 0;
  uint64_t non_2xx = 0;
  uint64_t conn_errors = 0;  // connection failed/closed with a request outstanding
  uint64_t timeouts = 0;     // still outstanding when the drain period ended
  uint64_t queued = 0;       // requests that found no free connection at their intended time
  uint64_t reconnects = 0;
};

class Generator {
 public:
  explicit Generator(const Options& o) : opt_(o) {
    request_ =
        "GET " + o.path + " HTTP/1.1\r\nHost: " + o.host + "\r\nUser-Agent: openloop\r\n\r\n";
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    conns_.resize(static_cast<size_t>(o.connections));
  }

  bool connect_all() {
    for (size_t i = 0; i < conns_.size(); ++i) open_conn(i);
    Nanos deadline = now_ns() + 5'000'000'000;
    while (now_ns() < deadline) {
      if (std::all_of(conns_.begin(), conns_.end(),
                      [](const Conn& c) { return c.state == ConnState::Idle; }))
        return true;
      poll_once(100'000'000);
    }
    return false;
  }

  void run() {
    const double period = 1e9 / opt_.rate;
    const auto total = static_cast<uint64_t>(
        std::llround(static_cast<double>(opt_.warmup + opt_.duration) / period));
    stats_.latency.reserve(static_cast<size_t>(static_cast<double>(opt_.duration) / period) + 16);
    stats_.send_lag.reserve(total + 16);
    free_.clear();
    for (size_t i = 0; i < conns_.size(); ++i)
      if (conns_[i].state == ConnState::Idle) free_.push_back(i);
    t0_ = now_ns() + 1'000'000;  // first send 1 ms from now
    record_from_ = t0_ + opt_.warmup;
    uint64_t next = 0;
    Nanos drain_deadline = 0;
    for (;;) {
      Nanos now = now_ns();
      while (next < total) {
        Nanos intended = t0_ + static_cast<Nanos>(static_cast<double>(next) * period);
        if (intended > now) break;
        dispatch(intended);
        ++next;
      }
      if (next >= total) {
        if (drain_deadline == 0) drain_deadline = now + opt_.drain;
        if (busy_ == 0 && backlog_.empty()) break;
        if (now >= drain_deadline) {
          // Still unanswered: count them as errors, and keep them in the latency samples
          // with the time waited so far (a lower bound), so a proxy that stalls some
          // requests cannot look faster than one that answers them late.
          stats_.timeouts += busy_ + backlog_.size();
          for (const Conn& c : conns_)
            if (c.state == ConnState::Busy && c.recorded)
              stats_.latency.push_back(now - c.intended);
          for (Nanos intended : backlog_)
            if (intended >= record_from_) stats_.latency.push_back(now - intended);
          break;
        }
      }
      Nanos wake = next < total
                       ? t0_ + static_cast<Nanos>(static_cast<double>(next) * period) - opt_.spin
                       : drain_deadline;
      if (wake > now) {
        poll_once(wake - now);
      } else {
        // Spinning: let the upstream or proxy sharing this core (same real-time priority)
        // run, or our own spin would delay the responses we are timing.
        sched_yield();
        poll_once(0);
      }
    }
    end_ = now_ns();
  }

  void report() const {
    auto lat = stats_.latency;
    auto lag = stats_.send_lag;
    std::sort(lat.begin(), lat.end());
    std::sort(lag.begin(), lag.end());
    // Nearest-rank percentile, in µs with ns precision.
    auto pct = [](const std::vector<Nanos>& v, double p) {
      if (v.empty()) return 0.0;
      auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
      return static_cast<double>(v[std::clamp<size_t>(rank, 1, v.size()) - 1]) / 1e3;
    };
    double mean = 0;
    for (Nanos x : lat) mean += static_cast<double>(x);
    if (!lat.empty()) mean /= static_cast<double>(lat.size()) * 1e3;
    const uint64_t errors = stats_.non_2xx + stats_.conn_errors + stats_.timeouts;
    const double secs = static_cast<double>(end_ - t0_) / 1e9;
    std::printf(
        "{\"target\":\"%s\",\"rate\":%.3f,\"duration_s\":%.3f,\"warmup_s\":%.3f,"
        "\"connections\":%d,\"sent\":%llu,\"ok\":%llu,\"count\":%zu,\"errors\":%llu,"
        "\"non_2xx\":%llu,\"conn_errors\":%llu,\"timeouts\":%llu,\"queued\":%llu,"
        "\"reconnects\":%llu,\"achieved_rps\":%.1f,"
        "\"latency_us\":{\"min\":%.1f,\"mean\":%.1f,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,"
        "\"p999\":%.1f,\"max\":%.1f},"
        "\"send_lag_us\":{\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f}}\n",
        opt_.target_text.c_str(), opt_.rate, static_cast<double>(opt_.duration) / 1e9,
        static_cast<double>(opt_.warmup) / 1e9, opt_.connections,
        static_cast<unsigned long long>(stats_.sent), static_cast<unsigned long long>(stats_.ok),
        lat.size(), static_cast<unsigned long long>(errors),
        static_cast<unsigned long long>(stats_.non_2xx),
        static_cast<unsigned long long>(stats_.conn_errors),
        static_cast<unsigned long long>(stats_.timeouts),
        static_cast<unsigned long long>(stats_.queued),
        static_cast<unsigned long long>(stats_.reconnects),
        secs > 0 ? static_cast<double>(stats_.ok) / secs : 0.0, pct(lat, 0), mean, pct(lat, 50),
        pct(lat, 90), pct(lat, 99), pct(lat, 99.9), pct(lat, 100), pct(lag, 50), pct(lag, 99),
        pct(lag, 100));
  }

 private:
  // Sends the request intended at `intended` on a free connection, or queues it.
  void dispatch(Nanos intended) {
    if (free_.empty()) {
      ++stats_.queued;
      backlog_.push_back(intended);
      return;
    }
    size_t i = free_.front();
    free_.pop_front();
    send_on(i, intended);
  }

  void send_on(size_t i, Nanos intended) {
    Conn& c = conns_[i];
    c.state = ConnState::Busy;
    c.intended = intended;
    c.recorded = intended >= record_from_;
    c.write_off = 0;
    c.in.clear();
    c.head_len = c.body_len = 0;
    c.status = 0;
    c.close_after = false;
    ++busy_;
    ++stats_.sent;
    stats_.send_lag.push_back(now_ns() - intended);
    flush(i);
  }

  void flush(size_t i) {
    Conn& c = conns_[i];
    while (c.write_off < request_.size()) {
      ssize_t n =
          ::send(c.fd, request_.data() + c.write_off, request_.size() - c.write_off, MSG_NOSIGNAL);
      if (n > 0) {
        c.write_off += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && errno == EAGAIN) {
        watch(i, EPOLLIN | EPOLLOUT);
        return;
      } else {
        fail(i);
        return;
      }
    }
    watch(i, EPOLLIN);
  }

  void open_conn(size_t i) {
    Conn& c = conns_[i];
    c = Conn{};
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&opt_.target), sizeof opt_.target);
    c.state = ConnState::Connecting;
    if (rc < 0 && errno != EINPROGRESS) {
      std::fprintf(stderr, "openloop: connect %s: %s\n", opt_.target_text.c_str(),
                   std::strerror(errno));
    }
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev);
    c.events = ev.events;
  }

  void watch(size_t i, uint32_t events) {
    Conn& c = conns_[i];
    if (c.events == events) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = i;
    epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
    c.events = events;
  }

  // The connection broke: count its request, reconnect after a short pause (the
  // pause keeps a refusing target from turning this into a busy loop).
  void fail(size_t i) {
    Conn& c = conns_[i];
    if (c.state == ConnState::Busy) {
      ++stats_.conn_errors;
      --busy_;
    } else if (c.state == ConnState::Idle) {
      std::erase(free_, i);
    }
    reconnect(i);
  }

  void reconnect(size_t i) {
    Conn& c = conns_[i];
    epoll_ctl(epfd_, EPOLL_CTL_DEL, c.fd, nullptr);
    ::close(c.fd);
    ++stats_.reconnects;
    if (stats_.reconnects > 100 && stats_.ok == 0) {
      std::fprintf(stderr, "openloop: %s: no successful response after %llu connections\n",
                   opt_.target_text.c_str(), static_cast<unsigned long long>(stats_.reconnects));
      std::exit(1);
    }
    open_conn(i);
  }

  void became_idle(size_t i) {
    Conn& c = conns_[i];
    c.state = ConnState::Idle;
    watch(i, EPOLLIN);
    if (!backlog_.empty()) {
      Nanos intended = backlog_.front();
      backlog_.pop_front();
      send_on(i, intended);
    } else {
      free_.push_back(i);
    }
  }

  void poll_once(Nanos timeout) {
    epoll_event events[64];
    timespec ts{static_cast<time_t>(timeout / 1'000'000'000),
                static_cast<long>(timeout % 1'000'000'000)};
    int n = epoll_pwait2(epfd_, events, 64, &ts, nullptr);
    for (int k = 0; k < n; ++k) {
      size_t i = events[k].data.u64;
      Conn& c = conns_[i];
      if (c.state == ConnState::Connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || (events[k].events & (EPOLLERR | EPOLLHUP))) {
          usleep(10'000);
          reconnect(i);
          continue;
        }
        became_idle(i);
        continue;
      }
      if ((events[k].events & EPOLLOUT) && c.state == ConnState::Busy) flush(i);
      if (events[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(i);
    }
  }

  void on_readable(size_t i) {
    Conn& c = conns_[i];
    char buf[16384];
    for (;;) {
      ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        if (c.state != ConnState::Busy) {  // bytes nobody asked for
          fail(i);
          return;
        }
        c.in.append(buf, static_cast<size_t>(n));
        if (static_cast<size_t>(n) < sizeof buf) break;
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && errno == EAGAIN) {
        break;
      } else {  // EOF or error
        fail(i);
        return;
      }
    }
    if (c.state == ConnState::Busy) parse(i);
  }

  // Finds the end of the response: head up to CRLFCRLF, then Content-Length bytes.
  void parse(size_t i) {
    Conn& c = conns_[i];
    if (c.head_len == 0) {
      auto end = c.in.find("\r\n\r\n");
      if (end == std::string::npos) return;
      c.head_len = end + 4;
      std::string_view head(c.in.data(), end + 2);
      if (head.size() < 12 || head.substr(0, 5) != "HTTP/") {
        fail(i);
        return;
      }
      c.status = std::atoi(std::string(head.substr(9, 3)).c_str());
      bool have_length = false;
      size_t pos = head.find("\r\n");
      while (pos != std::string_view::npos && pos + 2 < head.size()) {
        size_t eol = head.find("\r\n", pos + 2);
        std::string_view line = head.substr(pos + 2, eol - pos - 2);
        pos = eol;
        auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string name(line.substr(0, colon));
        for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
          value.remove_prefix(1);
        if (name == "content-length") {
          c.body_len = std::strtoull(std::string(value).c_str(), nullptr, 10);
          have_length = true;
        } else if (name == "connection" &&
                   (value.starts_with("close") || value.starts_with("Close"))) {
          c.close_after = true;
        } else if (name == "transfer-encoding") {
          std::fprintf(stderr, "openloop: chunked responses are not supported\n");
          fail(i);
          return;
        }
      }
      if (!have_length && c.status != 204 && c.status != 304) {
        std::fprintf(stderr, "openloop: response without Content-Length\n");
        fail(i);
        return;
      }
    }
    if (c.in.size() < c.head_len + c.body_len) return;
    Nanos done = now_ns();
    --busy_;
    if (c.status >= 200 && c.status < 300) {
      ++stats_.ok;
      if (c.recorded) stats_.latency.push_back(done - c.intended);
    } else {
      ++stats_.non_2xx;
    }
    if (c.close_after || c.in.size() > c.head_len + c.body_len) {
      c.state = ConnState::Connecting;  // not Busy any more: reconnect without counting
      reconnect(i);
      return;
    }
    became_idle(i);
  }

  Options opt_;
  std::string request_;
  int epfd_ = -1;
  std::vector<Conn> conns_;
  std::deque<size_t> free_;    // idle connections, oldest first (spreads requests)
  std::deque<Nanos> backlog_;  // intended times of queued requests
  size_t busy_ = 0;
  Nanos t0_ = 0, record_from_ = 0, end_ = 0;
  Stats stats_;
};

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse_args(argc, argv);
  prctl(PR_SET_TIMERSLACK, 1UL);  // wake at the intended send time, not up to 50 µs later
  Generator gen(opt);
  if (!gen.connect_all()) {
    std::fprintf(stderr, "openloop: could not open %d connections to %s\n", opt.connections,
                 opt.target_text.c_str());
    return 1;
  }
  gen.run();
  gen.report();
  return 0;
}
