import { spawnSync } from 'node:child_process';
import { Registry } from 'prom-client';
import { RUNTIME_METRICS, registerDefaultMetrics } from '../../../services/core/default-metrics';
import { renderMetrics } from '../../../services/core/exposition';

function value(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  if (!line) throw new Error(`${name} is not exposed:\n${text}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Spends `ms` of this process's CPU time (however busy the machine is). */
async function burnCpu(ms: number): Promise<void> {
  const start = process.cpuUsage();
  const spent = () => {
    const u = process.cpuUsage(start);
    return (u.user + u.system) / 1000;
  };
  while (spent() < ms) for (let i = 0; i < 1e5; i++) Math.sqrt(i);
  await new Promise((r) => setImmediate(r));
}

describe('runtime metrics', () => {
  let registry: Registry;
  beforeEach(() => {
    registry = new Registry();
    registerDefaultMetrics(registry);
  });

  test('exposes exactly the families dashboards and alerts read, under prom-client names', async () => {
    const text = await renderMetrics(registry);
    const families = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
    expect(families.sort()).toEqual(Object.values(RUNTIME_METRICS).sort());
    // Dropped collectors whose render cost nobody read, and the misnamed *_total gauges.
    expect(text).not.toMatch(/nodejs_active_|nodejs_gc_|heap_space|open_fds|eventloop_lag_seconds |lag_stddev/);
  });

  test('process CPU is the absolute total since start, user + system, and grows with work', async () => {
    const before = await renderMetrics(registry);
    await burnCpu(50);
    const after = await renderMetrics(registry);
    const ownCpu = process.cpuUsage();
    expect(value(after, RUNTIME_METRICS.cpu)).toBeCloseTo(value(after, RUNTIME_METRICS.cpuUser) + value(after, RUNTIME_METRICS.cpuSystem), 5);
    expect(value(after, RUNTIME_METRICS.cpu) - value(before, RUNTIME_METRICS.cpu)).toBeGreaterThanOrEqual(0.05);
    // Counted from process start, not from registration.
    expect(value(after, RUNTIME_METRICS.cpu)).toBeLessThanOrEqual((ownCpu.user + ownCpu.system) / 1e6);
    expect(value(after, RUNTIME_METRICS.cpu)).toBeGreaterThan(((ownCpu.user + ownCpu.system) / 1e6) * 0.9);
  });

  test('memory figures are this process\'s', async () => {
    const text = await renderMetrics(registry);
    const rss = value(text, RUNTIME_METRICS.residentMemory);
    expect(rss).toBeGreaterThan(10e6);
    expect(Math.abs(rss - process.memoryUsage.rss()) / rss).toBeLessThan(0.2);
    expect(value(text, RUNTIME_METRICS.heapUsed)).toBeGreaterThan(0);
    expect(value(text, RUNTIME_METRICS.heapUsed)).toBeLessThanOrEqual(value(text, RUNTIME_METRICS.heapTotal));
    expect(value(text, RUNTIME_METRICS.startTime)).toBeCloseTo(Date.now() / 1000 - process.uptime(), -1);
    expect(text).toContain(`${RUNTIME_METRICS.version}{version="${process.version}",major="${process.versions.node.split('.')[0]}"`);
  });

  test('event-loop delay shows a blocked loop in the scrape after it, ordered min <= p50 <= p90 <= p99 <= max', async () => {
    await renderMetrics(registry);
    await new Promise((r) => setTimeout(r, 50));
    const block = Date.now() + 120;
    while (Date.now() < block);
    await new Promise((r) => setTimeout(r, 30));
    const text = await renderMetrics(registry);
    const [min, p50, p90, p99, max] = [RUNTIME_METRICS.eventLoopLagMin, RUNTIME_METRICS.eventLoopLagP50, RUNTIME_METRICS.eventLoopLagP90, RUNTIME_METRICS.eventLoopLagP99, RUNTIME_METRICS.eventLoopLagMax].map((n) => value(text, n));
    expect(max).toBeGreaterThanOrEqual(0.1);
    expect(max).toBeLessThan(10);
    for (const [a, b] of [[min, p50], [p50, p90], [p90, p99], [p99, max]] as const) expect(a).toBeLessThanOrEqual(b!);
    // Two scrapes in a row without a loop turn between keep the figures instead of reporting garbage.
    const again = await Promise.all([renderMetrics(registry), renderMetrics(registry)]);
    for (const t of again) expect(value(t, RUNTIME_METRICS.eventLoopLagMin)).toBeLessThan(10);
  });

  test('passes promtool check metrics', async () => {
    const check = spawnSync('promtool', ['check', 'metrics'], { input: await renderMetrics(registry), encoding: 'utf8' });
    if (check.error) throw new Error(`promtool is not installed (apt-get install prometheus): ${check.error.message}`);
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });
});
