// A mapped shmetrics region: create or attach, validate, claim a lane, register and look up metrics, and
// read or update values with the protocol described in layout.h. No Node.js types here, so the same code
// serves the addon and native unit tests.

#pragma once

#include <sys/types.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "layout.h"

namespace shmetrics {

class RegionException : public std::runtime_error {
 public:
  enum class Kind {
    kFormat,    // not a usable region file
    kOpen,      // the operating system refused (permissions, missing file, no space)
    kFull,      // a fixed capacity is used up
    kUnknown,   // a child or alias names a metric that does not exist
    kArgument,  // a value the caller should have validated
    kLock,      // the registration lock could not be taken
  };
  RegionException(Kind kind, std::string message) : std::runtime_error(std::move(message)), kind(kind) {}
  const Kind kind;
};

struct CreateOptions {
  uint32_t metric_capacity = kDefaultMetricCapacity;
  uint32_t value_capacity = 0;     // 0: kDefaultValuesPerMetric per metric
  uint32_t children_capacity = 0;  // 0: kDefaultChildrenPerMetric per metric
  uint32_t lane_count = kDefaultLaneCount;
  mode_t mode = 0600;
  // A region file owned by another user is refused unless this is set: whoever owns the file controls
  // every value (and the locks) that this process trusts.
  bool allow_foreign_owner = false;
};

struct Definition {
  std::string name;
  uint8_t type = kCounter;
  uint8_t collector = kManual;
  uint32_t freq_seconds = 1;
  int64_t initial_value = 0;
  bool reset_after_push = false;
  std::vector<std::string> children;
  std::string alias;
  std::string oid;
  std::string arg[3];
  int64_t argn[3] = {0, 0, 0};
  std::vector<int64_t> bounds;  // histograms: strictly increasing bucket upper bounds
};

enum class UpdateOp { kMul, kDiv, kMax, kMin };
enum class UpdateResult { kChanged, kUnchanged, kDivideByZero, kOverflow };

// The shared mapping. Held by the Region and by every JS ArrayBuffer over it, so that memory stays mapped
// until the last view is gone.
class Mapping {
 public:
  Mapping(void* base, size_t bytes) : base_(base), bytes_(bytes) {}
  ~Mapping();
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  uint8_t* base() const { return static_cast<uint8_t*>(base_); }
  size_t bytes() const { return bytes_; }

 private:
  void* base_;
  size_t bytes_;
};

class Region {
 public:
  // Attaches to `path`, or creates it first when it is missing and `create` is set. Two processes creating
  // the same path at once end up attached to the same region.
  static std::unique_ptr<Region> open(const std::string& path, bool create, const CreateOptions& options);
  ~Region();
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;

  const std::string& path() const { return path_; }
  const RegionHeader& header() const { return *header_; }
  std::shared_ptr<Mapping> mapping() const { return mapping_; }
  // The lane this thread writes, or -1 when every lane was taken (then adds go to the shared base).
  int32_t lane() const { return lane_; }

  // --- registry (registry.cc) ---
  struct Defined {
    uint32_t slot;
    bool created;
  };
  // Registers `def`, or returns the slot already registered under its name (the caller compares).
  Defined define(const Definition& def);
  // The slot of `name`, or -1. Lock-free.
  int64_t lookup(const std::string& name) const;
  uint32_t metric_count() const;
  uint32_t value_count() const;
  // A published entry, checked for internal consistency (a corrupt entry throws kFormat).
  const MetricMeta& meta(uint32_t slot) const;
  std::vector<uint32_t> children(const MetricMeta& meta) const;
  std::vector<int64_t> bounds(const MetricMeta& meta) const;
  // Test-only: takes the registration lock and never gives it back; with a name, also leaves a
  // half-written entry behind, as a process killed mid-registration would.
  void hold_registration_lock_for_test(const std::string& partial_name);

  // --- values (values.cc) ---
  int64_t load(uint32_t value) const;
  void add(uint32_t value, int64_t delta);
  void store(uint32_t value, int64_t x);
  UpdateResult update(uint32_t value, UpdateOp op, int64_t operand);
  // out[v] = value of v for v < n (n <= value_count()). Returns n.
  uint32_t snapshot(int64_t* out, uint32_t n) const;

  // Gives the lane back (values stay); further adds go to the shared base. Called by close().
  void release_lane();

  // --- collector ownership (region.cc) ---
  enum class CollectorLock { kAcquired, kTookOver, kBusy };
  // Tries to become the region's collector, waiting up to timeout_ms. kTookOver: the previous holder died.
  CollectorLock lock_collector(int timeout_ms);
  void unlock_collector();
  int32_t collector_pid() const { return __atomic_load_n(&header_->collector_pid, __ATOMIC_ACQUIRE); }
  // A value's cell, for the collector's bookkeeping (last_collected_ms).
  ValueCell& cell(uint32_t value) const { return cells()[value]; }

 private:
  Region(std::string path, std::shared_ptr<Mapping> mapping);
  void claim_lane();
  void lock_registration();
  void unlock_registration();
  void repair_after_owner_death();
  void insert_index(uint32_t slot);
  int64_t find_slot(const char* name, size_t bytes) const;
  uint32_t resolve(const std::string& name, const char* role) const;

  template <typename T>
  T* section(uint64_t offset) const {
    return reinterpret_cast<T*>(mapping_->base() + offset);
  }
  MetricMeta* metas() const { return section<MetricMeta>(header_->metas_offset); }
  uint32_t* index() const { return section<uint32_t>(header_->index_offset); }
  uint32_t* children_pool() const { return section<uint32_t>(header_->children_offset); }
  int64_t* bounds_pool() const { return section<int64_t>(header_->bounds_offset); }
  ValueCell* cells() const { return section<ValueCell>(header_->cells_offset); }
  LaneEntry* lane_table() const { return section<LaneEntry>(header_->lane_table_offset); }
  int64_t* lane_values(uint32_t lane) const {
    return section<int64_t>(header_->lanes_offset + uint64_t(lane) * header_->lane_stride);
  }
  int64_t lanes_sum(uint32_t value) const;

  std::string path_;
  std::shared_ptr<Mapping> mapping_;
  RegionHeader* header_;
  int32_t lane_ = -1;
};

}  // namespace shmetrics
