/**
 * shmetrics: shared-memory metrics for Node.js processes. Everything a user imports comes from here.
 */
import { startWorkerRuntime } from './worker-runtime';

export {
  Metrics,
  MetricsSnapshot,
  defaultRegionPath,
  type DefineInput,
  type MetricInfo,
  type MetricsEvents,
  type OpenOptions,
} from './metrics';
export { Metric, type MetricNumber } from './metric';
export { Histogram } from './histogram/histogram';
export { HistogramSnapshot } from './histogram/histogram-snapshot';
export { parseBuckets } from './histogram/bucket-layouts';
export { metrics } from './default-instance';
export {
  COLLECTORS,
  METRIC_TYPES,
  MAX_NAME_BYTES,
  formatMetricSpec,
  isValidMetricName,
  normalizeMetricDefinition,
  parseMetricSpec,
  type CollectorName,
  type MetricDefinition,
  type MetricDefinitionInput,
  type MetricType,
} from './spec/metric-spec';
export {
  formatThresholdSpec,
  normalizeThresholdDefinition,
  parseThresholdSpec,
  type ThresholdDefinition,
  type ThresholdDefinitionInput,
} from './spec/threshold-spec';
export { parseAlarmSpec, type AlarmDefinition } from './alarms/alarm-spec';
export type { AlarmEvent } from './collect/collection';
export { MetricsDirView, type MetricsDirOptions } from './metrics-dir/metrics-dir-view';
export { restoreFromMetricsDir, type RestoreReport } from './metrics-dir/restore';
export {
  serveMetrics,
  startPromFile,
  HttpOptionError,
  type MetricsServer,
  type PromFile,
  type PromFileOptions,
  type ServeMetricsOptions,
} from './http';
export {
  PushScheduler,
  PUSHERS,
  parsePushSpec,
  formatPushSpec,
  type PushSchedulerOptions,
  type PushSpec,
  type PushSpecInput,
  type Pusher,
  type PusherContext,
  type PusherFactory,
  type PushSample,
  type PushSnapshot,
} from './push';
export { zabbixTemplate } from './push/zabbix-template';
export { startSnmpAgent, parseSnmpAddress, SnmpConfigError, type SnmpAgent, type SnmpAgentOptions } from './snmp';
export { instrument, registerBuiltins, startWorkerReporter, type InstrumentOptions } from './builtins';
export * from './errors';

// In a worker the master started, report its built-in figures and follow the master's lifetime.
startWorkerRuntime();
