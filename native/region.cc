// Creating, attaching, validating and lane ownership of a region.

#include "region.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <random>

namespace shmetrics {

namespace {

// A registration takes microseconds; a lock held this long belongs to a process that is stuck, or the
// bytes are not a mutex any more. Failing loudly beats hanging a worker forever.
constexpr int kLockTimeoutSeconds = 10;

std::string errno_text(int err) { return std::string(strerror(err)); }

[[noreturn]] void fail(RegionException::Kind kind, const std::string& path, const std::string& reason) {
  throw RegionException(kind, path + ": " + reason);
}

int64_t now_unix_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void init_robust_mutex(pthread_mutex_t* mutex) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(mutex, &attr);
  pthread_mutexattr_destroy(&attr);
}

void validate_options(const std::string& path, const CreateOptions& o) {
  if (o.metric_capacity < 1 || o.metric_capacity > kMaxMetricCapacity)
    fail(RegionException::Kind::kArgument, path,
         "metric capacity " + std::to_string(o.metric_capacity) + " is outside 1.." + std::to_string(kMaxMetricCapacity));
  if (o.value_capacity > kMaxValueCapacity || (o.value_capacity != 0 && o.value_capacity < o.metric_capacity))
    fail(RegionException::Kind::kArgument, path,
         "value capacity " + std::to_string(o.value_capacity) + " must be between the metric capacity and " +
             std::to_string(kMaxValueCapacity));
  if (o.lane_count < 1 || o.lane_count > kMaxLaneCount)
    fail(RegionException::Kind::kArgument, path,
         "lane count " + std::to_string(o.lane_count) + " is outside 1.." + std::to_string(kMaxLaneCount));
}

Geometry geometry_for(const CreateOptions& o) {
  uint32_t values = o.value_capacity ? o.value_capacity
                                     : uint32_t(std::min<uint64_t>(uint64_t(o.metric_capacity) * kDefaultValuesPerMetric,
                                                                   kMaxValueCapacity));
  uint32_t children = o.children_capacity ? o.children_capacity : o.metric_capacity * kDefaultChildrenPerMetric;
  return compute_geometry(o.metric_capacity, values, children, o.lane_count);
}

// Writes a complete region into a private temporary file and then links it under `path`, so that no
// process ever attaches to a half-initialised region. Returns false when another process won the race.
bool create_region_file(const std::string& path, const CreateOptions& options) {
  Geometry g = geometry_for(options);
  std::random_device rd;
  std::string tmp = path + ".tmp." + std::to_string(getpid()) + "." + std::to_string(rd());
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, options.mode);
  if (fd < 0) fail(RegionException::Kind::kOpen, path, "cannot create: " + errno_text(errno));
  auto cleanup = [&](const std::string& reason) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    fail(RegionException::Kind::kOpen, path, reason + ": " + errno_text(err));
  };
  // The mode is exactly what was asked for, whatever the umask.
  if (fchmod(fd, options.mode) != 0) cleanup("cannot set mode");
  // Reserve every page now: on a full tmpfs the create fails here with ENOSPC, instead of a worker dying of
  // SIGBUS on its first increment into a page that cannot be allocated.
  int err = posix_fallocate(fd, 0, off_t(g.region_bytes));
  if (err != 0) {
    errno = err;
    cleanup("cannot reserve " + std::to_string(g.region_bytes) + " bytes");
  }
  void* base = mmap(nullptr, g.region_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) cleanup("cannot map");

  auto* h = static_cast<RegionHeader*>(base);
  h->pointer_bytes = sizeof(void*);
  h->long_bytes = sizeof(long);
  h->header_bytes = sizeof(RegionHeader);
  h->layout_version = kLayoutVersion;
  h->region_bytes = g.region_bytes;
  h->created_unix_ms = now_unix_ms();
  h->metric_capacity = g.metric_capacity;
  h->value_capacity = g.value_capacity;
  h->children_capacity = g.children_capacity;
  h->index_slots = g.index_slots;
  h->lane_count = g.lane_count;
  h->metas_offset = g.metas_offset;
  h->index_offset = g.index_offset;
  h->children_offset = g.children_offset;
  h->bounds_offset = g.bounds_offset;
  h->cells_offset = g.cells_offset;
  h->lane_table_offset = g.lane_table_offset;
  h->lanes_offset = g.lanes_offset;
  h->lane_stride = g.lane_stride;
  init_robust_mutex(&h->registration_lock);
  init_robust_mutex(&h->collector_lock);
  auto* lanes = reinterpret_cast<LaneEntry*>(static_cast<uint8_t*>(base) + g.lane_table_offset);
  for (uint32_t l = 0; l < g.lane_count; l++) init_robust_mutex(&lanes[l].owner);
  __atomic_store_n(&h->magic, kMagic, __ATOMIC_RELEASE);
  munmap(base, g.region_bytes);

  bool won = ::link(tmp.c_str(), path.c_str()) == 0;
  int link_err = errno;
  ::close(fd);
  ::unlink(tmp.c_str());
  if (!won && link_err != EEXIST) {
    errno = link_err;
    fail(RegionException::Kind::kOpen, path, "cannot create: " + errno_text(link_err));
  }
  return won;
}

void validate_header(const std::string& path, const RegionHeader& h, uint64_t file_bytes) {
  using K = RegionException::Kind;
  if (h.magic == kMagicSwapped) fail(K::kFormat, path, "byte order mismatch: created on a machine of the other endianness");
  if (h.magic != kMagic) fail(K::kFormat, path, "not a shmetrics region (bad magic)");
  if (h.pointer_bytes != sizeof(void*) || h.long_bytes != sizeof(long))
    fail(K::kFormat, path, "word size mismatch: created by a " + std::to_string(h.pointer_bytes * 8) + "-bit process");
  if (h.layout_version != kLayoutVersion)
    fail(K::kFormat, path,
         "layout version " + std::to_string(h.layout_version) + "; this build reads version " +
             std::to_string(kLayoutVersion));
  if (h.header_bytes != sizeof(RegionHeader))
    fail(K::kFormat, path,
         "header size " + std::to_string(h.header_bytes) + " differs from this build's " +
             std::to_string(sizeof(RegionHeader)) + " (a different ABI)");
  if (h.metric_capacity < 1 || h.metric_capacity > kMaxMetricCapacity || h.value_capacity > kMaxValueCapacity ||
      h.value_capacity < h.metric_capacity || h.lane_count < 1 || h.lane_count > kMaxLaneCount ||
      h.children_capacity > kMaxValueCapacity)
    fail(K::kFormat, path, "corrupt header (capacities out of range)");
  Geometry g = compute_geometry(h.metric_capacity, h.value_capacity, h.children_capacity, h.lane_count);
  if (g.index_slots != h.index_slots || g.metas_offset != h.metas_offset || g.index_offset != h.index_offset ||
      g.children_offset != h.children_offset || g.bounds_offset != h.bounds_offset || g.cells_offset != h.cells_offset ||
      g.lane_table_offset != h.lane_table_offset || g.lanes_offset != h.lanes_offset ||
      g.lane_stride != h.lane_stride || g.region_bytes != h.region_bytes)
    fail(K::kFormat, path, "corrupt header (section offsets do not match the capacities)");
  if (file_bytes < h.region_bytes)
    fail(K::kFormat, path,
         "truncated: the file has " + std::to_string(file_bytes) + " bytes, the header says " +
             std::to_string(h.region_bytes));
  if (file_bytes > h.region_bytes)
    fail(K::kFormat, path,
         "the file has " + std::to_string(file_bytes) + " bytes, more than the " + std::to_string(h.region_bytes) +
             " its header says");
  if (h.metric_count > h.metric_capacity || h.value_count > h.value_capacity ||
      h.children_used > h.children_capacity || h.lanes_high_water > h.lane_count || h.bounds_used > h.value_capacity)
    fail(K::kFormat, path, "corrupt header (counters exceed capacities)");
}

std::shared_ptr<Mapping> attach(const std::string& path, int fd, bool allow_foreign_owner) {
  struct stat st;
  if (fstat(fd, &st) != 0) fail(RegionException::Kind::kOpen, path, "cannot stat: " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) fail(RegionException::Kind::kFormat, path, "not a regular file");
  if (st.st_uid != geteuid() && !allow_foreign_owner)
    fail(RegionException::Kind::kOpen, path,
         "owned by uid " + std::to_string(st.st_uid) + ", not by this process's uid " + std::to_string(geteuid()) +
             " (open it with allowForeignOwner if that user is trusted)");
  uint64_t file_bytes = uint64_t(st.st_size);
  if (file_bytes == 0) fail(RegionException::Kind::kFormat, path, "empty file (0 bytes): not a shmetrics region");
  RegionHeader h;
  if (file_bytes < sizeof(RegionHeader)) {
    // Tell a foreign small file from a truncated region by its first bytes.
    uint64_t magic = 0;
    if (pread(fd, &magic, sizeof magic, 0) == sizeof magic && (magic == kMagic || magic == kMagicSwapped))
      fail(RegionException::Kind::kFormat, path,
           "truncated: " + std::to_string(file_bytes) + " bytes, smaller than a region header");
    fail(RegionException::Kind::kFormat, path, "not a shmetrics region (bad magic)");
  }
  if (pread(fd, &h, sizeof h, 0) != ssize_t(sizeof h))
    fail(RegionException::Kind::kOpen, path, "cannot read the header: " + errno_text(errno));
  validate_header(path, h, file_bytes);
  void* base = mmap(nullptr, h.region_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) fail(RegionException::Kind::kOpen, path, "cannot map: " + errno_text(errno));
  return std::make_shared<Mapping>(base, h.region_bytes);
}

}  // namespace

Mapping::~Mapping() { munmap(base_, bytes_); }

std::unique_ptr<Region> Region::open(const std::string& path, bool create, const CreateOptions& options) {
  if (path.empty()) fail(RegionException::Kind::kArgument, "(empty path)", "a region path is required");
  if (create) validate_options(path, options);
  for (int attempt = 0; attempt < 3; attempt++) {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      if (errno != ENOENT) fail(RegionException::Kind::kOpen, path, "cannot open: " + errno_text(errno));
      if (!create) fail(RegionException::Kind::kOpen, path, "no such region (create it, or check the path)");
      create_region_file(path, options);  // whether we won or lost the race, the file now exists
      continue;
    }
    std::shared_ptr<Mapping> mapping;
    try {
      mapping = attach(path, fd, options.allow_foreign_owner);
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);  // the mapping keeps the file alive
    std::unique_ptr<Region> region(new Region(path, std::move(mapping)));
    region->claim_lane();
    return region;
  }
  fail(RegionException::Kind::kOpen, path, "the region was removed while it was being opened");
}

Region::Region(std::string path, std::shared_ptr<Mapping> mapping)
    : path_(std::move(path)), mapping_(std::move(mapping)), header_(reinterpret_cast<RegionHeader*>(mapping_->base())) {}

Region::~Region() { release_lane(); }

void Region::claim_lane() {
  LaneEntry* table = lane_table();
  for (uint32_t l = 0; l < header_->lane_count; l++) {
    int rc = pthread_mutex_trylock(&table[l].owner);
    if (rc == EOWNERDEAD) {
      // The previous owner died; its numbers stay in the lane and we carry on adding to them.
      pthread_mutex_consistent(&table[l].owner);
      rc = 0;
    }
    if (rc != 0) continue;
    table[l].pid = getpid();
    table[l].claims++;
    uint32_t seen = __atomic_load_n(&header_->lanes_high_water, __ATOMIC_ACQUIRE);
    while (seen < l + 1 &&
           !__atomic_compare_exchange_n(&header_->lanes_high_water, &seen, l + 1, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
    }
    lane_ = int32_t(l);
    return;
  }
  lane_ = -1;
}

void Region::release_lane() {
  if (lane_ < 0) return;
  pthread_mutex_unlock(&lane_table()[lane_].owner);
  lane_ = -1;
}

void Region::lock_registration() {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += kLockTimeoutSeconds;
  int rc = pthread_mutex_timedlock(&header_->registration_lock, &deadline);
  if (rc == EOWNERDEAD) {
    repair_after_owner_death();
    pthread_mutex_consistent(&header_->registration_lock);
    return;
  }
  if (rc == ETIMEDOUT)
    fail(RegionException::Kind::kLock, path_,
         "the registration lock has been held for more than " + std::to_string(kLockTimeoutSeconds) + " s");
  if (rc != 0) fail(RegionException::Kind::kLock, path_, "cannot take the registration lock: " + errno_text(rc));
}

void Region::unlock_registration() { pthread_mutex_unlock(&header_->registration_lock); }

Region::CollectorLock Region::lock_collector(int timeout_ms) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_nsec += long(timeout_ms % 1000) * 1000000L;
  deadline.tv_sec += timeout_ms / 1000 + deadline.tv_nsec / 1000000000L;
  deadline.tv_nsec %= 1000000000L;
  int rc = timeout_ms > 0 ? pthread_mutex_timedlock(&header_->collector_lock, &deadline)
                          : pthread_mutex_trylock(&header_->collector_lock);
  CollectorLock result = CollectorLock::kAcquired;
  if (rc == EOWNERDEAD) {
    pthread_mutex_consistent(&header_->collector_lock);
    // A previous holder that died; 0 means it was never held (a fresh region cannot report EOWNERDEAD).
    header_->collector_takeovers++;
    result = CollectorLock::kTookOver;
  } else if (rc != 0) {
    return CollectorLock::kBusy;
  }
  __atomic_store_n(&header_->collector_pid, int32_t(getpid()), __ATOMIC_RELEASE);
  header_->collector_since_ms = now_unix_ms();
  return result;
}

void Region::unlock_collector() {
  __atomic_store_n(&header_->collector_pid, 0, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&header_->collector_lock);
}

}  // namespace shmetrics
