/**
 * Every error shmetrics throws on purpose. Each names the offending value (the path, the metric, the
 * spec key) so that a log line alone says what to fix.
 */

export class ShmetricsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A file that is not a usable region: foreign, truncated, empty, or written by another layout version. */
export class RegionFormatError extends ShmetricsError {
  constructor(readonly path: string, readonly reason: string) {
    super(`${path}: ${reason}`);
  }
}

/** The region cannot be created or opened for a reason of the operating system (permissions, missing file). */
export class RegionOpenError extends ShmetricsError {
  constructor(readonly path: string, readonly reason: string) {
    super(`${path}: ${reason}`);
  }
}

/** The region's fixed capacity (metrics, values or children) is used up. */
export class RegionFullError extends ShmetricsError {}

/** A `--metric` spec (or the object form of one) that cannot be accepted. */
export class MetricSpecError extends ShmetricsError {
  constructor(readonly spec: string, readonly detail: string, readonly key?: string) {
    super(`invalid metric spec ${JSON.stringify(spec)}: ${detail}`);
  }
}

/** An update or read by name of a metric the region does not hold. */
export class UnknownMetricError extends ShmetricsError {
  constructor(readonly metric: string) {
    super(metric);
  }
}

/** A definition that disagrees with the one already in the region under the same name. */
export class MetricConflictError extends ShmetricsError {}

/** A write the metric refuses: through an alias, to a collector-driven metric, or an undefined result. */
export class MetricWriteError extends ShmetricsError {}

/** A `--metric-threshold` spec (or the object form of one) that cannot be accepted. */
export class ThresholdSpecError extends ShmetricsError {
  constructor(readonly spec: string, readonly detail: string, readonly key?: string) {
    super(`invalid threshold spec ${JSON.stringify(spec)}: ${detail}`);
  }
}

/** An `--alarm` spec (or the object form of one) that cannot be accepted, or a second alarm of the same name. */
export class AlarmSpecError extends ShmetricsError {
  constructor(readonly spec: string, readonly detail: string, readonly key?: string) {
    super(`invalid alarm spec ${JSON.stringify(spec)}: ${detail}`);
  }
}

/** A `--stats-push NAME:ARGS` spec (or its API form) that cannot be accepted. */
export class PushSpecError extends ShmetricsError {
  constructor(readonly spec: string, readonly detail: string) {
    super(`invalid stats pusher ${JSON.stringify(spec)}: ${detail}`);
  }
}
