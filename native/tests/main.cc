// The native unit tests: the region, its layout, the value protocol and the collectors, without Node.
// Built by node-gyp with the addon (build/Release/shmetrics_native_tests), run under valgrind in CI.

#include <cstdio>

#include "check.h"

int main() {
  for (const auto& test : shmetrics_test::tests()) {
    int before = shmetrics_test::failures();
    test.body();
    std::printf("%s %s\n", shmetrics_test::failures() == before ? "ok  " : "FAIL", test.name);
  }
  int failed = shmetrics_test::failures();
  std::printf("%zu tests, %d failed checks\n", shmetrics_test::tests().size(), failed);
  return failed == 0 ? 0 : 1;
}
