import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sum over all series of a metric family in a live scrape; undefined while unreachable. */
async function metric(url: string, name: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(url)).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  } catch {
    return undefined;
  }
}

async function promQuery(q: string): Promise<number | undefined> {
  try {
    const r = (await (await fetch(`http://127.0.0.1:9090/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as { data: { result: { value: [number, string] }[] } };
    return r.data.result.length ? Number(r.data.result[0]!.value[1]) : undefined;
  } catch {
    return undefined;
  }
}

describe('npm start (scripts/run-local.sh)', () => {
  it('runs the whole system: ticks flow through Kafka to predictions, the API answers under load, Prometheus and Alertmanager watch it, and SIGTERM stops every component', async () => {
    const child = spawn('bash', ['scripts/run-local.sh', '--rate', '100'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      let predictions: number | undefined;
      for (let i = 0; i < 120 && !(predictions && predictions > 50); i++) {
        await sleep(500);
        predictions = await metric('http://127.0.0.1:9465/metrics', 'volwatch_consumer_predictions_total');
      }
      expect(predictions).toBeGreaterThan(50);
      const ready = await fetch('http://127.0.0.1:8080/ready');
      expect(ready.status).toBe(200);
      // Prometheus 3.14 scrapes the API, the consumer and the broker's exporter under the
      // cluster's job and namespace labels and loads the PrometheusRules' groups; Alertmanager answers.
      let up: number | undefined;
      for (let i = 0; i < 240 && up !== 3; i++) {
        await sleep(500);
        up = await promQuery('count(up{namespace="volwatch"} == 1)');
      }
      expect(up).toBe(3);
      expect(await promQuery('count(count by (job) (up{job=~"volwatch-api|volwatch-consumer|kafka"}))')).toBe(3);
      const rules = (await (await fetch('http://127.0.0.1:9090/api/v1/rules')).json()) as { data: { groups: unknown[] } };
      expect(rules.data.groups.length).toBeGreaterThan(10);
      expect((await fetch('http://127.0.0.1:9095/-/ready')).status).toBe(200);
      // The load generator reaches /predict.
      expect(await metric('http://127.0.0.1:9464/metrics', 'http_requests_total{method="POST",route="/predict",status="200"}')).toBeGreaterThan(0);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(err).toContain('volwatch is running');
    await expect(fetch('http://127.0.0.1:8080/health')).rejects.toThrow();
    await expect(fetch('http://127.0.0.1:9465/metrics')).rejects.toThrow();
    for (const port of [9090, 9095, 9096]) await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  }, 300_000);
});
