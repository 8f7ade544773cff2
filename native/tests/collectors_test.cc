#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>

#include "../collectors/metric_collector.h"
#include "../text_files.h"
#include "check.h"

using namespace shmetrics;

namespace {

struct Fixture {
  std::string path = "/dev/shm/shmetrics-native-test-collect-" + std::to_string(getpid());
  std::unique_ptr<Region> region;
  std::function<void(const std::string&)> log = [this](const std::string& line) { logged.push_back(line); };
  std::vector<std::string> logged;

  Fixture() {
    CreateOptions o;
    o.metric_capacity = 16;
    o.lane_count = 2;
    region = Region::open(path, true, o);
  }
  ~Fixture() {
    region.reset();
    unlink(path.c_str());
  }

  const MetricMeta& define(Definition d) { return region->meta(region->define(d).slot); }

  std::optional<int64_t> collect(const MetricMeta& meta) {
    auto collector = make_collector(*region, meta);
    CollectContext context{*region, meta, region->load(meta.value_index), log};
    return collector->collect(context);
  }
};

Definition file_metric(const std::string& name, const std::string& file, int64_t token, int64_t scale = 0) {
  Definition d;
  d.name = name;
  d.collector = kFile;
  d.arg[0] = file;
  d.argn[0] = token;
  d.argn[1] = scale;
  return d;
}

}  // namespace

TEST(file_collector_tokens) {
  Fixture f;
  std::string file = f.path + ".txt";
  std::ofstream(file) << "10 20\t30\n40  50\r\n";
  for (int i = 0; i < 5; i++) CHECK_EQ(*f.collect(f.define(file_metric("t" + std::to_string(i), file, i))), int64_t(10 * (i + 1)));
  CHECK(!f.collect(f.define(file_metric("t5", file, 5))).has_value());
  std::ofstream(file, std::ios::trunc) << "7";
  CHECK_EQ(*f.collect(f.define(file_metric("seven", file, 0))), int64_t(7));
  std::ofstream(file, std::ios::trunc) << "0.52 -1.25";
  CHECK_EQ(*f.collect(f.define(file_metric("load", file, 0, 100))), int64_t(52));
  CHECK_EQ(*f.collect(f.define(file_metric("neg", file, 1, 10))), int64_t(-12));
  unlink(file.c_str());
  CHECK(!f.collect(f.define(file_metric("gone", file, 0))).has_value());
  CHECK(!f.logged.empty());
}

TEST(aggregate_collectors) {
  Fixture f;
  const char* names[] = {"a", "b", "c"};
  int64_t values[] = {22, 17, -5};
  for (int i = 0; i < 3; i++) {
    Definition d;
    d.name = names[i];
    f.region->store(f.define(d).value_index, values[i]);
  }
  auto aggregate = [&](const char* name, uint8_t collector, std::vector<std::string> children, int64_t arg1n = 0) {
    Definition d;
    d.name = name;
    d.collector = collector;
    d.children = children;
    d.argn[0] = arg1n;
    return *f.collect(f.define(d));
  };
  CHECK_EQ(aggregate("s", kSum, {"a", "b", "c"}), int64_t(34));
  CHECK_EQ(aggregate("av", kAvg, {"a", "b", "c"}), int64_t(11));
  CHECK_EQ(aggregate("mul", kMultiplier, {"a", "b"}, 3), int64_t(117));
  CHECK_EQ(aggregate("add", kAdder, {"a", "b"}, 100), int64_t(139));
  CHECK_EQ(aggregate("acc", kAccumulator, {"a", "b"}), int64_t(39));
}

TEST(text_files_replace_and_update_in_place) {
  std::string dir = "/dev/shm/shmetrics-native-test-files-" + std::to_string(getpid());
  {
    TextFiles files(dir, 0600);
    files.write("m", "52\n");
    files.write("m", "53\n");       // same length: in place
    files.write("m", "1000000\n");  // new length: replaced
    std::ifstream in(dir + "/m");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(text == "1000000\n");
    files.remove("m");
    CHECK(access((dir + "/m").c_str(), F_OK) != 0);
  }
  rmdir(dir.c_str());
}
