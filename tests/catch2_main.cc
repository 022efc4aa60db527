// Catch2's main() in a library of its own: this one file takes ~30 s to compile.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
