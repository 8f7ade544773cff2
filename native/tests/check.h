// A minimal test harness for the native unit tests: CHECK records a failure with its line and goes on.

#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace shmetrics_test {

struct Test {
  const char* name;
  std::function<void()> body;
};

inline std::vector<Test>& tests() {
  static std::vector<Test> all;
  return all;
}

inline int& failures() {
  static int count = 0;
  return count;
}

struct Register {
  Register(const char* name, std::function<void()> body) { tests().push_back({name, std::move(body)}); }
};

}  // namespace shmetrics_test

#define TEST(name)                                                      \
  static void name();                                                   \
  static shmetrics_test::Register register_##name(#name, name);         \
  static void name()

#define CHECK(condition)                                                                       \
  do {                                                                                         \
    if (!(condition)) {                                                                        \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #condition);       \
      shmetrics_test::failures()++;                                                            \
    }                                                                                          \
  } while (0)

#define CHECK_EQ(a, b)                                                                                    \
  do {                                                                                                    \
    auto a_ = (a);                                                                                        \
    auto b_ = (b);                                                                                        \
    if (!(a_ == b_)) {                                                                                    \
      std::fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%s vs %s)\n", __FILE__, __LINE__, #a, #b, \
                   std::to_string(a_).c_str(), std::to_string(b_).c_str());                               \
      shmetrics_test::failures()++;                                                                       \
    }                                                                                                     \
  } while (0)
