/**
 * npm run bench:api — throughput and latency of the prediction API against its floors,
 * measured in one run on this machine. Each server runs in its own process and the
 * load generator (autocannon) in another. Scenarios are interleaved over several rounds
 * and the median round is reported, so background noise hits all of them alike.
 *
 * Env: BENCH_DURATION (s, default 8), BENCH_ROUNDS (default 3), BENCH_CONNECTIONS (default 32).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { createApiMetrics } from '../services/api/metrics';
import { renderMetrics } from '../services/core/exposition';
import { cpuSeconds } from './support/cpu';
import { FEATURE_NAMES } from '../services/core/features';
import { readMetadata, readReference } from '../services/core/model/artifacts';
import { OnnxModel } from '../services/core/model/onnx-model';

const ROOT = join(__dirname, '..');
const ARTIFACTS = join(ROOT, 'services/model/artifacts');
const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);

interface LoadResult {
  requestsPerSec: number;
  total: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  p50ms: number;
  p99ms: number;
  statusCodes?: Record<string, { count: number }>;
}

interface Scenario {
  readonly name: string;
  readonly server: 'api' | 'api-no-metrics' | 'express' | 'node-http';
  readonly rows: number;
}

const SCENARIOS: Scenario[] = [
  { name: 'predict 1 row', server: 'api', rows: 1 },
  { name: 'predict 1 row, metrics off', server: 'api-no-metrics', rows: 1 },
  { name: 'predict batch 64', server: 'api', rows: 64 },
  { name: 'bare express 5 route', server: 'express', rows: 1 },
  { name: 'bare node:http', server: 'node-http', rows: 1 },
];

const ref = readReference(ARTIFACTS)!;
const row = (i: number) => Object.fromEntries(FEATURE_NAMES.map((n, j) => [n, ref.rows[i % ref.rows.length]![j]]));
const bodyFor = (rows: number) => JSON.stringify(rows === 1 ? { features: row(0) } : { instances: Array.from({ length: rows }, (_, i) => row(i)) });

// Server on core 0, load generator on core 1: neither steals the other's CPU, which
// otherwise dominates the run-to-run noise on a 2-core machine.
const PIN = cpus().length >= 2 && spawnSync('taskset', ['--version']).status === 0;

function tsx(args: string[], core: number): ChildProcess {
  const node = [process.execPath, '--import', 'tsx', ...args];
  const [cmd, ...rest] = PIN ? ['taskset', '-c', String(core), ...node] : node;
  return spawn(cmd!, rest, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
}

async function startServer(mode: Scenario['server']): Promise<{ port: number; child: ChildProcess }> {
  const child = tsx(['bench/support/servers.ts', mode], 0);
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
  return { port, child };
}

async function load(url: string, body: string, duration: number): Promise<LoadResult> {
  const child = tsx(['bench/support/load.ts', JSON.stringify({ url, body, connections: CONNECTIONS, duration })], 1);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  if (code !== 0) throw new Error(`load generator exited with ${code}`);
  return JSON.parse(out) as LoadResult;
}

async function runScenario(s: Scenario): Promise<LoadResult & { cpuUsPerRequest: number }> {
  const { port, child } = await startServer(s.server);
  try {
    const url = `http://127.0.0.1:${port}/predict`;
    await load(url, bodyFor(s.rows), 2); // warm-up: JIT, connection setup
    // Under taskset the server is the child of `taskset`, which exec()s node: same pid.
    const cpu0 = cpuSeconds(child.pid!);
    const r = await load(url, bodyFor(s.rows), DURATION);
    const cpuUsPerRequest = ((cpuSeconds(child.pid!) - cpu0) * 1e6) / r.total;
    if (r.non2xx || r.errors || r.timeouts) throw new Error(`${s.name}: ${r.non2xx} non-2xx (by status: ${JSON.stringify(r.statusCodes)}), ${r.errors} errors, ${r.timeouts} timeouts`);
    return { ...r, cpuUsPerRequest };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface RenderCost {
  samples: number;
  usPerRender: number;
  usPerSample: number;
  wallUsPerRender: number;
  /** The same registry through prom-client's own `registry.metrics()`, in the same run. */
  promClientUsPerSample: number;
}

/** CPU per render of `render`, alternating with `baseline` in blocks so noise hits both alike. */
async function cpuPerCall(render: () => Promise<string>, baseline: () => Promise<string>, n: number): Promise<{ us: number; baselineUs: number; wallUs: number }> {
  let us = 0;
  let baselineUs = 0;
  let wallNs = 0n;
  for (let block = 0; block < 10; block++) {
    const t0 = process.hrtime.bigint();
    let cpu0 = process.cpuUsage();
    for (let i = 0; i < n / 10; i++) await render();
    let cpu = process.cpuUsage(cpu0);
    wallNs += process.hrtime.bigint() - t0;
    us += cpu.user + cpu.system;
    cpu0 = process.cpuUsage();
    for (let i = 0; i < n / 10; i++) await baseline();
    cpu = process.cpuUsage(cpu0);
    baselineUs += cpu.user + cpu.system;
  }
  return { us: us / n, baselineUs: baselineUs / n, wallUs: Number(wallNs) / n / 1000 };
}

/** Renders a fully populated API registry many times, as a scrape does; CPU time is the cost a scrape puts on the service. */
async function metricsRenderCost(): Promise<RenderCost> {
  const stats = readMetadata(ARTIFACTS).featureStats;
  const m = createApiMetrics(true, stats);
  const model = await OnnxModel.load(ARTIFACTS, 'ml', { intraOp: 1, interOp: 1 });
  m.modelServed(model);
  m.ready(true);
  for (const route of ['/predict', '/health', '/ready', '/version', 'unmatched'] as const) {
    for (const status of [200, 404, 422, 503]) m.requestFinished('POST', route, status, 0.003);
    m.error(route, 'validation');
  }
  m.predicted('ml', [0.1, 0.5]);
  m.predicted('baseline', [0.1]);
  m.inferred('ml', 0.0001, 2);
  m.inferred('baseline', 0.0001, 1);
  m.checkDistribution(Float32Array.from(ref.rows[0]!), 1);
  await model.dispose();
  const text = await renderMetrics(m.registry);
  const samples = text.split('\n').filter((l) => l && !l.startsWith('#')).length;
  for (let i = 0; i < 200; i++) {
    await renderMetrics(m.registry);
    await m.registry.metrics();
  }
  const cost = await cpuPerCall(
    () => renderMetrics(m.registry),
    () => m.registry.metrics(),
    4000,
  );
  return { samples, usPerRender: cost.us, usPerSample: cost.us / samples, wallUsPerRender: cost.wallUs, promClientUsPerSample: cost.baselineUs / samples };
}

async function main(): Promise<void> {
  const rounds: Record<string, (LoadResult & { cpuUsPerRequest: number })[]> = Object.fromEntries(SCENARIOS.map((s) => [s.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of SCENARIOS) {
      const res = await runScenario(s);
      rounds[s.name]!.push(res);
      process.stderr.write(`round ${r + 1}/${ROUNDS} ${s.name}: ${res.requestsPerSec.toFixed(0)} req/s\n`);
    }
  }
  const summary = SCENARIOS.map((s) => {
    const rs = rounds[s.name]!;
    const rps = median(rs.map((x) => x.requestsPerSec));
    return {
      scenario: s.name,
      rowsPerRequest: s.rows,
      requestsPerSec: Math.round(rps),
      rowsPerSec: Math.round(rps * s.rows),
      p50ms: median(rs.map((x) => x.p50ms)),
      p99ms: median(rs.map((x) => x.p99ms)),
      cpuUsPerRequest: Math.round(median(rs.map((x) => x.cpuUsPerRequest)) * 10) / 10,
      rounds: rs.map((x) => Math.round(x.requestsPerSec)),
    };
  });
  const get = (name: string) => summary.find((x) => x.scenario === name)!;
  const render = await metricsRenderCost();
  const ratios = {
    metricsOverhead: 1 - get('predict 1 row').requestsPerSec / get('predict 1 row, metrics off').requestsPerSec,
    predictVsExpress: get('predict 1 row').requestsPerSec / get('bare express 5 route').requestsPerSec,
    predictVsNodeHttp: get('predict 1 row').requestsPerSec / get('bare node:http').requestsPerSec,
    expressVsNodeHttp: get('bare express 5 route').requestsPerSec / get('bare node:http').requestsPerSec,
    batchRowsPerSec: get('predict batch 64').rowsPerSec,
    // The same comparisons in server CPU per request: stable when other work shares the machine.
    cpuMetricsOverhead: 1 - get('predict 1 row, metrics off').cpuUsPerRequest / get('predict 1 row').cpuUsPerRequest,
    cpuPredictVsExpress: get('bare express 5 route').cpuUsPerRequest / get('predict 1 row').cpuUsPerRequest,
  };
  const goals = {
    'metrics overhead <= 5%': ratios.metricsOverhead <= 0.05,
    'predict >= 0.8x bare express': ratios.predictVsExpress >= 0.8,
    'batch >= 50,000 rows/s': ratios.batchRowsPerSec >= 50_000,
    '/metrics render < 1 us CPU/sample': render.usPerSample < 1,
  };

  const pad = (s: string, n: number) => s.padEnd(n);
  const lines = [
    `${pad('scenario', 30)}${pad('req/s', 10)}${pad('rows/s', 10)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('CPU us/req', 12)}rounds (req/s)`,
    ...summary.map((x) => `${pad(x.scenario, 30)}${pad(String(x.requestsPerSec), 10)}${pad(String(x.rowsPerSec), 10)}${pad(String(x.p50ms), 9)}${pad(String(x.p99ms), 9)}${pad(String(x.cpuUsPerRequest), 12)}${x.rounds.join(' ')}`),
    '',
    `metrics overhead (1 - on/off):        ${(ratios.metricsOverhead * 100).toFixed(1)}%`,
    `predict / bare express:               ${ratios.predictVsExpress.toFixed(2)}x`,
    `predict / bare node:http:             ${ratios.predictVsNodeHttp.toFixed(2)}x`,
    `bare express / bare node:http:        ${ratios.expressVsNodeHttp.toFixed(2)}x`,
    `by server CPU per request: metrics overhead ${(ratios.cpuMetricsOverhead * 100).toFixed(1)}%, predict / bare express ${ratios.cpuPredictVsExpress.toFixed(2)}x`,
    `/metrics render: ${render.samples} samples in ${render.usPerRender.toFixed(1)} us CPU = ${render.usPerSample.toFixed(3)} us/sample (wall ${render.wallUsPerRender.toFixed(1)} us); prom-client's registry.metrics() on the same registry ${render.promClientUsPerSample.toFixed(3)} us/sample`,
    '',
    ...Object.entries(goals).map(([k, ok]) => `${ok ? 'PASS' : 'MISS'}  ${k}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
  const outDir = join(ROOT, 'bench/results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `api-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ benchmark: 'api', date: new Date().toISOString(), machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version }, settings: { durationSec: DURATION, rounds: ROUNDS, connections: CONNECTIONS, pinnedToCores: PIN }, summary, ratios, metricsRender: render, goals }, null, 2) + '\n');
  process.stdout.write(`wrote ${file}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:api failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
