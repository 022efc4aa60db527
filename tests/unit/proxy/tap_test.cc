// The proxy tap's pure parts: the filter (parsing and matching), a subscription's rate limit,
// queue and slow-reader drops, and who may tap (loopback, or the tap service's identity).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "common/event/worker.h"
#include "proxy/tap/tap_access.h"
#include "proxy/tap/tap_filter.h"
#include "proxy/tap/tap_hub.h"
#include "proxy/tap/tap_subscription.h"

using namespace lmesh;
using namespace lmesh::proxy;

namespace {

// A stream that records what it was sent and reports the backlog the test sets.
class RecordingResponse : public api::Response {
 public:
  void send(int status, std::string_view, std::string body) override {
    status_ = status;
    body_ = std::move(body);
  }
  void begin_stream(int status, std::string_view) override { status_ = status; }
  void send_line(std::string line) override { lines_.push_back(std::move(line)); }
  void end_stream() override { ended_ = true; }
  bool open() const override { return !ended_; }
  size_t backlog() const override { return backlog_; }

  // A send may carry a batch of lines.
  std::vector<nlohmann::json> events() const {
    std::vector<nlohmann::json> out;
    for (std::string_view batch : lines_) {
      while (!batch.empty()) {
        size_t end = batch.find('\n');
        out.push_back(nlohmann::json::parse(batch.substr(0, end)));
        batch.remove_prefix(end == std::string_view::npos ? batch.size() : end + 1);
      }
    }
    return out;
  }
  uint64_t dropped() const {
    uint64_t n = 0;
    for (const auto& e : events())
      if (e["kind"] == "dropped") n += e["count"].get<uint64_t>();
    return n;
  }

  int status_ = 0;
  std::string body_;
  std::vector<std::string> lines_;
  size_t backlog_ = 0;
  bool ended_ = false;
};

net::SocketAddress addr(const char* text) {
  return *net::SocketAddress::parse(text);
}

TapFilter filter(api::QueryParams query, std::string_view body = {}) {
  auto f = parse_tap_filter(query, body);
  REQUIRE(f);
  return *f;
}

std::string parse_error(api::QueryParams query, std::string_view body = {}) {
  auto f = parse_tap_filter(query, body);
  REQUIRE_FALSE(f);
  return f.error().message();
}

// Ends the test's loop: run() returns once every handle is closed.
void finish(event::Worker& w) {
  w.stop();
  w.run();
}

}  // namespace

TEST_CASE("a tap filter parses every key and refuses the rest naming them") {
  TapFilter f = filter({{"direction", "inbound"},
                        {"authority", "Web.Default:8080"},
                        {"path_prefix", "/books"},
                        {"method", "GET"},
                        {"source", "127.0.0.1, 10.0.0.1:80"},
                        {"destination", "::1"},
                        {"client_id", "a.ns.serviceaccount.identity.lmesh.cluster.local"},
                        {"max_rps", "2.5"},
                        {"headers", "X-Trace,content-type"}});
  CHECK(f.direction == Direction::kInbound);
  CHECK(f.authority == "web.default:8080");
  CHECK(f.path_prefix == "/books");
  REQUIRE(f.sources.size() == 2);
  CHECK(f.sources[0].ip == "127.0.0.1");
  CHECK_FALSE(f.sources[0].port);
  CHECK(f.sources[1].port == 80);
  REQUIRE(f.destinations.size() == 1);
  CHECK(f.destinations[0].ip == "::1");
  CHECK(f.max_rps == 2.5);
  // The defaults stay, the asked-for ones are added once, lowercased.
  CHECK(f.headers == std::vector<std::string>{"content-type", "user-agent", "x-request-id",
                                              "grpc-status", "x-trace"});

  CHECK(parse_error({{"direction", "up"}}) == "direction: must be inbound or outbound");
  CHECK(parse_error({{"max_rps", "0"}}) == "max_rps: must be a number from 0.1 to 100000");
  CHECK(parse_error({{"max_rps", "1e9"}}) == "max_rps: must be a number from 0.1 to 100000");
  CHECK(parse_error({{"max_rps", "nan"}}) == "max_rps: must be a number from 0.1 to 100000");
  CHECK(parse_error({{"path_prefix", "x"}}) == "path_prefix: must start with /");
  CHECK(parse_error({{"source", "web:80"}}).starts_with("source: not an IP or IP:port"));
  CHECK(parse_error({{"bogus", "1"}}) == "unknown filter key: bogus");
  CHECK(parse_error({}, "[1]") == "the body must be a JSON object");
  CHECK(parse_error({}, "{\"method\":{}}") == "method: must be a string");
  CHECK(parse_error({}, "{\"source\":[1]}") == "source: must be a list of strings");
}

TEST_CASE("a JSON body gives the same filter and wins over the query") {
  TapFilter f = filter({{"method", "POST"}},
                       R"({"method":"GET","max_rps":7,"destination":["10.0.0.1:80","10.0.0.2"]})");
  CHECK(f.method == "GET");
  CHECK(f.max_rps == 7);
  REQUIRE(f.destinations.size() == 2);
  CHECK(f.destinations[1].ip == "10.0.0.2");
}

TEST_CASE("a tap filter matches only what it names") {
  net::SocketAddress client = addr("127.0.0.1:5000");
  net::SocketAddress endpoint = addr("10.0.0.1:8080");
  TapRequestView r{Direction::kOutbound,
                   "web.default:8080",
                   "/books/1",
                   "GET",
                   &client,
                   &endpoint,
                   "",
                   "web.ns.serviceaccount.identity.lmesh.cluster.local"};
  CHECK(filter({}).matches(r));
  CHECK(filter({{"direction", "outbound"}}).matches(r));
  CHECK_FALSE(filter({{"direction", "inbound"}}).matches(r));
  CHECK(filter({{"authority", "WEB.default"}}).matches(r));  // a host alone: any port
  CHECK(filter({{"authority", "web.default:8080"}}).matches(r));
  CHECK_FALSE(filter({{"authority", "web.default:80"}}).matches(r));
  CHECK_FALSE(filter({{"authority", "web"}}).matches(r));
  CHECK(filter({{"path_prefix", "/books"}}).matches(r));
  CHECK_FALSE(filter({{"path_prefix", "/book/"}}).matches(r));
  CHECK_FALSE(filter({{"method", "get"}}).matches(r));  // methods are case-sensitive
  CHECK(filter({{"source", "127.0.0.1"}}).matches(r));
  CHECK(filter({{"source", "10.9.9.9,127.0.0.1:5000"}}).matches(r));
  CHECK_FALSE(filter({{"source", "127.0.0.1:5001"}}).matches(r));
  CHECK(filter({{"destination", "10.0.0.1"}}).matches(r));
  CHECK_FALSE(filter({{"destination", "10.0.0.2"}}).matches(r));
  CHECK(filter({{"server_id", "web.ns.serviceaccount.identity.lmesh.cluster.local"}}).matches(r));
  CHECK_FALSE(
      filter({{"client_id", "web.ns.serviceaccount.identity.lmesh.cluster.local"}}).matches(r));

  // Before an endpoint is picked, only the head is judged; the destination waits.
  TapRequestView head = r;
  head.destination = nullptr;
  head.server_id = {};
  CHECK(filter({{"destination", "10.0.0.1"}}).may_match(head));
  CHECK_FALSE(filter({{"destination", "10.0.0.1"}}).matches(head));
  CHECK_FALSE(filter({{"method", "POST"}}).may_match(head));
}

TEST_CASE("a subscription admits max_rps requests per second, split between the workers") {
  event::Worker control(0);
  auto stream = std::make_shared<RecordingResponse>();
  auto stats = std::make_shared<TapStats>();
  auto sub =
      std::make_shared<TapSubscription>(control, 2, filter({{"max_rps", "10"}}), stream, stats);
  // Each of the two workers may take 5 a second, at once.
  auto take = [&](size_t worker, uint64_t now, int tries) {
    int admitted = 0;
    for (int i = 0; i < tries; ++i) {
      if (sub->has_budget(worker, now) && sub->admit(worker)) ++admitted;
    }
    return admitted;
  };
  uint64_t t = 1'000'000'000;
  CHECK(take(0, t, 20) == 5);
  CHECK(take(1, t, 20) == 5);
  // Half a second later, half a second's worth more each.
  CHECK(take(0, t + 500'000'000, 20) == 2);
  // A bucket never holds more than a second's worth.
  CHECK(take(1, t + 60'000'000'000, 20) == 5);
  sub->flush();
  auto events = stream->events();
  REQUIRE(events.size() == 1);
  CHECK(events[0]["kind"] == "dropped");
  CHECK(events[0]["count"] == 15 + 15 + 18 + 15);
  CHECK(events[0]["rate_limited"] == 63);
  CHECK(stats->rate_limited == 63);
  sub->close();
  finish(control);
}

TEST_CASE("a subscription drops instead of buffering for a slow reader") {
  event::Worker control(0);
  auto stream = std::make_shared<RecordingResponse>();
  auto stats = std::make_shared<TapStats>();
  TapLimits limits{.queue_bytes = 1000, .backlog_bytes = 100};
  auto sub = std::make_shared<TapSubscription>(control, 1, filter({{"max_rps", "100000"}}), stream,
                                               stats, limits);
  std::string line(100, 'x');
  line = "{\"kind\":\"x\",\"pad\":\"" + line + "\"}";
  // The queue holds what fits in its bytes; the rest is counted.
  for (int i = 0; i < 20; ++i) sub->push(line);
  CHECK(sub->has_budget(0, 1));
  CHECK_FALSE(sub->admit(0));  // over half full: no new request is admitted
  sub->flush();
  size_t queued = 1000 / line.size();
  CHECK(stream->lines_.size() == 2);  // one write for the batch, one for the dropped report
  CHECK(stream->events().size() == queued + 1);
  CHECK(stream->dropped() == 20 - queued + 1);
  CHECK(stats->events == queued);

  // A reader that stopped reading: what is queued is dropped at flush, and reported.
  stream->lines_.clear();
  stream->backlog_ = 101;
  for (int i = 0; i < 3; ++i) sub->push(line);
  sub->flush();
  REQUIRE(stream->lines_.size() == 1);
  CHECK(stream->dropped() == 3);

  // Closed: the stream ends and later pushes vanish.
  sub->close();
  CHECK(stream->ended_);
  sub->push(line);
  sub->flush();
  CHECK(stream->lines_.size() == 1);
  finish(control);
}

TEST_CASE("the hub refuses taps from off the host and bad filters, and publishes the open ones") {
  event::Worker control(0);
  std::vector<size_t> published;
  TapHub hub(control, 2, [&](std::shared_ptr<const WorkerTaps::Subscribers> open) {
    published.push_back(open->size());
  });
  api::Request request;
  request.method = "GET";
  request.path = "/tap";
  request.peer = addr("198.18.0.5:40000");
  auto remote = std::make_shared<RecordingResponse>();
  hub.open(request, remote);
  CHECK(remote->status_ == 403);
  CHECK(nlohmann::json::parse(remote->body_)["detail"] == "tap is open to loopback clients only");

  request.peer = addr("127.0.0.1:40000");
  request.query = {{"max_rps", "-1"}};
  auto bad = std::make_shared<RecordingResponse>();
  hub.open(request, bad);
  CHECK(bad->status_ == 400);
  CHECK(published.empty());

  request.query = {};
  auto good = std::make_shared<RecordingResponse>();
  hub.open(request, good);
  CHECK(good->status_ == 200);
  CHECK(published == std::vector<size_t>{1});
  hub.close_all();
  CHECK(good->ended_);
  CHECK(published == std::vector<size_t>{1, 0});
  finish(control);
}

namespace {
constexpr const char* kTapIdentity = "tap.lmesh-system.serviceaccount.identity.lmesh.cluster.local";
constexpr const char* kWeb = "web.default.serviceaccount.identity.lmesh.cluster.local";

std::string refusal(const TapAccess& access, const char* peer, std::string_view identity) {
  auto r = check_tap_access(access, addr(peer), identity);
  REQUIRE_FALSE(r);
  return r.error().message();
}
}  // namespace

TEST_CASE("without an identity, loopback clients may tap and nobody else") {
  TapAccess access;  // the proxy has no identity
  CHECK(check_tap_access(access, addr("127.0.0.1:40000"), ""));
  CHECK(check_tap_access(access, addr("[::1]:40000"), ""));
  CHECK(refusal(access, "198.18.0.5:40000", "") == "tap is open to loopback clients only");
  // A proven identity changes nothing here: the rule is the host's.
  CHECK(refusal(access, "198.18.0.5:40000", kTapIdentity) ==
        "tap is open to loopback clients only");
}

TEST_CASE("with an identity, only the tap service's identity may tap, from anywhere") {
  TapAccess access{kTapIdentity};
  CHECK(check_tap_access(access, addr("198.18.0.5:40000"), kTapIdentity));
  CHECK(check_tap_access(access, addr("127.0.0.1:40000"), kTapIdentity));
  // Loopback plaintext is refused too: on a shared host it proves nothing.
  CHECK(refusal(access, "127.0.0.1:40000", "") ==
        "tap needs mTLS as tap.lmesh-system.serviceaccount.identity.lmesh.cluster.local");
  CHECK(refusal(access, "198.18.0.5:40000", "") ==
        "tap needs mTLS as tap.lmesh-system.serviceaccount.identity.lmesh.cluster.local");
  // Another identity is named, so that a misconfigured tap service can tell.
  CHECK(refusal(access, "198.18.0.5:40000", kWeb) ==
        "tap needs mTLS as tap.lmesh-system.serviceaccount.identity.lmesh.cluster.local, not "
        "web.default.serviceaccount.identity.lmesh.cluster.local");
  // Exact match only: no prefix or case games.
  CHECK_FALSE(check_tap_access(access, addr("127.0.0.1:1"), std::string(kTapIdentity) + "x"));
  CHECK_FALSE(check_tap_access(access, addr("127.0.0.1:1"),
                               "TAP.lmesh-system.serviceaccount.identity.lmesh.cluster.local"));
}

TEST_CASE("the hub with an identity admits the tap service's identity and refuses the rest") {
  event::Worker control(0);
  std::vector<size_t> published;
  TapHub hub(
      control, 1,
      [&](std::shared_ptr<const WorkerTaps::Subscribers> open) {
        published.push_back(open->size());
      },
      TapLimits{}, TapAccess{kTapIdentity});
  api::Request request;
  request.method = "GET";
  request.path = "/tap";
  request.peer = addr("127.0.0.1:40000");
  auto plain = std::make_shared<RecordingResponse>();
  hub.open(request, plain);
  CHECK(plain->status_ == 403);
  CHECK(nlohmann::json::parse(plain->body_)["detail"] ==
        "tap needs mTLS as tap.lmesh-system.serviceaccount.identity.lmesh.cluster.local");

  request.peer_identity = kWeb;
  auto wrong = std::make_shared<RecordingResponse>();
  hub.open(request, wrong);
  CHECK(wrong->status_ == 403);
  CHECK_THAT(nlohmann::json::parse(wrong->body_)["detail"].get<std::string>(),
             Catch::EndsWith(", not web.default.serviceaccount.identity.lmesh.cluster.local"));
  CHECK(published.empty());

  request.peer = addr("198.18.0.5:40000");
  request.peer_identity = kTapIdentity;
  auto good = std::make_shared<RecordingResponse>();
  hub.open(request, good);
  CHECK(good->status_ == 200);
  CHECK(published == std::vector<size_t>{1});
  hub.close_all();
  finish(control);
}
