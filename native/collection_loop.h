// The collector thread: computes collector-driven metrics and checks thresholds, once a metric's freq
// has elapsed, on a native thread so that a busy JavaScript event loop does not stop it.
//
// Exactly one process per region collects: the thread holds the region's collector lock (a robust
// mutex) for as long as it runs. An owner takes it at start or fails; a standby waits for it in the
// background and takes over the moment the holder dies.

#pragma once

#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "collector_events.h"
#include "collectors/metric_collector.h"
#include "region.h"
#include "thresholds.h"

namespace shmetrics {

class CollectionLoop {
 public:
  CollectionLoop(std::shared_ptr<Region> region, EventSink sink, int tick_ms);
  ~CollectionLoop();
  CollectionLoop(const CollectionLoop&) = delete;
  CollectionLoop& operator=(const CollectionLoop&) = delete;

  // Owner: becomes the collector now, or throws kLock naming the process that is. Standby: returns at
  // once and waits in the background.
  void start(bool standby);
  void stop();
  Thresholds& thresholds() { return thresholds_; }

 private:
  void run(bool standby, std::promise<bool>* started);
  void tick(int64_t now_ms);
  void log(const std::string& text);

  std::shared_ptr<Region> region_;
  EventSink sink_;
  int tick_ms_;
  Thresholds thresholds_;
  std::vector<std::unique_ptr<MetricCollector>> collectors_;  // by slot
  std::function<void(const std::string&)> log_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace shmetrics
