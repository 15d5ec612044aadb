import { type Registry, collectDefaultMetrics } from 'prom-client';

/**
 * prom-client's default gauges `nodejs_active_{handles,requests,resources}_total` break the
 * naming rules (`_total` is for counters) and fail `promtool check metrics`
 * (prometheus/client_js#283). The per-type gauges without the suffix carry the same data:
 * `sum without (type) (nodejs_active_handles)`.
 */
const MISNAMED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Node process and runtime metrics (CPU, memory, event-loop lag, GC), promtool-clean. */
export function registerDefaultMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(name);
}
