// The N-API face of a Region. The TypeScript facade validates every argument before calling in (names,
// ranges, types), so this layer only converts and forwards; what it still checks it reports as a
// RegionException kind, which src/native.ts turns into the matching error class.

#include <napi.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <set>

#include "collection_loop.h"
#include "region.h"
#include "symbols.h"

namespace shmetrics {

namespace {

const char* kind_code(RegionException::Kind kind) {
  switch (kind) {
    case RegionException::Kind::kFormat: return "ERR_SHMETRICS_FORMAT";
    case RegionException::Kind::kOpen: return "ERR_SHMETRICS_OPEN";
    case RegionException::Kind::kFull: return "ERR_SHMETRICS_FULL";
    case RegionException::Kind::kUnknown: return "ERR_SHMETRICS_UNKNOWN";
    case RegionException::Kind::kArgument: return "ERR_SHMETRICS_ARGUMENT";
    case RegionException::Kind::kLock: return "ERR_SHMETRICS_LOCK";
  }
  return "ERR_SHMETRICS";
}

[[noreturn]] void rethrow(Napi::Env env, const RegionException& e) {
  Napi::Error error = Napi::Error::New(env, e.what());
  error.Set("code", Napi::String::New(env, kind_code(e.kind)));
  throw error;
}

uint32_t option(const Napi::Object& o, const char* key, uint32_t fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : fallback;
}

int64_t bigint_value(const Napi::Value& v) {
  bool lossless = true;
  return v.As<Napi::BigInt>().Int64Value(&lossless);
}


// A safe-integer Number (no BigInt to allocate on the common path) or a BigInt.
int64_t integer_value(const Napi::Value& v) {
  return v.IsBigInt() ? bigint_value(v) : v.As<Napi::Number>().Int64Value();
}

std::string string_field(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

Definition definition_from(const Napi::Object& o) {
  Definition d;
  d.name = string_field(o, "name");
  d.type = uint8_t(o.Get("type").As<Napi::Number>().Uint32Value());
  d.collector = uint8_t(o.Get("collector").As<Napi::Number>().Uint32Value());
  d.freq_seconds = o.Get("freq").As<Napi::Number>().Uint32Value();
  d.initial_value = bigint_value(o.Get("initialValue"));
  d.reset_after_push = o.Get("resetAfterPush").ToBoolean().Value();
  Napi::Array children = o.Get("children").As<Napi::Array>();
  for (uint32_t i = 0; i < children.Length(); i++) d.children.push_back(children.Get(i).As<Napi::String>().Utf8Value());
  d.alias = string_field(o, "alias");
  d.oid = string_field(o, "oid");
  const char* args[3] = {"arg1", "arg2", "arg3"};
  const char* argns[3] = {"arg1n", "arg2n", "arg3n"};
  for (int i = 0; i < 3; i++) {
    d.arg[i] = string_field(o, args[i]);
    Napi::Value n = o.Get(argns[i]);
    d.argn[i] = n.IsBigInt() ? bigint_value(n) : 0;
  }
  Napi::Value buckets = o.Get("buckets");
  if (buckets.IsArray()) {
    Napi::Array list = buckets.As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); i++) d.bounds.push_back(integer_value(list.Get(i)));
  }
  return d;
}

void finalize_mapping(Napi::Env, void*, std::shared_ptr<Mapping>* hint) { delete hint; }

// Every running collector thread of this process, so that they are stopped (and their regions' collector
// locks given back) before the process exits, whatever the way it exits.
std::mutex live_loops_mutex;
std::set<CollectionLoop*> live_loops;

void stop_live_loops() {
  std::lock_guard<std::mutex> lock(live_loops_mutex);
  for (CollectionLoop* loop : live_loops) loop->stop();
}

Napi::Value event_to_js(Napi::Env env, const CollectorEvent& e) {
  Napi::Object o = Napi::Object::New(env);
  switch (e.kind) {
    case CollectorEvent::Kind::kCollecting:
      o.Set("type", "collecting");
      o.Set("tookOver", e.took_over);
      break;
    case CollectorEvent::Kind::kLog:
      o.Set("type", "log");
      o.Set("message", e.text);
      break;
    case CollectorEvent::Kind::kAlarm:
      o.Set("type", "alarm");
      o.Set("alarm", e.alarm);
      o.Set("metric", e.metric);
      o.Set("value", Napi::BigInt::New(env, e.value));
      o.Set("threshold", Napi::BigInt::New(env, e.threshold));
      o.Set("msg", e.text);
      break;
  }
  return o;
}

}  // namespace

class RegionWrap : public Napi::ObjectWrap<RegionWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "NativeRegion",
                       {
                           InstanceMethod<&RegionWrap::Info>("info"),
                           InstanceMethod<&RegionWrap::Buffer>("buffer"),
                           InstanceMethod<&RegionWrap::Define>("define"),
                           InstanceMethod<&RegionWrap::Lookup>("lookup"),
                           InstanceMethod<&RegionWrap::Count>("count"),
                           InstanceMethod<&RegionWrap::Meta>("meta"),
                           InstanceMethod<&RegionWrap::Snapshot>("snapshot"),
                           InstanceMethod<&RegionWrap::Load>("load"),
                           InstanceMethod<&RegionWrap::Add>("add"),
                           InstanceMethod<&RegionWrap::Store>("store"),
                           InstanceMethod<&RegionWrap::Update>("update"),
                           InstanceMethod<&RegionWrap::Close>("close"),
                           InstanceMethod<&RegionWrap::HoldLockForTest>("holdRegistrationLockForTest"),
                           InstanceMethod<&RegionWrap::StartCollector>("startCollector"),
                           InstanceMethod<&RegionWrap::StopCollector>("stopCollector"),
                           InstanceMethod<&RegionWrap::SetThresholds>("setThresholds"),
                       });
  }

  ~RegionWrap() { stop_collector(); }

  // new NativeRegion(path, create, { metricCapacity, valueCapacity, childrenCapacity, laneCount, mode })
  explicit RegionWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RegionWrap>(info) {
    Napi::Env env = info.Env();
    std::string path = info[0].As<Napi::String>().Utf8Value();
    bool create = info[1].ToBoolean().Value();
    Napi::Object o = info[2].IsObject() ? info[2].As<Napi::Object>() : Napi::Object::New(env);
    CreateOptions options;
    options.metric_capacity = option(o, "metricCapacity", options.metric_capacity);
    options.value_capacity = option(o, "valueCapacity", 0);
    options.children_capacity = option(o, "childrenCapacity", 0);
    options.lane_count = option(o, "laneCount", options.lane_count);
    options.mode = mode_t(option(o, "mode", options.mode));
    options.allow_foreign_owner = o.Get("allowForeignOwner").ToBoolean().Value();
    try {
      region_ = std::shared_ptr<Region>(Region::open(path, create, options));
    } catch (const RegionException& e) {
      rethrow(env, e);
    }
  }

 private:
  Region& region(Napi::Env env) {
    if (!region_) throw Napi::Error::New(env, "region is closed");
    return *region_;
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const Region& r = region(env);
    const RegionHeader& h = r.header();
    Napi::Object o = Napi::Object::New(env);
    o.Set("path", r.path());
    o.Set("layoutVersion", h.layout_version);
    o.Set("regionBytes", double(h.region_bytes));
    o.Set("createdUnixMs", double(h.created_unix_ms));
    o.Set("metricCapacity", h.metric_capacity);
    o.Set("valueCapacity", h.value_capacity);
    o.Set("childrenCapacity", h.children_capacity);
    o.Set("laneCount", h.lane_count);
    o.Set("lane", r.lane());
    o.Set("cellsOffset", double(h.cells_offset));
    o.Set("cellBytes", double(sizeof(ValueCell)));
    o.Set("lanedOffsetInCell", double(offsetof(ValueCell, laned)));
    o.Set("lanesOffset", double(h.lanes_offset));
    o.Set("laneStride", double(h.lane_stride));
    o.Set("metricCountOffset", double(offsetof(RegionHeader, metric_count)));
    o.Set("lanesHighWaterOffset", double(offsetof(RegionHeader, lanes_high_water)));
    o.Set("valueCount", r.value_count());
    o.Set("lockRepairs", h.lock_repairs);
    o.Set("collectorPid", r.collector_pid());
    o.Set("collectorTakeovers", h.collector_takeovers);
    o.Set("collecting", bool(loop_));
    return o;
  }

  // An ArrayBuffer over the whole mapping. Throws on runtimes that refuse external buffers (V8 sandbox);
  // the caller then uses the per-operation methods below instead.
  Napi::Value Buffer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Region& r = region(env);
    if (std::getenv("SHMETRICS_FORCE_NATIVE_VALUES"))
      throw Napi::Error::New(env, "external buffers disabled by SHMETRICS_FORCE_NATIVE_VALUES");
    auto* keep = new std::shared_ptr<Mapping>(r.mapping());
    napi_value result;
    napi_status status = napi_create_external_arraybuffer(
        env, (*keep)->base(), (*keep)->bytes(),
        [](napi_env e, void* data, void* hint) {
          finalize_mapping(Napi::Env(e), data, static_cast<std::shared_ptr<Mapping>*>(hint));
        },
        keep, &result);
    if (status != napi_ok) {
      delete keep;
      throw Napi::Error::New(env, "external ArrayBuffers are not allowed in this runtime");
    }
    return Napi::Value(env, result);
  }

  Napi::Value Define(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    try {
      Region::Defined d = region(env).define(definition_from(info[0].As<Napi::Object>()));
      Napi::Object o = Napi::Object::New(env);
      o.Set("slot", d.slot);
      o.Set("created", d.created);
      return o;
    } catch (const RegionException& e) {
      rethrow(env, e);
    }
  }

  Napi::Value Lookup(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Napi::Number::New(env, double(region(env).lookup(info[0].As<Napi::String>().Utf8Value())));
  }

  Napi::Value Count(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Napi::Number::New(env, region(env).metric_count());
  }

  Napi::Value Meta(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Region& r = region(env);
    try {
      const MetricMeta& m = r.meta(info[0].As<Napi::Number>().Uint32Value());
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", std::string(m.name, m.name_bytes));
      o.Set("type", m.type);
      o.Set("collector", m.collector);
      o.Set("freq", m.freq_seconds);
      o.Set("initialValue", Napi::BigInt::New(env, m.initial_value));
      o.Set("resetAfterPush", bool(m.reset_after_push));
      o.Set("valueIndex", m.value_index);
      o.Set("valueCount", m.value_count);
      o.Set("oid", std::string(m.oid, strnlen(m.oid, sizeof m.oid)));
      const char* args[3] = {"arg1", "arg2", "arg3"};
      const char* argns[3] = {"arg1n", "arg2n", "arg3n"};
      for (int i = 0; i < 3; i++) {
        o.Set(args[i], std::string(m.arg[i], strnlen(m.arg[i], sizeof m.arg[i])));
        o.Set(argns[i], Napi::BigInt::New(env, m.argn[i]));
      }
      o.Set("alias", m.type == kAlias ? Napi::Value(Napi::String::New(env, name_of(r, m.alias_target)))
                                      : env.Undefined());
      std::vector<uint32_t> children = r.children(m);
      Napi::Array names = Napi::Array::New(env, children.size());
      for (size_t i = 0; i < children.size(); i++) names.Set(uint32_t(i), name_of(r, children[i]));
      o.Set("children", names);
      std::vector<int64_t> bounds = r.bounds(m);
      Napi::Array buckets = Napi::Array::New(env, bounds.size());
      for (size_t i = 0; i < bounds.size(); i++) buckets.Set(uint32_t(i), Napi::Number::New(env, double(bounds[i])));
      o.Set("buckets", buckets);
      return o;
    } catch (const RegionException& e) {
      rethrow(env, e);
    }
  }

  static std::string name_of(const Region& r, uint32_t slot) {
    const MetricMeta& m = r.meta(slot);
    return std::string(m.name, m.name_bytes);
  }

  // snapshot(out: BigInt64Array) -> number of values written
  Napi::Value Snapshot(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::TypedArray out = info[0].As<Napi::TypedArray>();
    if (out.TypedArrayType() != napi_bigint64_array) throw Napi::TypeError::New(env, "snapshot needs a BigInt64Array");
    auto* data = reinterpret_cast<int64_t*>(static_cast<uint8_t*>(out.ArrayBuffer().Data()) + out.ByteOffset());
    return Napi::Number::New(env, region(env).snapshot(data, uint32_t(out.ElementLength())));
  }

  Napi::Value Load(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Napi::BigInt::New(env, region(env).load(info[0].As<Napi::Number>().Uint32Value()));
  }

  Napi::Value Add(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    region(env).add(info[0].As<Napi::Number>().Uint32Value(), integer_value(info[1]));
    return env.Undefined();
  }

  Napi::Value Store(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    region(env).store(info[0].As<Napi::Number>().Uint32Value(), integer_value(info[1]));
    return env.Undefined();
  }

  // update(value, op: 0 mul | 1 div | 2 max | 3 min, operand) -> 0 changed | 1 unchanged | 2 div by zero | 3 overflow
  Napi::Value Update(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    UpdateOp op = static_cast<UpdateOp>(info[1].As<Napi::Number>().Uint32Value());
    UpdateResult r = region(env).update(info[0].As<Napi::Number>().Uint32Value(), op, bigint_value(info[2]));
    return Napi::Number::New(env, int(r));
  }

  // startCollector({ standby, tickMs }, onEvent(event)): runs the collector thread of this process.
  Napi::Value StartCollector(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    region(env);  // throws when closed
    if (loop_) return env.Undefined();
    Napi::Object o = info[0].As<Napi::Object>();
    bool standby = o.Get("standby").ToBoolean().Value();
    int tick_ms = int(option(o, "tickMs", 250));
    events_ = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "shmetrics collector", 0, 1);
    events_.Unref(env);  // the collector never keeps a process alive by itself
    Napi::ThreadSafeFunction events = events_;
    auto sink = [events](CollectorEvent event) mutable {
      auto* heap = new CollectorEvent(std::move(event));
      napi_status status = events.NonBlockingCall(heap, [](Napi::Env env, Napi::Function callback, CollectorEvent* e) {
        std::unique_ptr<CollectorEvent> owned(e);
        if (env == nullptr || callback == nullptr) return;
        // No JavaScript frame is below this call, so an exception must not escape into C++: a listener's
        // error becomes an uncaught exception, as from any event listener; a call refused because the
        // environment is going away at exit is dropped.
        try {
          callback.Call({event_to_js(env, *owned)});
        } catch (const Napi::Error& error) {
          Napi::Value value = error.Value();
          if (!value.IsEmpty() && !value.IsUndefined()) napi_fatal_exception(env, value);
        }
      });
      if (status != napi_ok) delete heap;
    };
    loop_ = std::make_unique<CollectionLoop>(region_, sink, tick_ms);
    try {
      loop_->start(standby);
    } catch (const RegionException& e) {
      loop_.reset();
      events_.Release();
      rethrow(env, e);
    }
    std::lock_guard<std::mutex> lock(live_loops_mutex);
    live_loops.insert(loop_.get());
    return env.Undefined();
  }

  Napi::Value StopCollector(const Napi::CallbackInfo& info) {
    stop_collector();
    return info.Env().Undefined();
  }

  void stop_collector() {
    if (!loop_) return;
    {
      std::lock_guard<std::mutex> lock(live_loops_mutex);
      live_loops.erase(loop_.get());
    }
    loop_->stop();
    loop_.reset();
    events_.Release();
  }

  // setThresholds([{ slot, valueIndex, metric, value, reset?, rateMs, alarm, msg }])
  Napi::Value SetThresholds(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!loop_) throw Napi::Error::New(env, "thresholds need a collector: open the region with collect");
    Napi::Array list = info[0].As<Napi::Array>();
    std::vector<Threshold> thresholds;
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Object o = list.Get(i).As<Napi::Object>();
      Threshold t;
      t.slot = o.Get("slot").As<Napi::Number>().Uint32Value();
      t.value_index = o.Get("valueIndex").As<Napi::Number>().Uint32Value();
      t.metric = string_field(o, "metric");
      t.value = bigint_value(o.Get("value"));
      t.has_reset = o.Get("reset").IsBigInt();
      if (t.has_reset) t.reset = bigint_value(o.Get("reset"));
      t.rate_ms = o.Get("rateMs").As<Napi::Number>().Int64Value();
      t.alarm = string_field(o, "alarm");
      t.msg = string_field(o, "msg");
      thresholds.push_back(std::move(t));
    }
    loop_->thresholds().set(std::move(thresholds));
    return env.Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    stop_collector();
    region_.reset();  // gives the lane back; ArrayBuffers keep the mapping alive until they are collected
    return info.Env().Undefined();
  }

  Napi::Value HoldLockForTest(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!std::getenv("SHMETRICS_TEST_HOOKS")) throw Napi::Error::New(env, "test hooks need SHMETRICS_TEST_HOOKS=1");
    try {
      region(env).hold_registration_lock_for_test(info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "");
    } catch (const RegionException& e) {
      rethrow(env, e);
    }
    return env.Undefined();
  }

  std::shared_ptr<Region> region_;
  std::unique_ptr<CollectionLoop> loop_;
  Napi::ThreadSafeFunction events_;
};

Napi::Value LoadLibrary(const Napi::CallbackInfo& info) {
  try {
    load_library(info[0].As<Napi::String>().Utf8Value());
  } catch (const RegionException& e) {
    rethrow(info.Env(), e);
  }
  return info.Env().Undefined();
}

Napi::Value HasSymbol(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), find_symbol(info[0].As<Napi::String>().Utf8Value()) != nullptr);
}

Napi::Function InitTextFiles(Napi::Env env);  // text_files_wrap.cc

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeRegion", RegionWrap::Init(env));
  exports.Set("NativeTextFiles", InitTextFiles(env));
  exports.Set("layoutVersion", kLayoutVersion);
  exports.Set("maxNameBytes", uint32_t(kMaxNameBytes));
  exports.Set("dlopen", Napi::Function::New<LoadLibrary>(env, "dlopen"));
  exports.Set("hasSymbol", Napi::Function::New<HasSymbol>(env, "hasSymbol"));
  env.AddCleanupHook(stop_live_loops);
  static std::once_flag at_exit;
  std::call_once(at_exit, [] { std::atexit(stop_live_loops); });
  return exports;
}

NODE_API_MODULE(shmetrics, Init)

}  // namespace shmetrics
