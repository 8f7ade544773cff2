#include "thresholds.h"

#include "region.h"

namespace shmetrics {

void Thresholds::set(std::vector<Threshold> thresholds) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (Threshold& t : thresholds)
    for (const Threshold& old : list_)
      if (old.slot == t.slot && old.value == t.value && old.alarm == t.alarm) t.last_alarm_ms = old.last_alarm_ms;
  list_ = std::move(thresholds);
}

void Thresholds::check(Region& region, uint32_t slot, int64_t now_ms, const EventSink& emit) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (Threshold& t : list_) {
    if (t.slot != slot) continue;
    int64_t value = region.load(t.value_index);
    if (value < t.value) continue;
    if (t.has_reset) region.store(t.value_index, t.reset);
    if (t.last_alarm_ms != 0 && now_ms - t.last_alarm_ms < t.rate_ms) continue;
    t.last_alarm_ms = now_ms;
    CollectorEvent event(CollectorEvent::Kind::kAlarm);
    event.alarm = t.alarm;
    event.metric = t.metric;
    event.value = value;
    event.threshold = t.value;
    event.text = t.msg.empty() ? t.metric : t.msg;
    emit(std::move(event));
  }
}

}  // namespace shmetrics
