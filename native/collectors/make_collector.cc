#include "metric_collector.h"

namespace shmetrics {

std::unique_ptr<MetricCollector> make_collector(const Region& region, const MetricMeta& meta) {
  if (meta.type == kAlias) return nullptr;
  switch (meta.collector) {
    case kFile:
      return make_file_collector(meta);
    case kSum:
    case kAvg:
    case kAccumulator:
    case kMultiplier:
    case kAdder:
      return make_aggregate_collector(region, meta);
    case kFunc:
    case kPtr:
      return make_symbol_collector(meta);
    default:  // kManual, kJs: written by the API or by the defining process's JavaScript
      return nullptr;
  }
}

}  // namespace shmetrics
