/**
 * End to end: the local stack (the API with a steady load, the consumer, a producer, the broker
 * with its JMX exporter) watched by real Prometheus 3.14 and Alertmanager 0.34, running a test
 * rendering of the very rules of the PrometheusRules with every window and `for` divided by
 * TIME_SCALE (the production windows are proven by the promtool tests). Real faults, then the
 * fix; each alert must fire in Prometheus, reach the webhook receiver through Alertmanager's
 * severity route with its labels and annotations, and resolve. Prints the timing table.
 *
 * Needs the broker of scripts/test.sh (KAFKA_BROKERS, its exporter on KAFKA_PORT + 2) and runs
 * alone: the broker-side stall alert counts every group's offset commits.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { renderDashboards } from '../../scripts/dashboards-render';
import { createAlertLog, type ReceivedAlert } from '../../scripts/local/alert-log';
import { startLoad } from '../../scripts/local/load';
import { writeLocalMonitoring } from '../../scripts/local/monitoring-config';
import { FEATURE_NAMES } from '../../services/core/features';
import { monitoringTool } from '../support/monitoring-tools';

const ROOT = path.resolve(__dirname, '../..');
const TIME_SCALE = 30;
const KAFKA_BROKERS = process.env.KAFKA_BROKERS ?? `127.0.0.1:${process.env.KAFKA_PORT ?? 9092}`;
const KAFKA_METRICS_PORT = Number(process.env.KAFKA_METRICS_PORT ?? Number(process.env.KAFKA_PORT ?? 9092) + 2);
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'volwatch-e2e-'));

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
let variantFile = '';
let stopLoad = (): void => undefined;

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

function startApi(): void {
  start('api', process.execPath, ['--import', 'tsx', 'services/api/main.ts'], { PORT: String(ports.api), METRICS_PORT: String(ports['volwatch-api']), MODEL_VARIANT_FILE: variantFile, LOG_LEVEL: 'warn', MAX_IN_FLIGHT: '4' });
}

function matches(a: ReceivedAlert, alert: string, status: 'firing' | 'resolved', labels: Record<string, string>): boolean {
  return a.status === status && a.labels.alertname === alert && Object.entries(labels).every(([k, v]) => a.labels[k] === v);
}

interface Expected {
  readonly alert: string;
  readonly labels: Record<string, string>;
}

/**
 * Injects a fault, waits for each expected alert to fire and be delivered, removes the fault,
 * waits for each to resolve. Times are measured from the injection and from the fix.
 */
async function prove(fault: { name: string; inject: () => Promise<void> | void; fix: () => Promise<void> | void; withinS: number }, expected: Expected[]): Promise<ReceivedAlert[]> {
  const rows = expected.map((e) => ({ alert: e.alert, fault: fault.name }) as Timing);
  timings.push(...rows);
  const from = log.received.length;
  const seen = (e: Expected, status: 'firing' | 'resolved', after = 0) => log.received.slice(from).find((a) => matches(a, e.alert, status, e.labels) && a.receivedAt >= after);
  const t0 = Date.now();
  await fault.inject();
  try {
    await until(`${expected.map((e) => e.alert).join(', ')} to fire (${fault.name})`, () => {
      expected.forEach((e, i) => {
        const a = seen(e, 'firing');
        if (a && rows[i]!.fire === undefined) rows[i]!.fire = (a.receivedAt - t0) / 1000;
      });
      return rows.every((r) => r.fire !== undefined);
    }, fault.withinS * 1000);
  } catch (err) {
    await fault.fix(); // never leave a fault behind for the next case
    throw err;
  }
  const firing = expected.map((e) => seen(e, 'firing')!);
  const t1 = Date.now();
  await fault.fix();
  await until(`${expected.map((e) => e.alert).join(', ')} to resolve (${fault.name})`, () => {
    expected.forEach((e, i) => {
      const a = seen(e, 'resolved', t1);
      if (a && rows[i]!.resolve === undefined) rows[i]!.resolve = (a.receivedAt - t1) / 1000;
    });
    return rows.every((r) => r.resolve !== undefined);
  }, fault.withinS * 1000);
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
  variantFile = path.join(WORK, 'model-variant');
  fs.writeFileSync(variantFile, 'ml\n');
  const topics = spawn(process.execPath, ['--import', 'tsx', 'scripts/local/create-topics.ts'], { cwd: ROOT, env: { ...process.env, KAFKA_BROKERS }, stdio: 'inherit' });
  await new Promise((r) => topics.once('exit', r));
  startApi();
  start('consumer', process.execPath, ['--import', 'tsx', 'services/consumer/main.ts'], { METRICS_PORT: String(ports['volwatch-consumer']), KAFKA_BROKERS, MODEL_VARIANT_FILE: variantFile, LOG_LEVEL: 'warn' });
  await until('the API to be ready', httpOk(`http://127.0.0.1:${ports.api}/ready`), 60_000);
  await until('the consumer to be ready', httpOk(`http://127.0.0.1:${ports['volwatch-consumer']}/ready`), 90_000);
  start('producer', process.execPath, ['--import', 'tsx', 'services/producer/main.ts', '--rate', '20', '--brokers', KAFKA_BROKERS]);
  stopLoad = startLoad(`http://127.0.0.1:${ports.api}`, 4).stop;

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
  await until('every target to be up', async () => {
    const r = (await (await fetch(`http://127.0.0.1:${ports.prometheus}/api/v1/query?query=${encodeURIComponent('count(up == 1)')}`)).json()) as { data: { result: { value: [number, string] }[] } };
    return Number(r.data.result[0]?.value[1]) === 3;
  }, 30_000);
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
    const [api, consumer] = await prove({ name: 'variant file set to baseline', inject: () => fs.writeFileSync(variantFile, 'baseline\n'), fix: () => fs.writeFileSync(variantFile, 'ml\n'), withinS: 60 }, [
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
    const alerts = await prove({ name: 'hot switch to corrupt artifacts', inject: () => fs.writeFileSync(variantFile, `${bad}\n`), fix: () => fs.writeFileSync(variantFile, 'ml\n'), withinS: 120 }, [
      { alert: 'VolwatchModelLoadFailures', labels: { job: 'volwatch-api' } },
      { alert: 'VolwatchModelFallbackActive', labels: { job: 'volwatch-api' } },
      { alert: 'VolwatchModelFallbackActive', labels: { job: 'volwatch-consumer' } },
    ]);
    for (const a of alerts) expectWellFormed(a, 'warning');
  });

  test('overload: bursts past MAX_IN_FLIGHT get 503s: VolwatchApiHighErrorRate and the availability SLO page (VolwatchApiAvailabilityBudgetBurn)', async () => {
    const body = JSON.stringify({ features: Object.fromEntries(FEATURE_NAMES.map((f) => [f, 0.5])) });
    let burst: NodeJS.Timeout | undefined;
    const alerts = await prove(
      {
        name: 'bursts of 30 concurrent requests (MAX_IN_FLIGHT 4)',
        inject: () => {
          burst = setInterval(() => {
            for (let i = 0; i < 30; i++) void fetch(`http://127.0.0.1:${ports.api}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then((r) => r.arrayBuffer(), () => undefined);
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
