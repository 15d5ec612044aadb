/**
 * End to end: the local stack (the API with a steady load, the consumer, a producer at the
 * simulated market's own pace, the broker with its JMX exporter) watched by real Prometheus
 * 3.14 and Alertmanager 0.34, running a test rendering of the very rules of the
 * PrometheusRules with every window and `for` divided by TIME_SCALE (the production windows
 * are proven by the promtool tests). Real faults, then the fix; each alert must fire in
 * Prometheus, reach the webhook receiver through Alertmanager's severity route with its labels
 * and annotations, and resolve. Prints the timing table.
 *
 * Drift windows are scaled like the rules: the services' hour of inputs becomes 2 minutes
 * (DRIFT_E2E.windowMs). Two minutes of a three-product market hold one or two of its regimes
 * and a couple of independent values of each 60 s feature, not the training data's mix
 * (single features reach PSI 4.8 on normal traffic). So the market is widened instead: the
 * producer and the load simulate 90 products (E2E_PRODUCTS: the three built-in bases, 30
 * quotes each, each trading its base's sizes) with independent regimes, and two minutes of
 * them hold what an hour of three does. The services then decide exactly as in production
 * (PSI >= 0.2 per feature, dataset drift at a share of 0.5, the per-feature alert at PSI >= 1):
 * on normal traffic no feature reaches 0.2 (largest 0.16 in 20 simulated minutes), the
 * injected drift moves 8 of 9 features (bench/drift-stream.ts --products; docs/drift.md,
 * "Calibration").
 *
 * Needs the broker of scripts/test.sh (KAFKA_BROKERS, its exporter on KAFKA_PORT + 2) and runs
 * alone: it recreates the stack's topics, the broker-side stall alert counts every group's offset
 * commits, and the drift case needs its processes to keep pace (run beside the serial suites on
 * a loaded machine, the API's drift windows read as drifted).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import * as ort from 'onnxruntime-node';
import { API_DRIFT_METRICS, CONSUMER_DRIFT_METRICS } from '../../cdk8s/alerts';
import { renderDashboards } from '../../scripts/dashboards-render';
import { createAlertLog, type ReceivedAlert } from '../../scripts/local/alert-log';
import { marketRows, startLoad } from '../../scripts/local/load';
import { writeLocalMonitoring } from '../../scripts/local/monitoring-config';
import { FEATURE_NAMES } from '../../services/core/features';
import { monitoringTool } from '../support/monitoring-tools';
import { writeSlowModel } from '../support/slow-model';

const ROOT = path.resolve(__dirname, '../..');
const TIME_SCALE = 30;
const KAFKA_BROKERS = process.env.KAFKA_BROKERS ?? `127.0.0.1:${process.env.KAFKA_PORT ?? 9092}`;
const KAFKA_METRICS_PORT = Number(process.env.KAFKA_METRICS_PORT ?? Number(process.env.KAFKA_PORT ?? 9092) + 2);
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'volwatch-e2e-'));
/**
 * The simulated market of the producer and the load (see the header): 3 base currencies x 30
 * quotes, about 500 ticks a second at the market's own pace.
 */
const QUOTES = ['USD', 'EUR', 'GBP', 'USDT', 'USDC', 'JPY', 'AUD', 'CAD', 'CHF', 'KRW', 'SGD', 'HKD', 'NZD', 'SEK', 'NOK', 'DKK', 'PLN', 'TRY', 'BRL', 'MXN', 'INR', 'ZAR', 'AED', 'ILS', 'CZK', 'HUF', 'RON', 'THB', 'IDR', 'PHP'];
const E2E_PRODUCTS = ['BTC', 'ETH', 'SOL'].flatMap((b) => QUOTES.map((q) => `${b}-${q}`));
/** The services' drift windows here: 2 minutes (an hour / TIME_SCALE), room for all of them; the decision is production's. */
const DRIFT_E2E = { windowMs: (60 * 60_000) / TIME_SCALE };
const DRIFT_ENV = {
  DRIFT_WINDOW_SIZE: '100000',
  DRIFT_WINDOW_MAX_AGE_MS: String(DRIFT_E2E.windowMs),
  DRIFT_COMPUTE_INTERVAL_MS: '2000',
};
/**
 * The injected drift: a second feed joins, the producer's drift injection on 90 products of
 * its own (half of the stream then): volatility x5 (returns and realised volatility),
 * trade sizes x10, spreads x10. Its own products because a restarted simulator starts from
 * its start prices, which no product's window should see as a jump.
 */
const DRIFT_SPEC = 'volatility=scale:5,size=scale:10,spread=scale:10';
const DRIFT_QUOTES = ['ARS', 'CLP', 'COP', 'PEN', 'VND', 'MYR', 'TWD', 'SAR', 'QAR', 'KWD', 'EGP', 'NGN', 'KES', 'PKR', 'BDT', 'UAH', 'KZT', 'BGN', 'ISK', 'MAD', 'JOD', 'BHD', 'OMR', 'LKR', 'GHS', 'UYU', 'BOB', 'DOP', 'CRC', 'GEL'];
const DRIFT_PRODUCTS = ['BTC', 'ETH', 'SOL'].flatMap((b) => DRIFT_QUOTES.map((q) => `${b}-${q}`));

interface Timing {
  readonly alert: string;
  readonly fault: string;
  fire?: number;
  resolve?: number;
}
const timings: Timing[] = [];
const children = new Map<string, ChildProcess>();
const log = createAlertLog({ port: 0, file: path.join(WORK, 'alerts.log'), quiet: true });
let ports: Record<string, number> = {};
/** Each service reads its own variant file, so a fault can hit the API alone. */
const variantFiles = { api: '', consumer: '' };
const setVariant = (variant: string, only?: keyof typeof variantFiles) => {
  for (const [service, file] of Object.entries(variantFiles)) if (!only || only === service) fs.writeFileSync(file, `${variant}\n`);
};
/** An hour of the simulated market's feature rows: request bodies that follow the training data. */
let marketPool: string[] = [];
const marketBody = () => marketPool[Math.floor(Math.random() * marketPool.length)]!;
let stopLoad = (): void => undefined;
/** The drift case's episode: it fills the consumer's window while the overload case runs, and clears it while the target-down and poison cases run. */
let driftEpisode: Episode | undefined;
const DRIFT_ALERTS = 'alertname=~"VolwatchDatasetDrift|VolwatchFeatureDrift"';
const isDriftAlert = (a: ReceivedAlert) => /^Volwatch(Dataset|Feature)Drift$/.test(a.labels.alertname ?? '');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function start(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const out = fs.openSync(path.join(WORK, `${name}.log`), 'a');
  const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', out, out] });
  children.set(name, child);
  return child;
}

function stop(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const c = children.get(name);
  children.delete(name);
  if (!c || c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    c.once('exit', () => resolve());
    c.kill('SIGCONT');
    c.kill(signal);
  });
}

async function until(what: string, ok: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve(ok()).catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}; logs in ${WORK}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const httpOk = (url: string) => async () => (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;

// INFERENCE_TIMEOUT_MS: the slow model's answers must arrive late (latency), not as 504s (errors).
function startApi(): void {
  start('api', process.execPath, ['--import', 'tsx', 'services/api/main.ts'], { PORT: String(ports.api), METRICS_PORT: String(ports['volwatch-api']), MODEL_VARIANT_FILE: variantFiles.api, LOG_LEVEL: 'warn', MAX_IN_FLIGHT: '4', INFERENCE_TIMEOUT_MS: '10000', ...DRIFT_ENV });
}

function startProducer(name = 'producer', products = E2E_PRODUCTS, args: string[] = []): void {
  start(name, process.execPath, ['--import', 'tsx', 'services/producer/main.ts', '--rate', 'natural', '--products', products.join(','), '--brokers', KAFKA_BROKERS, ...args], { LOG_LEVEL: 'warn' });
}

/**
 * A fresh stream, as on CI's new broker: the consumer restores its product windows from the
 * ticks topic, and a previous run's last ticks followed by a new simulator's (prices back at
 * their start) would make a minute of returns and volatility no market has.
 */
async function freshStream(): Promise<void> {
  const admin = new Kafka({ clientId: 'volwatch-e2e', brokers: KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const stale = (await admin.listTopics()).filter((t) => ['ticks', 'predictions', 'ticks.dlq'].includes(t));
    if ((await admin.listGroups()).groups.some((g) => g.groupId === 'volwatch-consumer')) await admin.deleteGroups(['volwatch-consumer']);
    if (stale.length > 0) await admin.deleteTopics({ topics: stale, timeout: 30_000 });
    await until('the old topics to be gone', async () => !(await admin.listTopics()).some((t) => stale.includes(t)), 30_000);
  } finally {
    await admin.disconnect();
  }
}

async function promQuery(query: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const r = (await (await fetch(`http://127.0.0.1:${ports.prometheus}/api/v1/query?query=${encodeURIComponent(query)}`)).json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  return r.data.result;
}

/**
 * A slow model for this machine: ORT's matrix kernels differ by CPU, so a probe is timed here
 * and the model sized to take about `targetMs` per single-row request (one thread, as the API runs it).
 */
async function slowModel(targetMs: number): Promise<{ dir: string; ms: number }> {
  const layers = 32;
  const probeCopies = 128;
  const probe = writeSlowModel({ layers, copiesPerRow: probeCopies });
  const session = await ort.InferenceSession.create(path.join(probe, 'model.onnx'), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const feed = { features: new ort.Tensor('float32', new Float32Array(FEATURE_NAMES.length), [1, FEATURE_NAMES.length]) };
  await session.run(feed);
  const t0 = performance.now();
  for (let i = 0; i < 3; i++) await session.run(feed);
  const probeMs = (performance.now() - t0) / 3;
  await session.release();
  const copies = Math.min(32_768, Math.max(probeCopies, Math.round((probeCopies * targetMs) / probeMs)));
  return { dir: writeSlowModel({ layers, copiesPerRow: copies }), ms: (probeMs * copies) / probeCopies };
}

async function servedVariant(): Promise<string | undefined> {
  const v = (await (await fetch(`http://127.0.0.1:${ports.api}/version`, { signal: AbortSignal.timeout(2000) })).json()) as { model?: { variant?: string } };
  return v.model?.variant;
}

const post = (body: string) => fetch(`http://127.0.0.1:${ports.api}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then((r) => r.arrayBuffer(), () => undefined);

function matches(a: ReceivedAlert, alert: string, status: 'firing' | 'resolved', labels: Record<string, string>): boolean {
  return a.status === status && a.labels.alertname === alert && Object.entries(labels).every(([k, v]) => a.labels[k] === v);
}

interface Expected {
  readonly alert: string;
  readonly labels: Record<string, string>;
}

interface Fault {
  readonly name: string;
  readonly inject: () => Promise<void> | void;
  readonly fix: () => Promise<void> | void;
  readonly withinS: number;
}

/** A fault in progress: inject() has run; fired(), fix() and resolved() follow, maybe with other cases between. */
interface Episode {
  /** Waits for every expected alert to fire and be delivered (the fault is fixed if they do not). */
  fired(): Promise<ReceivedAlert[]>;
  /** Removes the fault; resolution times are measured from here. */
  fix(): Promise<void>;
  /** Waits for every expected alert to resolve. */
  resolved(): Promise<void>;
}

/** Injects a fault; times to fire are measured from here. */
async function inject(fault: Fault, expected: Expected[]): Promise<Episode> {
  const rows = expected.map((e) => ({ alert: e.alert, fault: fault.name }) as Timing);
  timings.push(...rows);
  const from = log.received.length;
  const seen = (e: Expected, status: 'firing' | 'resolved', after = 0) => log.received.slice(from).find((a) => matches(a, e.alert, status, e.labels) && a.receivedAt >= after);
  const names = expected.map((e) => e.alert).join(', ');
  const t0 = Date.now();
  let t1 = 0;
  await fault.inject();
  return {
    async fired() {
      try {
        await until(`${names} to fire (${fault.name})`, () => {
          expected.forEach((e, i) => {
            const a = seen(e, 'firing');
            if (a && rows[i]!.fire === undefined) rows[i]!.fire = (a.receivedAt - t0) / 1000;
          });
          return rows.every((r) => r.fire !== undefined);
        }, Math.max(0, t0 + fault.withinS * 1000 - Date.now()));
      } catch (err) {
        await fault.fix(); // never leave a fault behind for the next case
        throw err;
      }
      return expected.map((e) => seen(e, 'firing')!);
    },
    async fix() {
      t1 = Date.now();
      await fault.fix();
    },
    resolved: () =>
      until(`${names} to resolve (${fault.name})`, () => {
        expected.forEach((e, i) => {
          const a = seen(e, 'resolved', t1);
          if (a && rows[i]!.resolve === undefined) rows[i]!.resolve = (a.receivedAt - t1) / 1000;
        });
        return rows.every((r) => r.resolve !== undefined);
      }, Math.max(0, t1 + fault.withinS * 1000 - Date.now())),
  };
}

/** Injects a fault, waits for each expected alert to fire, removes the fault, waits for each to resolve. */
async function prove(fault: Fault, expected: Expected[]): Promise<ReceivedAlert[]> {
  const episode = await inject(fault, expected);
  const firing = await episode.fired();
  await episode.fix();
  await episode.resolved();
  return firing;
}

/** Labels and annotations every delivered alert carries, and the severity route it came by. */
function expectWellFormed(a: ReceivedAlert, severity: string): void {
  expect(a.route).toBe(severity);
  expect(a.labels.severity).toBe(severity);
  expect(a.labels.namespace).toBe('volwatch');
  expect(a.annotations.summary).toEqual(expect.any(String));
  expect(a.annotations.description).toEqual(expect.any(String));
  expect(a.annotations.description).not.toContain('{{');
  expect(a.annotations.runbook_url).toBe(`https://github.com/volwatch/volwatch/blob/main/docs/runbook.md#${a.labels.alertname!.toLowerCase()}`);
}

beforeAll(async () => {
  const [prometheus, alertmanager] = [monitoringTool('prometheus'), monitoringTool('alertmanager')];
  ports = Object.fromEntries(await Promise.all(['api', 'volwatch-api', 'volwatch-consumer', 'prometheus', 'alertmanager'].map(async (k) => [k, await freePort()] as const)));
  const receiver = await log.start();
  variantFiles.api = path.join(WORK, 'api-model-variant');
  variantFiles.consumer = path.join(WORK, 'consumer-model-variant');
  setVariant('ml');
  const t = Date.now();
  marketPool = marketRows(5, 100, t, E2E_PRODUCTS)
    .rowsUntil(t + 3_600_000)
    .map((row) => JSON.stringify({ features: Object.fromEntries(FEATURE_NAMES.map((f) => [f, row[f]])) }));
  await freshStream();
  const topics = spawn(process.execPath, ['--import', 'tsx', 'scripts/local/create-topics.ts'], { cwd: ROOT, env: { ...process.env, KAFKA_BROKERS }, stdio: 'inherit' });
  await new Promise((r) => topics.once('exit', r));
  startApi();
  start('consumer', process.execPath, ['--import', 'tsx', 'services/consumer/main.ts'], { METRICS_PORT: String(ports['volwatch-consumer']), KAFKA_BROKERS, MODEL_VARIANT_FILE: variantFiles.consumer, LOG_LEVEL: 'warn', ...DRIFT_ENV });
  await until('the API to be ready', httpOk(`http://127.0.0.1:${ports.api}/ready`), 60_000);
  await until('the consumer to be ready', httpOk(`http://127.0.0.1:${ports['volwatch-consumer']}/ready`), 90_000);
  startProducer();
  stopLoad = startLoad(`http://127.0.0.1:${ports.api}`, 4, E2E_PRODUCTS).stop;

  const dir = path.join(WORK, 'monitoring');
  writeLocalMonitoring(dir, {
    kafkaMetricsPort: KAFKA_METRICS_PORT,
    alertWebhook: `http://127.0.0.1:${receiver}/alerts`,
    alertmanager: `127.0.0.1:${ports.alertmanager}`,
    scrapeInterval: '2s',
    evaluationInterval: '1s',
    timeScale: TIME_SCALE,
    ports: { 'volwatch-api': ports['volwatch-api']!, 'volwatch-consumer': ports['volwatch-consumer']! },
  });
  start('alertmanager', alertmanager, [`--config.file=${dir}/alertmanager.yml`, `--storage.path=${dir}/am`, `--web.listen-address=127.0.0.1:${ports.alertmanager}`, '--cluster.listen-address=']);
  start('prometheus', prometheus, [`--config.file=${dir}/prometheus.yml`, `--storage.tsdb.path=${dir}/tsdb`, `--web.listen-address=127.0.0.1:${ports.prometheus}`, '--rules.alert.resend-delay=1s']);
  await until('Prometheus to be ready', httpOk(`http://127.0.0.1:${ports.prometheus}/-/ready`), 60_000);
  await until('Alertmanager to be ready', httpOk(`http://127.0.0.1:${ports.alertmanager}/-/ready`), 60_000);
  // Every target scraped, so "down" means down.
  await until('every target to be up', async () => Number((await promQuery('count(up == 1)'))[0]?.value[1]) === 3, 30_000);
}, 30 * 60_000);

afterAll(async () => {
  stopLoad();
  for (const name of [...children.keys()].reverse()) await stop(name);
  await log.stop();
  const rows = timings.map((t) => `| ${t.alert} | ${t.fault} | ${t.fire?.toFixed(1) ?? '-'} s | ${t.resolve?.toFixed(1) ?? '-'} s |`);
  process.stdout.write(
    [`\nAlert timings (rules at 1/${TIME_SCALE} of their windows, 2 s scrapes, 1 s evaluations):`, '| alert | fault | time to fire | time to resolve |', '|---|---|---|---|', ...rows, ''].join('\n'),
  );
  fs.writeFileSync(path.join(ROOT, '.work', 'e2e-alert-timings.md'), `${rows.join('\n')}\n`);
}, 60_000);

describe('alerts fire end to end on the local stack and resolve after the fix', () => {
  test('rollback to baseline: VolwatchBaselineModelServing (info) for the API and the consumer', async () => {
    const [api, consumer] = await prove({ name: 'variant file set to baseline', inject: () => setVariant('baseline'), fix: () => setVariant('ml'), withinS: 60 }, [
      { alert: 'VolwatchBaselineModelServing', labels: { job: 'volwatch-api' } },
      { alert: 'VolwatchBaselineModelServing', labels: { job: 'volwatch-consumer' } },
    ]);
    for (const a of [api!, consumer!]) {
      expectWellFormed(a, 'info');
      expect(a.labels.variant).toBe('baseline');
    }
  });

  test('corrupt model artifacts after a hot switch: VolwatchModelLoadFailures, and VolwatchModelFallbackActive while both services serve the baseline', async () => {
    const bad = path.join(WORK, 'bad-model');
    fs.cpSync(path.join(ROOT, 'services/model/artifacts'), bad, { recursive: true });
    fs.writeFileSync(path.join(bad, 'model.onnx'), 'not an onnx model');
    const alerts = await prove({ name: 'hot switch to corrupt artifacts', inject: () => setVariant(bad), fix: () => setVariant('ml'), withinS: 120 }, [
      { alert: 'VolwatchModelLoadFailures', labels: { job: 'volwatch-api' } },
      { alert: 'VolwatchModelFallbackActive', labels: { job: 'volwatch-api' } },
      { alert: 'VolwatchModelFallbackActive', labels: { job: 'volwatch-consumer' } },
    ]);
    for (const a of alerts) expectWellFormed(a, 'warning');
  });

  test('a slow model after a hot switch of the API alone (load paused, one request every 3 s): VolwatchApiHighLatency and the latency SLO page (VolwatchApiLatencyBudgetBurn)', async () => {
    // About 1.5 s of one core per request: well past the 0.8 s p95 threshold and the 100 ms
    // SLO bucket, while the machine keeps a core and a half for everything else.
    const slow = await slowModel(1500);
    let paced: NodeJS.Timeout | undefined;
    const alerts = await prove(
      {
        name: `API hot-switched to a slow model (~${(slow.ms / 1000).toFixed(1)} s a request), a request every 3 s`,
        inject: () => {
          stopLoad();
          setVariant(slow.dir, 'api');
          paced = setInterval(() => void post(marketBody()), 3000);
        },
        fix: async () => {
          setVariant('ml', 'api');
          clearInterval(paced);
          await until('the API to serve the ML model again', async () => (await servedVariant()) === 'ml', 30_000);
          stopLoad = startLoad(`http://127.0.0.1:${ports.api}`, 4, E2E_PRODUCTS).stop;
        },
        withinS: 180,
      },
      [
        { alert: 'VolwatchApiHighLatency', labels: { job: 'volwatch-api' } },
        { alert: 'VolwatchApiLatencyBudgetBurn', labels: { sloth_slo: 'latency', severity: 'critical' } },
      ],
    );
    clearInterval(paced);
    expectWellFormed(alerts[0]!, 'warning');
    expect(alerts[0]!.annotations.description).toMatch(/The p95 latency of \/predict on volwatch-api has been \d/);
    expectWellFormed(alerts[1]!, 'critical');
    expect(alerts[1]!.labels.sloth_severity).toBe('page');
  });

  test(`drift injected by a second producer (--drift ${DRIFT_SPEC}): no drift alert before on normal traffic; the drifted feed joins`, async () => {
    // Both services score all nine features once their windows are warm (three quarters of
    // the window's age), and normal traffic raised no drift alert, not even a pending one.
    const scoring = async () => (await Promise.all([API_DRIFT_METRICS.evaluated, CONSUMER_DRIFT_METRICS.evaluated].map(async (m) => Number((await promQuery(`min(${m})`))[0]?.value[1])))).every((n) => n === FEATURE_NAMES.length);
    await until('both services to score all nine features', scoring, 150_000);
    expect(Number((await promQuery(`min(${CONSUMER_DRIFT_METRICS.windowSize})`))[0]?.value[1])).toBeGreaterThan(10_000);
    expect(await promQuery(`last_over_time(ALERTS{${DRIFT_ALERTS}}[1h])`)).toEqual([]);
    expect(log.received.filter(isDriftAlert)).toEqual([]);
    // The drift takes a while to fill the window: the overload case runs meanwhile.
    driftEpisode = await inject(
      {
        name: `a second producer, --drift ${DRIFT_SPEC} on 90 more products`,
        inject: () => startProducer('drifted-producer', DRIFT_PRODUCTS, ['--seed', '2', '--drift', DRIFT_SPEC]),
        fix: () => stop('drifted-producer'),
        withinS: 240,
      },
      [
        { alert: 'VolwatchDatasetDrift', labels: { job: 'volwatch-consumer' } },
        { alert: 'VolwatchFeatureDrift', labels: { job: 'volwatch-consumer', feature: 'spread_bps' } },
      ],
    );
  });

  test('overload: bursts past MAX_IN_FLIGHT get 503s: VolwatchApiHighErrorRate and the availability SLO page (VolwatchApiAvailabilityBudgetBurn)', async () => {
    // Rows of the market, so the requests that get through keep the API's drift windows quiet.
    let burst: NodeJS.Timeout | undefined;
    const alerts = await prove(
      {
        name: 'bursts of 30 concurrent requests (MAX_IN_FLIGHT 4)',
        inject: () => {
          burst = setInterval(() => {
            for (let i = 0; i < 30; i++) void post(marketBody());
          }, 250);
        },
        fix: () => clearInterval(burst),
        withinS: 150,
      },
      [
        { alert: 'VolwatchApiHighErrorRate', labels: { job: 'volwatch-api' } },
        { alert: 'VolwatchApiAvailabilityBudgetBurn', labels: { sloth_slo: 'availability', severity: 'critical' } },
      ],
    );
    clearInterval(burst);
    expectWellFormed(alerts[0]!, 'warning');
    expectWellFormed(alerts[1]!, 'critical');
    expect(alerts[1]!.labels.sloth_severity).toBe('page');
  });

  test('drift: VolwatchDatasetDrift and VolwatchFeatureDrift (spread_bps) fire for the consumer, not the API; the drifted producer stops', async () => {
    expect(driftEpisode).toBeDefined();
    const [dataset, feature] = await driftEpisode!.fired();
    await driftEpisode!.fix();
    // The API's inputs are the load's, not the producer's: its drift stayed quiet.
    expect(log.received.filter((a) => isDriftAlert(a) && a.labels.job === 'volwatch-api')).toEqual([]);
    expectWellFormed(dataset!, 'warning');
    expect(dataset!.annotations.description).toMatch(/^\d+(\.\d+)?% of the features volwatch-consumer scores have drifted/);
    expectWellFormed(feature!, 'warning');
    expect(feature!.annotations.description).toMatch(/^The PSI of feature spread_bps in volwatch-consumer against the training reference has been \d+\.\d\d for 15 minutes \(alert at >= 1;/);
  });

  test('target down: stopping the API raises VolwatchApiDown (critical)', async () => {
    const [a] = await prove(
      {
        name: 'API stopped',
        inject: () => stop('api'),
        fix: async () => {
          startApi();
          await until('the API to be ready again', httpOk(`http://127.0.0.1:${ports.api}/ready`), 60_000);
        },
        withinS: 60,
      },
      [{ alert: 'VolwatchApiDown', labels: { job: 'volwatch-api' } }],
    );
    expectWellFormed(a!, 'critical');
  });

  test('poison messages: malformed ticks raise VolwatchConsumerDeadLetters (warning)', async () => {
    const kafka = new Kafka({ clientId: 'volwatch-e2e', brokers: KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    let poison: NodeJS.Timeout | undefined;
    try {
      const [a] = await prove(
        {
          name: 'malformed ticks, 5 a second',
          inject: () => {
            poison = setInterval(() => void producer.send({ topic: 'ticks', messages: [{ key: 'BTC-USD', value: '{"not":"a tick"' }] }).catch(() => undefined), 200);
          },
          fix: () => clearInterval(poison),
          withinS: 120,
        },
        [{ alert: 'VolwatchConsumerDeadLetters', labels: { job: 'volwatch-consumer' } }],
      );
      expectWellFormed(a!, 'warning');
    } finally {
      clearInterval(poison);
      await producer.disconnect();
    }
  });

  test('drift: both alerts resolve once the drifted producer stopped and its rows left the window (while the API restarted and poison ticks came)', async () => {
    expect(driftEpisode).toBeDefined();
    await driftEpisode!.resolved();
  });

  test('consumer frozen (SIGSTOP) while the producer runs: VolwatchConsumerDown, the broker-side VolwatchKafkaConsumerGroupStalled and VolwatchConsumerStale', async () => {
    const consumer = children.get('consumer')!;
    // The freshness threshold (60 s) is a value, not a window: it is not scaled.
    let resumedAt = 0;
    const resume = () => {
      resumedAt = Date.now();
      consumer.kill('SIGCONT');
    };
    const [down, stalled, stale] = await prove({ name: 'consumer SIGSTOP', inject: () => void consumer.kill('SIGSTOP'), fix: resume, withinS: 150 }, [
      { alert: 'VolwatchConsumerDown', labels: { job: 'volwatch-consumer' } },
      { alert: 'VolwatchKafkaConsumerGroupStalled', labels: { job: 'kafka', topic: 'ticks' } },
      { alert: 'VolwatchConsumerStale', labels: { job: 'volwatch-consumer' } },
    ]);
    expectWellFormed(down!, 'critical');
    expectWellFormed(stalled!, 'critical');
    expectWellFormed(stale!, 'warning');
    // The backlog the frozen consumer left is predicted more than 30 s after its event time:
    // the freshness SLO pages, and resolves once the short window is clean again.
    const t: Timing = { alert: 'VolwatchConsumerFreshnessBudgetBurn', fault: 'backlog after SIGCONT (late predictions; timed from SIGCONT)' };
    timings.push(t);
    const labels = { sloth_slo: 'freshness', severity: 'critical' };
    await until('VolwatchConsumerFreshnessBudgetBurn to page', () => log.received.some((a) => matches(a, t.alert, 'firing', labels)), 120_000);
    const page = log.received.find((a) => matches(a, t.alert, 'firing', labels))!;
    t.fire = (page.receivedAt - resumedAt) / 1000;
    expectWellFormed(page, 'critical');
    const t1 = Date.now();
    await until('VolwatchConsumerFreshnessBudgetBurn to resolve', () => log.received.some((a) => matches(a, t.alert, 'resolved', labels) && a.receivedAt >= page.receivedAt), 180_000);
    t.resolve = (Date.now() - t1) / 1000;
  });

  test('no drift alert on normal traffic after the drift episode, through the API restart, the poison ticks and the consumer stall (windows warm up again before scoring)', async () => {
    expect(driftEpisode).toBeDefined();
    const resolvedAt = Math.max(...log.received.filter((a) => isDriftAlert(a) && a.status === 'resolved').map((a) => a.receivedAt));
    // Evaluations that started after the last resolution (1 s evaluations, a second's margin).
    const sinceS = Math.floor((Date.now() - resolvedAt) / 1000) - 2;
    expect(sinceS).toBeGreaterThan(60);
    expect(await promQuery(`last_over_time(ALERTS{${DRIFT_ALERTS}}[${sinceS}s])`)).toEqual([]);
    expect(log.received.filter((a) => isDriftAlert(a) && a.receivedAt > resolvedAt)).toEqual([]);
  });

  test('dashboards:render: every panel of the committed dashboards has data on the running stack', async () => {
    const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((c) => fs.existsSync(c));
    if (!chromium) throw new Error('chromium is missing (apt-get install -y chromium)');
    const results = await renderDashboards({ prometheus: `http://127.0.0.1:${ports.prometheus}`, out: path.join(WORK, 'dashboards'), rangeSeconds: 600, chromium });
    expect(results.length).toBeGreaterThan(20);
    // The firing-alerts table is empty when nothing fires; every other panel must show data.
    expect(results.filter((r) => r.series === 0 && !/firing alerts/i.test(r.panel)).map((r) => `${r.dashboard} / ${r.panel}`)).toEqual([]);
    for (const uid of ['volwatch-overview', 'volwatch-model', 'volwatch-consumer', 'volwatch-slo']) expect(fs.statSync(path.join(WORK, 'dashboards', `${uid}.png`)).size).toBeGreaterThan(20_000);
  });
});
