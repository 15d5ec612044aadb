import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * The Node process and runtime metrics the dashboards and alerts read, under prom-client's
 * standard names, and nothing else: CPU, resident memory, heap, event-loop delay (min, max,
 * p50, p90, p99), start time and version.
 *
 * prom-client's `collectDefaultMetrics` is not used: every scrape paid for collectors no rule
 * or dashboard reads — the event-loop delay's standard deviation and mean (Node computes each
 * by walking the whole HDR histogram: about 360 and 50 µs of CPU), reads of /proc/self/fd,
 * /proc/self/status and /proc/self/limits, per-space heap statistics, the active handle list,
 * a setImmediate probe, and a GC histogram fed by a performance observer on every collection.
 * Every value here comes from a call that costs a microsecond or two. The misnamed
 * `nodejs_active_*_total` gauges (prometheus/client_js#283) are gone with the rest.
 */
export const RUNTIME_METRICS = {
  cpuUser: 'process_cpu_user_seconds_total',
  cpuSystem: 'process_cpu_system_seconds_total',
  cpu: 'process_cpu_seconds_total',
  startTime: 'process_start_time_seconds',
  residentMemory: 'process_resident_memory_bytes',
  heapTotal: 'nodejs_heap_size_total_bytes',
  heapUsed: 'nodejs_heap_size_used_bytes',
  externalMemory: 'nodejs_external_memory_bytes',
  eventLoopLagMin: 'nodejs_eventloop_lag_min_seconds',
  eventLoopLagMax: 'nodejs_eventloop_lag_max_seconds',
  eventLoopLagP50: 'nodejs_eventloop_lag_p50_seconds',
  eventLoopLagP90: 'nodejs_eventloop_lag_p90_seconds',
  eventLoopLagP99: 'nodejs_eventloop_lag_p99_seconds',
  version: 'nodejs_version_info',
} as const;

/** Registers the runtime metrics on `registry`; event-loop figures cover the time since the previous scrape. */
export function registerDefaultMetrics(registry: Registry): void {
  const registers = [registry];
  // The registry calls each metric's collect in registration order and renders its values at
  // once, so the first metric of a group reads the source once and sets the others too.
  const counter = (name: string, help: string, collect?: (this: Counter) => void) => new Counter({ name, help, registers, collect });
  // Absolute process CPU since start, as every Prometheus client library reports it.
  const setTotal = (c: Counter, micros: number) => {
    c.reset();
    c.inc(micros / 1e6);
  };
  const cpu = {
    user: counter(RUNTIME_METRICS.cpuUser, 'Total user CPU time spent in seconds.', function () {
      const usage = process.cpuUsage();
      setTotal(this, usage.user);
      setTotal(cpu.system, usage.system);
      setTotal(cpu.total, usage.user + usage.system);
    }),
    system: counter(RUNTIME_METRICS.cpuSystem, 'Total system CPU time spent in seconds.'),
    total: counter(RUNTIME_METRICS.cpu, 'Total user and system CPU time spent in seconds.'),
  };

  new Gauge({ name: RUNTIME_METRICS.startTime, help: 'Start time of the process since unix epoch in seconds.', registers }).set(
    Math.round((Date.now() - performance.now()) / 1000),
  );
  new Gauge({
    name: RUNTIME_METRICS.residentMemory,
    help: 'Resident memory size in bytes.',
    registers,
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });

  const heap = {
    total: new Gauge({
      name: RUNTIME_METRICS.heapTotal,
      help: 'Process heap size from Node.js in bytes.',
      registers,
      collect() {
        const stats = getHeapStatistics();
        this.set(stats.total_heap_size);
        heap.used.set(stats.used_heap_size);
        heap.external.set(stats.external_memory);
      },
    }),
    used: new Gauge({ name: RUNTIME_METRICS.heapUsed, help: 'Process heap size used from Node.js in bytes.', registers }),
    external: new Gauge({ name: RUNTIME_METRICS.externalMemory, help: 'Node.js external memory size in bytes.', registers }),
  };

  registerEventLoopDelay(registers);

  const [major, minor, patch] = process.versions.node.split('.');
  new Gauge({ name: RUNTIME_METRICS.version, help: 'Node.js version info.', labelNames: ['version', 'major', 'minor', 'patch'], registers }).set(
    { version: process.version, major, minor, patch },
    1,
  );
}

function registerEventLoopDelay(registers: Registry[]): void {
  const histogram = monitorEventLoopDelay();
  histogram.enable();
  const gauge = (name: string, help: string) => new Gauge({ name, help, registers });
  const rest: [Gauge, () => number][] = [];
  new Gauge({
    name: RUNTIME_METRICS.eventLoopLagMin,
    help: 'The minimum recorded event loop delay.',
    registers,
    collect() {
      // No delay measured since the last scrape (two scrapes in one loop turn): keep the last figures.
      if (histogram.count === 0) return;
      this.set(histogram.min / 1e9);
      for (const [g, read] of rest) g.set(read() / 1e9);
      histogram.reset();
    },
  });
  rest.push(
    [gauge(RUNTIME_METRICS.eventLoopLagMax, 'The maximum recorded event loop delay.'), () => histogram.max],
    [gauge(RUNTIME_METRICS.eventLoopLagP50, 'The 50th percentile of the recorded event loop delays.'), () => histogram.percentile(50)],
    [gauge(RUNTIME_METRICS.eventLoopLagP90, 'The 90th percentile of the recorded event loop delays.'), () => histogram.percentile(90)],
    [gauge(RUNTIME_METRICS.eventLoopLagP99, 'The 99th percentile of the recorded event loop delays.'), () => histogram.percentile(99)],
  );
}
