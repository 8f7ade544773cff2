// Registering metrics and finding them by name. Registration is the only thing that takes the region's
// lock; lookups are lock-free because published entries never change.

#include <errno.h>

#include <cstring>

#include "region.h"

namespace shmetrics {

namespace {

uint64_t fnv1a(const char* data, size_t bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < bytes; i++) {
    h ^= uint8_t(data[i]);
    h *= 0x100000001b3ULL;
  }
  return h;
}

void copy_text(char* dst, size_t capacity, const std::string& src) {
  size_t n = std::min(src.size(), capacity - 1);
  memcpy(dst, src.data(), n);
  dst[n] = '\0';
}

[[noreturn]] void fail(RegionException::Kind kind, const std::string& message) { throw RegionException(kind, message); }

}  // namespace

uint32_t Region::metric_count() const { return __atomic_load_n(&header_->metric_count, __ATOMIC_ACQUIRE); }

uint32_t Region::value_count() const { return __atomic_load_n(&header_->value_count, __ATOMIC_ACQUIRE); }

int64_t Region::find_slot(const char* name, size_t bytes) const {
  const uint32_t mask = header_->index_slots - 1;
  const uint32_t capacity = header_->metric_capacity;
  uint32_t* idx = index();
  for (uint32_t probe = 0, i = uint32_t(fnv1a(name, bytes)) & mask; probe <= mask; probe++, i = (i + 1) & mask) {
    uint32_t entry = __atomic_load_n(&idx[i], __ATOMIC_ACQUIRE);
    if (entry == 0) return -1;
    uint32_t slot = entry - 1;
    if (slot >= capacity) continue;  // a corrupt entry cannot match anything
    const MetricMeta& m = metas()[slot];
    if (__atomic_load_n(&m.state, __ATOMIC_ACQUIRE) == kPublished && m.name_bytes == bytes &&
        memcmp(m.name, name, bytes) == 0)
      return slot;
  }
  return -1;
}

int64_t Region::lookup(const std::string& name) const {
  if (name.size() > kMaxNameBytes) return -1;
  return find_slot(name.data(), name.size());
}

void Region::insert_index(uint32_t slot) {
  const MetricMeta& m = metas()[slot];
  const uint32_t mask = header_->index_slots - 1;
  uint32_t* idx = index();
  for (uint32_t probe = 0, i = uint32_t(fnv1a(m.name, m.name_bytes)) & mask; probe <= mask;
       probe++, i = (i + 1) & mask) {
    uint32_t entry = idx[i];
    if (entry == slot + 1) return;  // already there (a repair finishing a dead owner's work)
    if (entry == 0) {
      __atomic_store_n(&idx[i], slot + 1, __ATOMIC_RELEASE);
      return;
    }
  }
  fail(RegionException::Kind::kFull, path_ + ": the name index is full");
}

const MetricMeta& Region::meta(uint32_t slot) const {
  if (slot >= metric_count()) fail(RegionException::Kind::kArgument, path_ + ": no metric in slot " + std::to_string(slot));
  const MetricMeta& m = metas()[slot];
  const RegionHeader& h = *header_;
  bool ok = m.state == kPublished && m.name_bytes >= 1 && m.name_bytes <= kMaxNameBytes && m.type < kTypeCount &&
            m.collector < kCollectorCount && uint64_t(m.value_index) + m.value_count <= h.value_capacity &&
            uint64_t(m.children_start) + m.children_count <= h.children_capacity &&
            (m.type != kAlias || m.alias_target < h.metric_capacity) && m.value_index < h.value_capacity &&
            (m.type != kHistogram || (m.value_count > kHistogramExtraValues &&
                                      uint64_t(m.bounds_start) + m.value_count - kHistogramExtraValues <= h.value_capacity));
  if (!ok) fail(RegionException::Kind::kFormat, path_ + ": corrupt metric entry in slot " + std::to_string(slot));
  return m;
}

std::vector<uint32_t> Region::children(const MetricMeta& m) const {
  const uint32_t* pool = children_pool();
  return std::vector<uint32_t>(pool + m.children_start, pool + m.children_start + m.children_count);
}

std::vector<int64_t> Region::bounds(const MetricMeta& m) const {
  if (m.type != kHistogram) return {};
  const int64_t* pool = bounds_pool() + m.bounds_start;
  return std::vector<int64_t>(pool, pool + (m.value_count - kHistogramExtraValues));
}

uint32_t Region::resolve(const std::string& name, const char* role) const {
  int64_t slot = lookup(name);
  if (slot < 0) fail(RegionException::Kind::kUnknown, std::string(role) + ": unknown metric \"" + name + "\"");
  return uint32_t(slot);
}

Region::Defined Region::define(const Definition& def) {
  if (def.name.empty() || def.name.size() > kMaxNameBytes || def.type >= kTypeCount || def.collector >= kCollectorCount ||
      def.oid.size() > kMaxOidBytes || def.arg[0].size() > kMaxArgBytes || def.arg[1].size() > kMaxArgBytes ||
      def.arg[2].size() > kMaxArgBytes)
    fail(RegionException::Kind::kArgument, "invalid definition of \"" + def.name + "\"");

  lock_registration();
  struct Unlock {
    Region* r;
    ~Unlock() { r->unlock_registration(); }
  } unlock{this};

  int64_t existing = lookup(def.name);
  if (existing >= 0) return {uint32_t(existing), false};

  RegionHeader& h = *header_;
  const uint32_t slot = h.metric_count;
  if (slot >= h.metric_capacity)
    fail(RegionException::Kind::kFull,
         path_ + ": region full: all " + std::to_string(h.metric_capacity) + " metric slots are used (cannot add \"" +
             def.name + "\")");
  std::vector<uint32_t> child_slots;
  for (const std::string& child : def.children) child_slots.push_back(resolve(child, "children"));
  uint32_t alias_target = kNone;
  if (def.type == kAlias) alias_target = resolve(def.alias, "alias");
  if (def.type == kHistogram) {
    if (def.bounds.empty()) fail(RegionException::Kind::kArgument, "histogram \"" + def.name + "\" needs bucket bounds");
    for (size_t i = 1; i < def.bounds.size(); i++)
      if (def.bounds[i] <= def.bounds[i - 1])
        fail(RegionException::Kind::kArgument, "histogram \"" + def.name + "\": bucket bounds must increase");
  }
  const uint32_t bound_count = def.type == kHistogram ? uint32_t(def.bounds.size()) : 0;
  const uint32_t own_values = def.type == kAlias ? 0 : def.type == kHistogram ? bound_count + kHistogramExtraValues : 1;
  if (uint64_t(h.bounds_used) + bound_count > h.value_capacity)
    fail(RegionException::Kind::kFull, path_ + ": region full: no room for " + std::to_string(bound_count) +
                                           " more histogram bounds (cannot add \"" + def.name + "\")");
  if (uint64_t(h.value_count) + own_values > h.value_capacity)
    fail(RegionException::Kind::kFull,
         path_ + ": region full: all " + std::to_string(h.value_capacity) + " value cells are used (cannot add \"" +
             def.name + "\")");
  if (uint64_t(h.children_used) + child_slots.size() > h.children_capacity)
    fail(RegionException::Kind::kFull, path_ + ": region full: no room for " + std::to_string(child_slots.size()) +
                                           " more child references (cannot add \"" + def.name + "\")");

  MetricMeta& m = metas()[slot];
  memset(&m, 0, sizeof m);
  __atomic_store_n(&m.state, kWriting, __ATOMIC_RELEASE);
  m.type = def.type;
  m.collector = def.collector;
  m.reset_after_push = def.reset_after_push ? 1 : 0;
  m.freq_seconds = def.freq_seconds;
  m.alias_target = alias_target;
  m.value_index = def.type == kAlias ? meta(alias_target).value_index : h.value_count;
  m.value_count = own_values;
  m.children_start = h.children_used;
  m.bounds_start = h.bounds_used;
  m.children_count = uint32_t(child_slots.size());
  m.initial_value = def.initial_value;
  for (int i = 0; i < 3; i++) {
    m.argn[i] = def.argn[i];
    copy_text(m.arg[i], sizeof m.arg[i], def.arg[i]);
  }
  copy_text(m.oid, sizeof m.oid, def.oid);
  copy_text(m.name, sizeof m.name, def.name);
  m.name_bytes = uint32_t(def.name.size());
  if (child_slots.size()) memcpy(children_pool() + m.children_start, child_slots.data(), child_slots.size() * 4);
  if (bound_count) memcpy(bounds_pool() + m.bounds_start, def.bounds.data(), bound_count * sizeof(int64_t));
  for (uint32_t v = 0; v < own_values; v++) {
    ValueCell& cell = cells()[m.value_index + v];
    memset(&cell, 0, sizeof cell);
    if (def.type != kHistogram) cell.base = def.initial_value;
  }

  // Publish. A process that dies anywhere below leaves state == kPublished, and the repair completes the
  // remaining steps (all idempotent); one that dies above leaves kWriting, and the repair discards it.
  __atomic_store_n(&m.state, kPublished, __ATOMIC_RELEASE);
  h.children_used = m.children_start + m.children_count;
  h.bounds_used = m.bounds_start + bound_count;
  __atomic_store_n(&h.value_count, m.value_index + own_values > h.value_count ? m.value_index + own_values : h.value_count,
                   __ATOMIC_RELEASE);
  insert_index(slot);
  __atomic_store_n(&h.metric_count, slot + 1, __ATOMIC_RELEASE);
  h.registrations++;
  return {slot, true};
}

void Region::repair_after_owner_death() {
  RegionHeader& h = *header_;
  h.lock_repairs++;
  const uint32_t slot = h.metric_count;
  if (slot >= h.metric_capacity) return;
  MetricMeta& m = metas()[slot];
  if (m.state != kPublished) {
    memset(&m, 0, sizeof m);
    return;
  }
  uint32_t children_end = m.children_start + m.children_count;
  if (children_end > h.children_used) h.children_used = children_end;
  if (m.type == kHistogram && m.bounds_start + m.value_count - kHistogramExtraValues > h.bounds_used)
    h.bounds_used = m.bounds_start + m.value_count - kHistogramExtraValues;
  if (m.value_count && m.value_index + m.value_count > h.value_count)
    __atomic_store_n(&h.value_count, m.value_index + m.value_count, __ATOMIC_RELEASE);
  insert_index(slot);
  __atomic_store_n(&h.metric_count, slot + 1, __ATOMIC_RELEASE);
  h.registrations++;
}

void Region::hold_registration_lock_for_test(const std::string& partial_name) {
  lock_registration();
  if (partial_name.empty()) return;
  MetricMeta& m = metas()[header_->metric_count];
  memset(&m, 0, sizeof m);
  __atomic_store_n(&m.state, kWriting, __ATOMIC_RELEASE);
  copy_text(m.name, sizeof m.name, partial_name);
  m.name_bytes = uint32_t(std::min(partial_name.size(), kMaxNameBytes));
}

}  // namespace shmetrics
