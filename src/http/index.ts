/**
 * The HTTP output: /metrics for Prometheus, /status for people, /healthz for load balancers, and the
 * same Prometheus text as a file for node_exporter's textfile collector.
 */

export { serveMetrics, type MetricsServer, type ServeMetricsOptions } from './http-server';
export { startPromFile, type PromFile, type PromFileOptions } from './prom-file';
export { checkHttpAuth, HttpOptionError, parseHttpAuth, parseLabelFrom, parseListenAddress, type HttpAuth, type ListenAddress } from './http-options';
export {
  CONTENT_TYPES,
  PrometheusExposition,
  mapMetricName,
  type ExpositionFormat,
  type MappedName,
  type PrometheusExpositionOptions,
  type PrometheusNaming,
} from './prometheus-format';
export { negotiateExposition } from './negotiation';
export { buildStatusTree, statusTreeJson, type StatusMetric, type StatusNode, type StatusTree } from './status-tree';
export { MetricHistory, type MetricHistoryPoints } from './history';
