// The value protocol of layout.h, in C++: used by collectors, snapshots, the non-additive operations, and
// by JS when the runtime refuses external ArrayBuffers. The JS fast path (src/region/lane-values.ts)
// implements the same protocol for inc/dec/set/get over a typed-array view.
//
// All arithmetic is on uint64_t so that overflow wraps (two's complement) instead of being undefined.

#include "region.h"

namespace shmetrics {

namespace {

inline int64_t wrap_add(int64_t a, int64_t b) { return int64_t(uint64_t(a) + uint64_t(b)); }
inline int64_t wrap_sub(int64_t a, int64_t b) { return int64_t(uint64_t(a) - uint64_t(b)); }
inline int64_t wrap_mul(int64_t a, int64_t b) { return int64_t(uint64_t(a) * uint64_t(b)); }

}  // namespace

int64_t Region::lanes_sum(uint32_t value) const {
  const uint32_t lanes = __atomic_load_n(&header_->lanes_high_water, __ATOMIC_ACQUIRE);
  int64_t sum = 0;
  for (uint32_t l = 0; l < lanes; l++) sum = wrap_add(sum, __atomic_load_n(&lane_values(l)[value], __ATOMIC_RELAXED));
  return sum;
}

int64_t Region::load(uint32_t value) const {
  const ValueCell& cell = cells()[value];
  int64_t base = __atomic_load_n(&cell.base, __ATOMIC_ACQUIRE);
  if (!__atomic_load_n(&cell.laned, __ATOMIC_ACQUIRE)) return base;
  return wrap_add(base, lanes_sum(value));
}

void Region::add(uint32_t value, int64_t delta) {
  ValueCell& cell = cells()[value];
  if (lane_ < 0) {
    __atomic_fetch_add(&cell.base, delta, __ATOMIC_ACQ_REL);
    return;
  }
  if (!__atomic_load_n(&cell.laned, __ATOMIC_RELAXED)) __atomic_store_n(&cell.laned, 1u, __ATOMIC_RELEASE);
  int64_t* slot = &lane_values(uint32_t(lane_))[value];
  // Single writer: a plain read-modify-write, published as one 8-byte store.
  __atomic_store_n(slot, wrap_add(__atomic_load_n(slot, __ATOMIC_RELAXED), delta), __ATOMIC_RELEASE);
}

void Region::store(uint32_t value, int64_t x) {
  ValueCell& cell = cells()[value];
  int64_t base = __atomic_load_n(&cell.laned, __ATOMIC_ACQUIRE) ? wrap_sub(x, lanes_sum(value)) : x;
  __atomic_store_n(&cell.base, base, __ATOMIC_RELEASE);
}

UpdateResult Region::update(uint32_t value, UpdateOp op, int64_t operand) {
  if (op == UpdateOp::kDiv && operand == 0) return UpdateResult::kDivideByZero;
  ValueCell& cell = cells()[value];
  for (;;) {
    int64_t base = __atomic_load_n(&cell.base, __ATOMIC_ACQUIRE);
    int64_t lanes = __atomic_load_n(&cell.laned, __ATOMIC_ACQUIRE) ? lanes_sum(value) : 0;
    int64_t old = wrap_add(base, lanes);
    int64_t next = old;
    switch (op) {
      case UpdateOp::kMul:
        next = wrap_mul(old, operand);
        break;
      case UpdateOp::kDiv:
        // The one quotient that does not fit in 64 bits (uWSGI traps here with SIGFPE and deadlocks).
        if (old == INT64_MIN && operand == -1) return UpdateResult::kOverflow;
        next = old / operand;  // C++ truncates toward zero, as uWSGI does
        break;
      case UpdateOp::kMax:
        if (operand > old) next = operand;
        break;
      case UpdateOp::kMin:
        if (operand < old) next = operand;
        break;
    }
    if (next == old) return UpdateResult::kUnchanged;
    if (__atomic_compare_exchange_n(&cell.base, &base, wrap_sub(next, lanes), false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
      return UpdateResult::kChanged;
  }
}

uint32_t Region::snapshot(int64_t* out, uint32_t n) const {
  const uint32_t count = value_count();
  if (n > count) n = count;
  const ValueCell* cell = cells();
  for (uint32_t v = 0; v < n; v++) out[v] = __atomic_load_n(&cell[v].base, __ATOMIC_ACQUIRE);
  // Lane-major: each lane is one contiguous run of memory, read front to back.
  const uint32_t lanes = __atomic_load_n(&header_->lanes_high_water, __ATOMIC_ACQUIRE);
  for (uint32_t l = 0; l < lanes; l++) {
    const int64_t* lane = lane_values(l);
    for (uint32_t v = 0; v < n; v++) out[v] = wrap_add(out[v], __atomic_load_n(&lane[v], __ATOMIC_RELAXED));
  }
  return n;
}

}  // namespace shmetrics
