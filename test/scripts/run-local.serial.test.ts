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

describe('npm start (scripts/run-local.sh)', () => {
  it('runs the whole system: ticks flow through Kafka to predictions, the API answers, and SIGTERM stops every component', async () => {
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
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(err).toContain('volwatch is running');
    await expect(fetch('http://127.0.0.1:8080/health')).rejects.toThrow();
    await expect(fetch('http://127.0.0.1:9465/metrics')).rejects.toThrow();
  }, 120_000);
});
