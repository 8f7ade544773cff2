#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

#include "../region.h"
#include "check.h"

using namespace shmetrics;

namespace {

std::string temp_path(const char* label) {
  return std::string("/dev/shm/shmetrics-native-test-") + label + "-" + std::to_string(getpid());
}

CreateOptions small() {
  CreateOptions o;
  o.metric_capacity = 16;
  o.lane_count = 4;
  return o;
}

Definition counter(const std::string& name) {
  Definition d;
  d.name = name;
  return d;
}

std::string format_error(const std::string& path) {
  try {
    Region::open(path, false, small());
  } catch (const RegionException& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(creates_attaches_and_finds_by_name) {
  std::string path = temp_path("attach");
  {
    auto a = Region::open(path, true, small());
    auto defined = a->define(counter("hits"));
    CHECK(defined.created);
    auto b = Region::open(path, false, small());
    CHECK_EQ(b->lookup("hits"), int64_t(defined.slot));
    CHECK_EQ(b->lookup("nope"), int64_t(-1));
    CHECK(b->define(counter("hits")).created == false);
    CHECK(a->lane() != b->lane());
  }
  unlink(path.c_str());
}

TEST(adds_in_lanes_sum_on_read_and_wrap) {
  std::string path = temp_path("lanes");
  {
    auto a = Region::open(path, true, small());
    auto b = Region::open(path, false, small());
    uint32_t v = a->meta(a->define(counter("c")).slot).value_index;
    a->add(v, 5);
    b->add(v, 7);
    CHECK_EQ(a->load(v), int64_t(12));
    a->store(v, 100);
    CHECK_EQ(b->load(v), int64_t(100));
    b->add(v, 1);
    CHECK_EQ(a->load(v), int64_t(101));
    a->store(v, INT64_MAX);
    a->add(v, 1);
    CHECK_EQ(a->load(v), INT64_MIN);
    int64_t out[16] = {};
    CHECK_EQ(a->snapshot(out, 16), uint32_t(1));
    CHECK_EQ(out[0], INT64_MIN);
  }
  unlink(path.c_str());
}

TEST(update_operations) {
  std::string path = temp_path("update");
  {
    auto r = Region::open(path, true, small());
    uint32_t v = r->meta(r->define(counter("g")).slot).value_index;
    r->store(v, 15);
    CHECK(r->update(v, UpdateOp::kDiv, -4) == UpdateResult::kChanged);
    CHECK_EQ(r->load(v), int64_t(-3));
    CHECK(r->update(v, UpdateOp::kDiv, 0) == UpdateResult::kDivideByZero);
    r->store(v, INT64_MIN);
    CHECK(r->update(v, UpdateOp::kDiv, -1) == UpdateResult::kOverflow);
    CHECK_EQ(r->load(v), INT64_MIN);
    r->store(v, 5);
    CHECK(r->update(v, UpdateOp::kMax, 3) == UpdateResult::kUnchanged);
    CHECK(r->update(v, UpdateOp::kMax, 9) == UpdateResult::kChanged);
    CHECK(r->update(v, UpdateOp::kMin, -2) == UpdateResult::kChanged);
    CHECK(r->update(v, UpdateOp::kMul, 3) == UpdateResult::kChanged);
    CHECK_EQ(r->load(v), int64_t(-6));
  }
  unlink(path.c_str());
}

TEST(histograms_store_bounds_and_values) {
  std::string path = temp_path("histogram");
  {
    auto r = Region::open(path, true, small());
    Definition h = counter("lat");
    h.type = kHistogram;
    h.bounds = {1, 5, 10};
    const MetricMeta& m = r->meta(r->define(h).slot);
    CHECK_EQ(m.value_count, uint32_t(6));
    CHECK(r->bounds(m) == (std::vector<int64_t>{1, 5, 10}));
    Definition bad = counter("bad");
    bad.type = kHistogram;
    bad.bounds = {5, 1};
    bool refused = false;
    try {
      r->define(bad);
    } catch (const RegionException& e) {
      refused = e.kind == RegionException::Kind::kArgument;
    }
    CHECK(refused);
  }
  unlink(path.c_str());
}

TEST(children_and_aliases_must_exist) {
  std::string path = temp_path("children");
  {
    auto r = Region::open(path, true, small());
    Definition sum = counter("s");
    sum.collector = kSum;
    sum.children = {"missing"};
    bool unknown = false;
    try {
      r->define(sum);
    } catch (const RegionException& e) {
      unknown = e.kind == RegionException::Kind::kUnknown;
    }
    CHECK(unknown);
    CHECK_EQ(r->metric_count(), uint32_t(0));
  }
  unlink(path.c_str());
}

TEST(full_region_refuses) {
  std::string path = temp_path("full");
  {
    CreateOptions o = small();
    o.metric_capacity = 2;
    auto r = Region::open(path, true, o);
    r->define(counter("a"));
    r->define(counter("b"));
    bool full = false;
    try {
      r->define(counter("c"));
    } catch (const RegionException& e) {
      full = e.kind == RegionException::Kind::kFull;
    }
    CHECK(full);
  }
  unlink(path.c_str());
}

TEST(a_process_dying_with_the_registration_lock_is_repaired) {
  std::string path = temp_path("repair");
  {
    auto r = Region::open(path, true, small());
    r->define(counter("before"));
    pid_t child = fork();
    if (child == 0) {
      auto mine = Region::open(path, false, small());
      mine->hold_registration_lock_for_test("half");
      _exit(0);  // dies holding the lock, with a half-written entry
    }
    int status = 0;
    waitpid(child, &status, 0);
    CHECK(r->define(counter("after")).created);
    CHECK_EQ(r->lookup("half"), int64_t(-1));
    CHECK_EQ(r->metric_count(), uint32_t(2));
    CHECK_EQ(r->header().lock_repairs, uint32_t(1));
  }
  unlink(path.c_str());
}

TEST(refuses_files_that_are_not_regions) {
  std::string path = temp_path("format");
  {
    std::ofstream(path) << "hello, world";
    CHECK(format_error(path).find("not a shmetrics region (bad magic)") != std::string::npos);
    std::ofstream(path, std::ios::trunc).close();
    CHECK(format_error(path).find("empty file") != std::string::npos);
    unlink(path.c_str());
    { auto r = Region::open(path, true, small()); }
    CHECK(truncate(path.c_str(), 8192) == 0);
    CHECK(format_error(path).find("truncated") != std::string::npos);
  }
  unlink(path.c_str());
}
