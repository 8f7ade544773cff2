// The one interface every collector implements, and the factory that picks one for a metric.

#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "../region.h"

namespace shmetrics {

// What a collector sees during one collection.
struct CollectContext {
  const Region& region;
  const MetricMeta& meta;
  int64_t current;  // the value before this collection
  const std::function<void(const std::string&)>& log;  // the collecting process's log
};

// Computes one metric's next value. One instance per collected metric, made when the collector thread
// first meets the metric, so it may keep state between ticks (a file's error state, a resolved symbol).
class MetricCollector {
 public:
  virtual ~MetricCollector() = default;
  // The new value, or nullopt to keep the current one.
  virtual std::optional<int64_t> collect(const CollectContext& context) = 0;
};

// nullptr for metrics the collector thread does not compute (manual, js, alias).
std::unique_ptr<MetricCollector> make_collector(const Region& region, const MetricMeta& meta);

std::unique_ptr<MetricCollector> make_file_collector(const MetricMeta& meta);
std::unique_ptr<MetricCollector> make_aggregate_collector(const Region& region, const MetricMeta& meta);
std::unique_ptr<MetricCollector> make_symbol_collector(const MetricMeta& meta);

// Two's complement arithmetic for collectors: overflow wraps, as every other operation does.
inline int64_t wrapping_add(int64_t a, int64_t b) { return int64_t(uint64_t(a) + uint64_t(b)); }
inline int64_t wrapping_mul(int64_t a, int64_t b) { return int64_t(uint64_t(a) * uint64_t(b)); }

}  // namespace shmetrics
