/* The C interface of `collector=func` and `collector=ptr` metrics.
 *
 * func: `arg1` names a function of this type in a library loaded with `--dlopen LIB` (or
 * `metrics.dlopen(LIB)`). The collector thread calls it once every `freq` seconds; the metric's value
 * becomes initial_value + the result.
 *
 * ptr: `arg1` names an `int64_t` variable in such a library; its value is read every `freq` seconds.
 *
 * The function runs on the collector thread, never on a JavaScript thread: it must be thread-safe and
 * should return quickly (it delays the other collectors of its region, not anybody's updates). */
#ifndef SHMETRICS_COLLECTOR_H
#define SHMETRICS_COLLECTOR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct shmetrics_metric {
  const char *name;
  int64_t value;         /* the current value */
  int64_t initial_value;
  int64_t argn[3];       /* arg1n..arg3n */
  const char *arg[3];    /* arg1 (the symbol's own name), arg2, arg3 */
};

typedef int64_t (*shmetrics_func_collector)(const struct shmetrics_metric *metric);

#ifdef __cplusplus
}
#endif

#endif
