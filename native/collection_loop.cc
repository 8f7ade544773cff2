#include "collection_loop.h"

#include <time.h>

#include <chrono>

namespace shmetrics {

namespace {

int64_t now_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// How long a standby waits on the collector lock before checking whether it should stop.
constexpr int kStandbyWaitMs = 250;

}  // namespace

CollectionLoop::CollectionLoop(std::shared_ptr<Region> region, EventSink sink, int tick_ms)
    : region_(std::move(region)), sink_(std::move(sink)), tick_ms_(tick_ms) {
  log_ = [this](const std::string& text) { log(text); };
}

CollectionLoop::~CollectionLoop() { stop(); }

void CollectionLoop::start(bool standby) {
  if (thread_.joinable()) return;
  stopping_ = false;
  std::promise<bool> started;
  std::future<bool> result = started.get_future();
  thread_ = std::thread(&CollectionLoop::run, this, standby, &started);
  if (!result.get()) {
    thread_.join();
    int32_t pid = region_->collector_pid();
    throw RegionException(RegionException::Kind::kLock,
                          region_->path() + ": already collected by process " + std::to_string(pid) +
                              " (open as a standby to take over when it stops)");
  }
}

void CollectionLoop::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CollectionLoop::log(const std::string& text) {
  CollectorEvent event(CollectorEvent::Kind::kLog);
  event.text = text;
  sink_(std::move(event));
}

void CollectionLoop::run(bool standby, std::promise<bool>* started) {
  Region::CollectorLock got = region_->lock_collector(0);
  if (!standby) {
    started->set_value(got != Region::CollectorLock::kBusy);
    if (got == Region::CollectorLock::kBusy) return;
  } else {
    started->set_value(true);
    while (got == Region::CollectorLock::kBusy) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) return;
      }
      got = region_->lock_collector(kStandbyWaitMs);
    }
  }
  CollectorEvent became(CollectorEvent::Kind::kCollecting);
  became.took_over = got == Region::CollectorLock::kTookOver;
  sink_(std::move(became));

  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    tick(now_ms());
    lock.lock();
    wake_.wait_for(lock, std::chrono::milliseconds(tick_ms_), [this] { return stopping_; });
  }
  lock.unlock();
  region_->unlock_collector();
}

void CollectionLoop::tick(int64_t now) {
  Region& region = *region_;
  const uint32_t count = region.metric_count();
  // Half a tick of slack, so that freq=1 with a 250 ms tick collects every 1000..1250 ms, not every 1250.
  const int64_t slack = tick_ms_ / 2;
  for (uint32_t slot = 0; slot < count; slot++) {
    try {
      const MetricMeta& meta = region.meta(slot);
      if (slot == collectors_.size()) collectors_.push_back(make_collector(region, meta));
      ValueCell& cell = region.cell(meta.value_index);
      if (meta.type == kHistogram) continue;  // recorded by the API only; no collector, no threshold
      if (meta.type == kAlias) {
        thresholds_.check(region, slot, now, sink_);
        continue;
      }
      if (cell.last_collected_ms != 0 && now - cell.last_collected_ms < int64_t(meta.freq_seconds) * 1000 - slack)
        continue;
      cell.last_collected_ms = now;
      if (MetricCollector* collector = collectors_[slot].get()) {
        CollectContext context{region, meta, region.load(meta.value_index), log_};
        std::optional<int64_t> next = collector->collect(context);
        if (next) region.store(meta.value_index, *next);
      }
      thresholds_.check(region, slot, now, sink_);
    } catch (const RegionException& e) {
      if (slot == collectors_.size()) collectors_.push_back(nullptr);
      log(std::string("collector: ") + e.what());
    }
  }
}

}  // namespace shmetrics
