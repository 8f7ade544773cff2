export { Metrics, MetricsSnapshot, defaultRegionPath, type MetricInfo, type OpenOptions } from './metrics';
export { Metric, type MetricNumber } from './metric';
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
export * from './errors';
export type { AlarmEvent } from './collect/collection';
export type { DefineInput, MetricsEvents } from './metrics';
export {
  formatThresholdSpec,
  normalizeThresholdDefinition,
  parseThresholdSpec,
  type ThresholdDefinition,
  type ThresholdDefinitionInput,
} from './spec/threshold-spec';
export { parseAlarmSpec, type AlarmDefinition } from './alarms/alarm-spec';
