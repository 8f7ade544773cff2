// func and ptr: a C function or an int64_t variable, named by `arg1`, in a library loaded with --dlopen.
// The symbol is checked when the metric is defined; here it is resolved once, on the first collection in
// the collecting process, which may be a standby that did not load the library: that is logged once and
// the value kept, until the library is loaded.

#include <string>

#include "../include/shmetrics_collector.h"
#include "../symbols.h"
#include "metric_collector.h"

namespace shmetrics {

namespace {

class SymbolCollector : public MetricCollector {
 public:
  explicit SymbolCollector(const MetricMeta& meta) : symbol_(meta.arg[0]), name_(meta.name, meta.name_bytes) {}

  std::optional<int64_t> collect(const CollectContext& c) override {
    if (!address_) address_ = find_symbol(symbol_);
    if (!address_) {
      if (!reported_missing_)
        c.log("metric \"" + name_ + "\": symbol \"" + symbol_ +
              "\" is not loaded in the collecting process (--dlopen its library); keeping the value " +
              std::to_string(c.current));
      reported_missing_ = true;
      return std::nullopt;
    }
    if (c.meta.collector == kPtr)
      return wrapping_add(c.meta.initial_value, __atomic_load_n(static_cast<const int64_t*>(address_), __ATOMIC_RELAXED));
    shmetrics_metric metric{c.meta.name, c.current, c.meta.initial_value,
                            {c.meta.argn[0], c.meta.argn[1], c.meta.argn[2]},
                            {c.meta.arg[0], c.meta.arg[1], c.meta.arg[2]}};
    return wrapping_add(c.meta.initial_value, reinterpret_cast<shmetrics_func_collector>(address_)(&metric));
  }

 private:
  std::string symbol_;
  std::string name_;
  void* address_ = nullptr;
  bool reported_missing_ = false;
};

}  // namespace

std::unique_ptr<MetricCollector> make_symbol_collector(const MetricMeta& meta) {
  return std::make_unique<SymbolCollector>(meta);
}

}  // namespace shmetrics
