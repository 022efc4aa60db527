// `lmesh tap`'s lines (src/cli/tap_format.h) from parsed events (src/cli/tap_event.h), and the
// bounded table of requests waiting for their response (src/cli/request_table.h).
#include "cli/tap_format.h"

#include <string>

#include <catch2/catch.hpp>

#include "cli/request_table.h"
#include "cli/tap_event.h"

namespace lmesh::cli {
namespace {

constexpr char kRequest[] =
    R"({"kind":"request_init","id":"1:42","ts_us":1764000000123456,"direction":"outbound",)"
    R"("source":"127.0.0.1:50412","destination":"198.18.0.12:8080","tls":"true","client_id":"",)"
    R"("server_id":"web.default.serviceaccount.identity.lmesh.cluster.local","method":"GET",)"
    R"("scheme":"http","authority":"web:8080","path":"/books","headers":{"user-agent":"curl"},)"
    R"("proxy":{"pod":"web-1","namespace":"default","workload":"deploy/web"}})";
constexpr char kResponse[] =
    R"({"kind":"response_init","id":"1:42","ts_us":1,"latency_us":1840,"status":200,)"
    R"("headers":{},"proxy":{"pod":"web-1","namespace":"default"}})";
constexpr char kEnd[] =
    R"({"kind":"response_end","id":"1:42","ts_us":2,"duration_us":55,"response_bytes":5120,)"
    R"("reset":"","error":"","proxy":{"pod":"web-1","namespace":"default"}})";

TapEvent event(std::string_view line) {
  auto e = parse_tap_event(line);
  REQUIRE(e.has_value());
  return *e;
}

std::string text(TapFormatter& f, std::string_view line) {
  auto out = f.format(event(line));
  REQUIRE(out.has_value());
  CHECK(!out->to_stderr);
  return out->text;
}

TEST_CASE("parse_tap_event reads every field and tolerates odd ones", "[cli][tap]") {
  TapEvent e = event(kRequest);
  CHECK(e.kind == TapEventKind::kRequestInit);
  CHECK(e.id == "1:42");
  CHECK(e.direction == "outbound");
  CHECK(e.proxy.pod == "web-1");
  CHECK(e.proxy.workload == "deploy/web");
  CHECK(!e.grpc_status);

  TapEvent odd = event(R"({"kind":"response_end","id":7,"duration_us":"x","grpc_status":2})");
  CHECK(odd.id.empty());
  CHECK(odd.duration_us == 0);
  CHECK(odd.grpc_status == 2);
  CHECK(event(R"({"kind":"new_kind"})").kind == TapEventKind::kUnknown);

  for (const char* bad : {"", "[]", "{", R"({"id":"1:1"})", R"({"kind":3})"}) {
    INFO(bad);
    auto r = parse_tap_event(bad);
    REQUIRE(!r.has_value());
    CHECK(r.error().code() == ErrorCode::kProtocol);
  }
}

TEST_CASE("req, rsp and end lines in Linkerd's format", "[cli][tap]") {
  TapFormatter f({});
  CHECK(text(f, kRequest) ==
        "req id=1:42 proxy=out src=127.0.0.1:50412 dst=198.18.0.12:8080 tls=true :method=GET "
        ":authority=web:8080 :path=/books");
  CHECK(text(f, kResponse) ==
        "rsp id=1:42 proxy=out src=127.0.0.1:50412 dst=198.18.0.12:8080 tls=true :status=200 "
        "latency=1840µs");
  CHECK(f.pending() == 1);
  CHECK(text(f, kEnd) ==
        "end id=1:42 proxy=out src=127.0.0.1:50412 dst=198.18.0.12:8080 tls=true duration=55µs "
        "response-length=5120B");
  CHECK(f.pending() == 0);  // an ended request is forgotten
}

TEST_CASE("inbound is padded like Linkerd's 'in '", "[cli][tap]") {
  TapFormatter f({});
  CHECK(text(f,
             R"({"kind":"request_init","id":"0:1","direction":"inbound","source":"a:1",)"
             R"("destination":"b:2","tls":"false","method":"GET","authority":"x","path":"/"})") ==
        "req id=0:1 proxy=in  src=a:1 dst=b:2 tls=false :method=GET :authority=x :path=/");
}

TEST_CASE("end lines name gRPC statuses, resets and proxy errors", "[cli][tap]") {
  TapFormatter f({});
  text(f, kRequest);
  CHECK(text(f, R"({"kind":"response_end","id":"1:42","duration_us":3,"response_bytes":9,)"
                R"("grpc_status":0,"proxy":{"pod":"web-1","namespace":"default"}})") ==
        "end id=1:42 proxy=out src=127.0.0.1:50412 dst=198.18.0.12:8080 tls=true grpc-status=OK "
        "duration=3µs response-length=9B");
  text(f, kRequest);
  CHECK(text(f, R"({"kind":"response_end","id":"1:42","duration_us":0,"response_bytes":0,)"
                R"("reset":"connection closed","error":"no ready endpoints",)"
                R"("proxy":{"pod":"web-1","namespace":"default"}})") ==
        "end id=1:42 proxy=out src=127.0.0.1:50412 dst=198.18.0.12:8080 tls=true "
        "reset=\"connection closed\" error=\"no ready endpoints\" duration=0µs response-length=0B");
}

TEST_CASE("the same id from another proxy is another request", "[cli][tap]") {
  TapFormatter f({});
  text(f, kRequest);
  CHECK(text(f, R"({"kind":"response_init","id":"1:42","latency_us":1,"status":204,)"
                R"("proxy":{"pod":"web-2","namespace":"default"}})") ==
        "rsp id=1:42 proxy=??? src=? dst=? tls=? :status=204 latency=1µs");
}

TEST_CASE("-o wide adds the proxy's pod and namespace", "[cli][tap]") {
  TapFormatter f({.wide = true});
  CHECK(text(f, kRequest) ==
        "req id=1:42 proxy=out src=127.0.0.1:50412 dst=198.18.0.12:8080 tls=true :method=GET "
        ":authority=web:8080 :path=/books proxy_pod=web-1 proxy_ns=default");
}

TEST_CASE("colour marks failures only", "[cli][tap]") {
  TapFormatter f({.colour = true});
  CHECK(text(f, kRequest).find('\x1b') == std::string::npos);
  CHECK(text(f, kResponse).find('\x1b') == std::string::npos);
  CHECK(text(f, R"({"kind":"response_init","id":"1:42","latency_us":7,"status":500,)"
                R"("proxy":{"pod":"web-1","namespace":"default"}})") ==
        "\x1b[31mrsp id=1:42 proxy=out src=127.0.0.1:50412 dst=198.18.0.12:8080 tls=true "
        ":status=500 latency=7µs\x1b[0m");
  CHECK(text(f, R"({"kind":"response_end","id":"1:42","grpc_status":5,)"
                R"("proxy":{"pod":"web-1","namespace":"default"}})")
            .starts_with("\x1b[31mend "));
  CHECK(text(f, R"({"kind":"response_end","id":"1:9","reset":"CANCEL"})").starts_with("\x1b[31m"));
  CHECK(text(f, R"({"kind":"response_end","id":"1:9","error":"x"})").starts_with("\x1b[31m"));
  CHECK(text(f, R"({"kind":"response_end","id":"1:9"})").find('\x1b') == std::string::npos);
}

TEST_CASE("drops and proxy errors are notes for stderr", "[cli][tap]") {
  TapFormatter f({.colour = true});
  auto dropped = f.format(
      event(R"({"kind":"dropped","count":17,"proxy":{"pod":"web-1","namespace":"default"}})"));
  REQUIRE(dropped.has_value());
  CHECK(dropped->to_stderr);
  CHECK(dropped->text == "# proxy web-1 (default): 17 events dropped");
  CHECK(f.format(event(R"({"kind":"dropped","count":1})"))->text == "# 1 event dropped");
  auto failed = f.format(event(
      R"({"kind":"proxy_error","proxy":{"pod":"api-7","namespace":"shop"},"error":"refused"})"));
  REQUIRE(failed.has_value());
  CHECK(failed->to_stderr);
  CHECK(failed->text == "# proxy api-7 (shop): refused");
  CHECK(!f.format(event(R"({"kind":"new_kind","id":"1:1"})")).has_value());
}

TEST_CASE("grpc_status_name follows Go's codes", "[cli][tap]") {
  CHECK(grpc_status_name(0) == "OK");
  CHECK(grpc_status_name(1) == "Canceled");
  CHECK(grpc_status_name(4) == "DeadlineExceeded");
  CHECK(grpc_status_name(14) == "Unavailable");
  CHECK(grpc_status_name(16) == "Unauthenticated");
  CHECK(grpc_status_name(17) == "Code(17)");
  CHECK(grpc_status_name(-1) == "Code(-1)");
}

TEST_CASE("field_value quotes what would split the line", "[cli][tap]") {
  CHECK(field_value("CANCEL") == "CANCEL");
  CHECK(field_value("a b") == "\"a b\"");
  CHECK(field_value("say \"hi\"") == "\"say \\\"hi\\\"\"");
  CHECK(field_value("") == "\"\"");
}

TEST_CASE("the request table forgets the oldest past its capacity", "[cli][tap]") {
  RequestTable table(3);
  for (int i = 0; i < 5; ++i) {
    TapEvent e;
    e.id = std::to_string(i);
    table.insert(e.id, PendingRequest{e, std::nullopt, 0});
  }
  CHECK(table.size() == 3);
  CHECK(table.find("0") == nullptr);
  CHECK(table.find("1") == nullptr);
  REQUIRE(table.find("4") != nullptr);
  CHECK(table.find("4")->request.id == "4");
  // Re-inserting a key replaces it and makes it the newest.
  table.insert("2", PendingRequest{});
  table.insert("5", PendingRequest{});
  CHECK(table.find("2") != nullptr);
  CHECK(table.find("3") == nullptr);
  table.erase("2");
  table.erase("missing");
  CHECK(table.size() == 2);
}

TEST_CASE("a formatter's memory is bounded by its pending limit", "[cli][tap]") {
  TapFormatter f({}, /*max_pending=*/100);
  for (int i = 0; i < 1000; ++i) {
    f.format(event(R"({"kind":"request_init","id":"0:)" + std::to_string(i) + R"("})"));
  }
  CHECK(f.pending() == 100);
}

}  // namespace
}  // namespace lmesh::cli
