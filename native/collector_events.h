// What the collector thread tells the JavaScript side of the collecting process.

#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace shmetrics {

struct CollectorEvent {
  enum class Kind {
    kCollecting,  // this process is now the region's collector (took_over: a previous one had died)
    kLog,         // a message for the log (text)
    kAlarm,       // a threshold fired (alarm may be empty: then only the API's 'alarm' event sees it)
  };
  explicit CollectorEvent(Kind kind) : kind(kind) {}
  Kind kind;
  std::string text;
  std::string alarm;
  std::string metric;
  int64_t value = 0;
  int64_t threshold = 0;
  bool took_over = false;
};

using EventSink = std::function<void(CollectorEvent)>;

}  // namespace shmetrics
