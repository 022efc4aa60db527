// Catch2's main() in a library of its own: this one file takes ~30 s to compile.
//
// SIGPIPE is ignored, as every lmesh binary's main() does: tests drive the same socket code
// over real connections, and a write to a peer that has just closed must fail with EPIPE, not
// kill the test process (unit-proxy-discovery did, once, under ASan's timing).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <csignal>

int main(int argc, char* argv[]) {
  std::signal(SIGPIPE, SIG_IGN);
  return Catch::Session().run(argc, argv);
}
