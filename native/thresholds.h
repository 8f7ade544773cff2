// --metric-threshold: checked by the collector thread after each collection of the metric.

#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "collector_events.h"

namespace shmetrics {

class Region;

struct Threshold {
  uint32_t slot;
  uint32_t value_index;
  int64_t value;  // fires when the metric's value >= value
  bool has_reset = false;
  int64_t reset = 0;  // then the metric is set to this
  int64_t rate_ms = 0;  // at most one alarm per rate
  std::string alarm;    // may be empty
  std::string msg;      // defaults to the metric name
  std::string metric;
  int64_t last_alarm_ms = 0;
};

class Thresholds {
 public:
  // Replaces the whole list; a threshold that was already there keeps its rate state.
  void set(std::vector<Threshold> thresholds);
  // Checks the thresholds of `slot` against its current value.
  void check(Region& region, uint32_t slot, int64_t now_ms, const EventSink& emit);

 private:
  std::mutex mutex_;
  std::vector<Threshold> list_;
};

}  // namespace shmetrics
