// The shared-memory layout of a shmetrics region, version 1.
//
// This file is the one place the on-disk/in-memory format is defined. Any change to a size, an offset or
// the meaning of a field bumps kLayoutVersion; a process refuses a region of another version instead of
// guessing (LMDB's rule).
//
// A region is one file mapped MAP_SHARED by every process (default /dev/shm/shmetrics-<name>):
//
//   offset 0             RegionHeader            one page: identity, capacities, section offsets,
//                                                counters, the registration lock
//   header.metas_offset  MetricMeta[capacity]    one immutable entry per registered metric
//   header.index_offset  uint32_t[index_slots]   open-addressing name index: slot+1, 0 = empty
//   header.children_offset uint32_t[children_capacity]  child metric slots of sum/avg/... collectors
//   header.bounds_offset int64_t[value_capacity]  bucket upper bounds of histograms
//   header.cells_offset  ValueCell[value_capacity]  one 64-byte line per value: the shared "base" part
//   header.lane_table_offset LaneEntry[lane_count]   who owns each lane (a robust mutex per lane)
//   header.lanes_offset  int64_t[lane_count][lane_stride/8]  per-writer additive parts of every value
//
// The value of value v is, modulo 2^64:
//
//     cells[v].base + sum over lanes l < lanes_high_water of lane_l[v]
//
// Why lanes: an increment is the hot path. A lane is written by exactly one thread (its owner, which holds
// the lane's mutex for as long as it is attached), so an increment is a plain load+add+store with no lock
// prefix and no cache line shared with another writer: about 1 ns instead of about 10 ns for an atomic RMW
// on a shared line (see README "Performance"). A dead owner's lane keeps its numbers and is handed to the
// next process that attaches, so nothing recorded is lost when a worker dies.
//
// Protocol (implemented once in C++ in values.cc and once in TypeScript in src/region/lane-values.ts):
//   * inc/dec: set cells[v].laned = 1 once (before the first lane write), then own_lane[v] += d.
//   * set(x): if laned == 0, store base = x; else store base = x - sum(lanes). A plain 64-bit store:
//     increments that race with it land after it, none is lost.
//   * mul/div/set_max/set_min: CAS loop on base: b = base, s = sum(lanes), new = f(b + s),
//     CAS(base, b, new - s). Two such operations never both win.
//   * a collector-driven value is written only by the collector (API writes are refused): a plain store.
//   * every 64-bit field read by another process is read and written with single aligned 8-byte
//     accesses, so no reader ever sees half of an old value and half of a new one.
//
// Registration (define) takes header.registration_lock, a process-shared robust mutex; nothing else does.
// An entry is written, then published in this order: meta.state = kPublished, index slot, metric_count.
// A process that dies holding the lock is repaired by the next locker (region.cc: repair_after_owner_death).

#pragma once

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

namespace shmetrics {

// "SHMETRIC" read as a little-endian uint64. Read on a machine of the other byte order it comes out
// byte-swapped, which is how a byte-order mismatch is told apart from a foreign file.
constexpr uint64_t kMagic = 0x43495254454D4853ULL;
constexpr uint64_t kMagicSwapped = 0x53484D4554524943ULL;

// Bumped on every incompatible change of this file. 2: the collector lock and the js collector kind.
// 3: histograms (the bounds section, MetricMeta::bounds_start).
constexpr uint32_t kLayoutVersion = 3;

// Every section starts on a page boundary so that a section never shares a page (or a cache line) with
// another one, and so that lanes of different writers never share a line.
constexpr size_t kPageBytes = 4096;

// x86-64 and arm64 both use 64-byte cache lines; every multi-writer value gets a line of its own.
constexpr size_t kCacheLine = 64;

// uWSGI's longest built-in names (worker.N.core.C.offloaded_requests) are under 40 bytes; 127 leaves room
// for deep dotted hierarchies while keeping a MetricMeta under 1.1 KiB. Documented in the README.
constexpr size_t kMaxNameBytes = 127;
// Dotted decimal, e.g. "3.12.2.4.8": 63 bytes is 16+ arcs, deeper than any OID uWSGI assigns.
constexpr size_t kMaxOidBytes = 63;
// arg1..arg3 carry file paths and symbol names for collectors; 255 matches NAME_MAX for one path element
// and most real /proc or /sys paths.
constexpr size_t kMaxArgBytes = 255;

// Defaults chosen at create time; each can be overridden by the caller.
// 4096 metrics: uWSGI registers ~54 built-ins for 2 workers; 4096 leaves room for large per-worker trees.
constexpr uint32_t kDefaultMetricCapacity = 4096;
// Values outnumber metrics once a metric owns several (a histogram's buckets): 4 per metric.
constexpr uint32_t kDefaultValuesPerMetric = 4;
// Child references of aggregate collectors: 4 per metric on average.
constexpr uint32_t kDefaultChildrenPerMetric = 4;
// One lane per attached writer thread. 64 covers a master, dozens of workers and some worker_threads,
// at 128 KiB a lane with the default capacities (the region's largest section). A writer that finds no
// free lane still works: it falls back to atomic adds on the shared base.
constexpr uint32_t kDefaultLaneCount = 64;

// Upper bounds that keep a corrupt or hostile header from making us map or walk absurd sizes.
constexpr uint32_t kMaxMetricCapacity = 1u << 20;
constexpr uint32_t kMaxValueCapacity = 1u << 24;
constexpr uint32_t kMaxLaneCount = 4096;

enum MetricType : uint8_t {  // uWSGI's numeric codes
  kCounter = 0,
  kGauge = 1,
  kAbsolute = 2,
  kAlias = 3,
  // Not in uWSGI. Its values are, from value_index: one count per bucket (observations <= that bucket's
  // upper bound and > the previous one), one for +Inf, then the count and the sum of all observations.
  kHistogram = 4,
};
constexpr uint8_t kTypeCount = 5;
// A histogram's values besides its finite buckets: the +Inf bucket, the count and the sum.
constexpr uint32_t kHistogramExtraValues = 3;

enum Collector : uint8_t {
  kManual = 0,
  kPtr = 1,
  kFile = 2,
  kSum = 3,
  kAvg = 4,
  kAccumulator = 5,
  kMultiplier = 6,
  kAdder = 7,
  kFunc = 8,
  kJs = 9,  // a JavaScript function run by the process that defined the metric, not by the collector thread
};
constexpr uint8_t kCollectorCount = 10;

enum MetaState : uint32_t {
  kFree = 0,
  kWriting = 1,    // being written under the registration lock; never visible through the index
  kPublished = 2,  // immutable from here on
};

// uint32 slot or value references that point nowhere.
constexpr uint32_t kNone = 0xFFFFFFFFu;

struct RegionHeader {
  // --- identity: written once at create, before the file becomes visible under its name ---
  uint64_t magic;
  uint8_t pointer_bytes;  // sizeof(void*) of the creator: catches a 32-bit/64-bit mix
  uint8_t long_bytes;     // sizeof(long)
  uint16_t header_bytes;  // sizeof(RegionHeader): catches a struct-packing mismatch
  uint32_t layout_version;
  uint64_t region_bytes;  // the file's exact size
  int64_t created_unix_ms;

  // --- capacities (fixed at create) ---
  uint32_t metric_capacity;
  uint32_t value_capacity;
  uint32_t children_capacity;
  uint32_t index_slots;  // power of two, >= 2 * metric_capacity, so probes stay short
  uint32_t lane_count;
  uint32_t reserved0;

  // --- section offsets (derivable from the capacities; stored so a reader can check them) ---
  uint64_t metas_offset;
  uint64_t index_offset;
  uint64_t children_offset;
  uint64_t bounds_offset;  // int64_t[value_capacity]: a histogram has fewer bounds than values
  uint64_t cells_offset;
  uint64_t lane_table_offset;
  uint64_t lanes_offset;
  uint64_t lane_stride;  // bytes between lane l and lane l+1, a multiple of kPageBytes

  // --- mutable counters; each on its own line because every registration writes them ---
  alignas(kCacheLine) uint32_t metric_count;  // published metrics; slots [0, metric_count) are kPublished
  uint32_t value_count;                        // values handed out: [0, value_count)
  uint32_t children_used;
  uint32_t lanes_high_water;  // lanes [0, lanes_high_water) may hold non-zero numbers; readers sum these
  uint64_t registrations;     // bumped on every new metric
  uint32_t lock_repairs;      // how often a dead lock owner's half-done registration was repaired
  uint32_t bounds_used;       // histogram bounds handed out: [0, bounds_used)

  alignas(kCacheLine) pthread_mutex_t registration_lock;  // robust, process-shared; guards registration only

  // Held by the thread that runs the collectors, for as long as it does: exactly one collector per region,
  // and a standby blocked on it takes over the moment the holder dies (EOWNERDEAD).
  alignas(kCacheLine) pthread_mutex_t collector_lock;
  int32_t collector_pid;         // who holds collector_lock (diagnostic; 0 = nobody yet)
  uint32_t collector_takeovers;  // how often a standby took over from a dead collector
  int64_t collector_since_ms;    // when the current collector took the lock
};
static_assert(sizeof(RegionHeader) <= kPageBytes, "the header must fit in its page");

struct MetricMeta {
  uint32_t state;  // MetaState
  uint8_t type;    // MetricType
  uint8_t collector;
  uint8_t reset_after_push;
  uint8_t reserved0;
  uint32_t value_index;  // first value; an alias shares its target's
  uint32_t value_count;  // values owned: 1 for a scalar, 0 for an alias
  uint32_t freq_seconds;
  uint32_t alias_target;  // slot, or kNone
  uint32_t children_start;
  uint32_t children_count;
  uint32_t name_bytes;
  uint32_t bounds_start;  // histograms: first of its value_count - kHistogramExtraValues bucket bounds
  int64_t initial_value;
  int64_t argn[3];
  char name[kMaxNameBytes + 1];
  char oid[kMaxOidBytes + 1];
  char arg[3][kMaxArgBytes + 1];
  uint8_t reserved2[56];
};
static_assert(sizeof(MetricMeta) % kCacheLine == 0, "metas must not straddle lines");

struct ValueCell {
  int64_t base;           // the shared part of the value (set, mul, collectors, initial_value)
  uint32_t laned;         // 1 once any lane may hold a non-zero part of this value
  uint32_t reserved0;
  int64_t last_collected_ms;  // for the collector loop (owner only)
  int64_t reserved[5];
};
static_assert(sizeof(ValueCell) == kCacheLine, "one value per cache line");

struct alignas(kCacheLine) LaneEntry {
  pthread_mutex_t owner;  // robust; held by the owning thread for as long as it is attached
  int32_t pid;            // diagnostic only: who claimed it last
  uint32_t claims;        // how many times this lane was claimed
};
static_assert(sizeof(LaneEntry) == kCacheLine, "one lane entry per cache line");

// The byte offsets and sizes of every section for a given set of capacities. Used to create a region and
// to check a header read from a file.
struct Geometry {
  uint32_t metric_capacity;
  uint32_t value_capacity;
  uint32_t children_capacity;
  uint32_t index_slots;
  uint32_t lane_count;
  uint64_t metas_offset;
  uint64_t index_offset;
  uint64_t children_offset;
  uint64_t bounds_offset;  // int64_t[value_capacity]: a histogram has fewer bounds than values
  uint64_t cells_offset;
  uint64_t lane_table_offset;
  uint64_t lanes_offset;
  uint64_t lane_stride;
  uint64_t region_bytes;
};

inline uint64_t round_up(uint64_t n, uint64_t to) { return (n + to - 1) / to * to; }

inline Geometry compute_geometry(uint32_t metric_capacity, uint32_t value_capacity, uint32_t children_capacity,
                                 uint32_t lane_count) {
  Geometry g{};
  g.metric_capacity = metric_capacity;
  g.value_capacity = value_capacity;
  g.children_capacity = children_capacity;
  g.lane_count = lane_count;
  uint32_t slots = 1;
  while (slots < 2ull * metric_capacity) slots <<= 1;
  g.index_slots = slots;
  uint64_t at = kPageBytes;  // header page
  g.metas_offset = at;
  at = round_up(at + uint64_t(metric_capacity) * sizeof(MetricMeta), kPageBytes);
  g.index_offset = at;
  at = round_up(at + uint64_t(slots) * sizeof(uint32_t), kPageBytes);
  g.children_offset = at;
  at = round_up(at + uint64_t(children_capacity) * sizeof(uint32_t), kPageBytes);
  g.bounds_offset = at;
  at = round_up(at + uint64_t(value_capacity) * sizeof(int64_t), kPageBytes);
  g.cells_offset = at;
  at = round_up(at + uint64_t(value_capacity) * sizeof(ValueCell), kPageBytes);
  g.lane_table_offset = at;
  at = round_up(at + uint64_t(lane_count) * sizeof(LaneEntry), kPageBytes);
  g.lanes_offset = at;
  g.lane_stride = round_up(uint64_t(value_capacity) * sizeof(int64_t), kPageBytes);
  g.region_bytes = at + uint64_t(lane_count) * g.lane_stride;
  return g;
}

}  // namespace shmetrics
