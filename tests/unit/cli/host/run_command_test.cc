// Running a program without a shell (src/cli/host/run_command.h).
#include "cli/host/run_command.h"

#include <chrono>

#include <catch2/catch.hpp>

namespace lmesh::host {
namespace {

using namespace std::chrono_literals;

TEST_CASE("a program that exits 0 gives its output") {
  auto done = run_command({"true"});
  REQUIRE(done);
  CHECK(done->exit_code == 0);
  CHECK(done->out.empty());

  auto both = run_command({"sh", "-c", "echo out; echo err >&2"});
  REQUIRE(both);
  CHECK(both->out == "out\n");
  CHECK(both->err == "err\n");
}

TEST_CASE("a non-zero exit is an error naming the command and its stderr's first line") {
  auto done = run_command({"sh", "-c", "echo 'first problem' >&2; echo second >&2; exit 3"});
  REQUIRE(!done);
  CHECK(done.error().code() == ErrorCode::kIo);
  CHECK(done.error().message() ==
        "`sh -c 'echo '\\''first problem'\\'' >&2; echo second >&2; exit 3'` exited with 3: "
        "first problem");

  auto quiet = run_command({"false"});
  REQUIRE(!quiet);
  CHECK(quiet.error().message() == "`false` exited with 1");
}

TEST_CASE("a missing program is kNotFound") {
  auto done = run_command({"lmesh-no-such-program-for-tests"});
  REQUIRE(!done);
  CHECK(done.error().code() == ErrorCode::kNotFound);
  CHECK(done.error().message().find("lmesh-no-such-program-for-tests") != std::string::npos);
}

TEST_CASE("stdin text reaches the program; without it stdin is empty") {
  auto echoed = run_command({"cat"}, {.stdin_text = "line one\nline two\n"});
  REQUIRE(echoed);
  CHECK(echoed->out == "line one\nline two\n");

  auto nothing = run_command({"cat"});
  REQUIRE(nothing);
  CHECK(nothing->out.empty());
}

TEST_CASE("stdin larger than a pipe buffer, to a program that reads it all") {
  std::string big(1 << 20, 'x');
  auto counted = run_command({"wc", "-c"}, {.stdin_text = big});
  REQUIRE(counted);
  CHECK(counted->out.find(std::to_string(big.size())) != std::string::npos);
}

TEST_CASE("a program that exits without reading its stdin does not kill us") {
  std::string big(1 << 20, 'x');
  auto done = run_command({"true"}, {.stdin_text = big});
  CHECK(done);
}

TEST_CASE("a program past its timeout is killed") {
  auto start = std::chrono::steady_clock::now();
  auto done = run_command({"sleep", "10"}, {.timeout = 200ms});
  auto took = std::chrono::steady_clock::now() - start;
  REQUIRE(!done);
  CHECK(done.error().code() == ErrorCode::kTimeout);
  CHECK(done.error().message() == "`sleep 10` did not finish within 200 ms");
  CHECK(took < 5s);
}

TEST_CASE("a program that closes its output but keeps running still times out") {
  auto done = run_command({"sh", "-c", "exec >&- 2>&-; sleep 10"}, {.timeout = 200ms});
  REQUIRE(!done);
  CHECK(done.error().code() == ErrorCode::kTimeout);
}

TEST_CASE("command_line quotes what a shell would split") {
  CHECK(command_line({"ip", "link", "add", "lmesh0"}) == "ip link add lmesh0");
  CHECK(command_line({"echo", "a b", ""}) == "echo 'a b' ''");
}

}  // namespace
}  // namespace lmesh::host
