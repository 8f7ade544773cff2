// sum, avg, multiplier, adder and accumulator: functions of the children's current values. Children are
// always registered before their parent (define() requires them to exist), so collecting in slot order
// collects every child before its parents.

#include <vector>

#include "metric_collector.h"

namespace shmetrics {

namespace {

class AggregateCollector : public MetricCollector {
 public:
  AggregateCollector(const Region& region, const MetricMeta& meta) {
    for (uint32_t slot : region.children(meta)) values_.push_back(region.meta(slot).value_index);
  }

  std::optional<int64_t> collect(const CollectContext& c) override {
    int64_t sum = 0;
    for (uint32_t v : values_) sum = wrapping_add(sum, c.region.load(v));
    const int64_t initial = c.meta.initial_value;
    switch (c.meta.collector) {
      case kSum:
        return wrapping_add(initial, sum);
      case kAvg:  // C division truncates toward zero, as uWSGI's does; no children averages to 0
        return wrapping_add(initial, values_.empty() ? 0 : sum / int64_t(values_.size()));
      case kMultiplier:
        return wrapping_add(initial, wrapping_mul(sum, c.meta.argn[0]));
      case kAdder:
        return wrapping_add(initial, wrapping_add(sum, c.meta.argn[0]));
      case kAccumulator:  // starts at initial_value (set at registration) and adds the children each tick;
                          // uWSGI adds initial_value again on every tick
        return wrapping_add(c.current, sum);
      default:
        return std::nullopt;
    }
  }

 private:
  std::vector<uint32_t> values_;
};

}  // namespace

std::unique_ptr<MetricCollector> make_aggregate_collector(const Region& region, const MetricMeta& meta) {
  return std::make_unique<AggregateCollector>(region, meta);
}

}  // namespace shmetrics
