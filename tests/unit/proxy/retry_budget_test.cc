// RetryBudget (src/proxy/retry/retry_budget.h): retries capped at ratio × recent requests plus
// a reserve, over a sliding window.
#include "proxy/retry/retry_budget.h"

#include <catch2/catch.hpp>

namespace lmesh::proxy {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;

TEST_CASE("retries are capped at the ratio of recent requests", "[proxy][retry]") {
  RetryBudget budget({0.2, 0, 10});
  uint64_t t = 100 * kSecond;
  for (int i = 0; i < 1000; ++i) budget.deposit(t);
  int allowed = 0;
  for (int i = 0; i < 1000; ++i) allowed += budget.withdraw(t) ? 1 : 0;
  CHECK(allowed == 200);
}

TEST_CASE("the reserve allows min_per_second × ttl retries without traffic", "[proxy][retry]") {
  RetryBudget budget({0.2, 10, 10});
  uint64_t t = 5 * kSecond;
  int allowed = 0;
  for (int i = 0; i < 500; ++i) allowed += budget.withdraw(t) ? 1 : 0;
  CHECK(allowed == 100);
}

TEST_CASE("requests and retries older than the ttl no longer count", "[proxy][retry]") {
  RetryBudget budget({0.5, 0, 2});
  uint64_t t = 10 * kSecond;
  for (int i = 0; i < 100; ++i) budget.deposit(t);
  int first = 0;
  while (budget.withdraw(t)) ++first;
  CHECK(first == 50);
  // 2.5 s later the window (2 s) has moved past both the deposits and the retries.
  uint64_t later = t + 2 * kSecond + kSecond / 2;
  CHECK(!budget.withdraw(later));
  for (int i = 0; i < 10; ++i) budget.deposit(later);
  int second = 0;
  while (budget.withdraw(later)) ++second;
  CHECK(second == 5);
}

TEST_CASE("a window that slides keeps the part still inside it", "[proxy][retry]") {
  RetryBudget budget({1.0, 0, 10});
  uint64_t t = 50 * kSecond;
  for (int i = 0; i < 10; ++i) budget.deposit(t);
  // 5 s later the deposits still count (inside 10 s); 11 s later they do not.
  CHECK(budget.withdraw(t + 5 * kSecond));
  uint64_t gone = t + 11 * kSecond;
  CHECK(!budget.withdraw(gone));
}

}  // namespace
}  // namespace lmesh::proxy
