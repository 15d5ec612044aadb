import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { API_METRICS } from '../../../services/api/metrics';
import { ARTIFACTS_DIR, copyArtifacts, getJson, postJson, sample, scrape, sleep, startApi } from '../../support/api';
import { referenceOutputs, validRow } from '../../support/fixtures';

const ROOT = join(__dirname, '../../..');

/** Opens a /predict request and sends all but the last byte of its body; returns a finisher. */
function openSlowPredict(url: string): Promise<{ finish: () => Promise<{ status: number; body: string }> }> {
  const body = JSON.stringify({ features: validRow() });
  return new Promise((resolve, reject) => {
    const req = request(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(body.length) } });
    const response = new Promise<{ status: number; body: string }>((res, rej) => {
      req.on('response', (r) => {
        let text = '';
        r.on('data', (c: Buffer) => (text += c.toString()));
        r.on('end', () => res({ status: r.statusCode!, body: text }));
      });
      req.on('error', rej);
    });
    req.on('error', reject);
    req.write(body.slice(0, -1), () => {
      // Give the server a moment to accept the headers and count the request as in flight.
      setTimeout(() => resolve({ finish: () => (req.end(body.slice(-1)), response) }), 50);
    });
  });
}

describe('hot model switch', () => {
  it('switches ml -> baseline -> ml from the variant file under load with zero failed requests', async () => {
    const dir = copyArtifacts();
    const variantFile = join(dir, 'variant');
    writeFileSync(variantFile, 'ml\n');
    // A generous deadline: this is about switching, and a busy CI machine must not turn it into 504s.
    const srv = await startApi({ MODEL_DIR: dir, MODEL_VARIANT_FILE: variantFile, MODEL_VARIANT_POLL_MS: '100', INFERENCE_TIMEOUT_MS: '10000' });
    try {
      const seen = new Map<string, number>();
      let failures = 0;
      let stop = false;
      const worker = async () => {
        while (!stop) {
          const res = await postJson(`${srv.url}/predict`, { instances: [validRow(), validRow()] });
          if (res.status !== 200) failures++;
          else for (const p of res.json.predictions) seen.set(p.variant, (seen.get(p.variant) ?? 0) + 1);
        }
      };
      const workers = Array.from({ length: 8 }, worker);
      await sleep(300);
      writeFileSync(variantFile, 'baseline\n');
      await sleep(600);
      const during = await getJson(`${srv.url}/version`);
      writeFileSync(variantFile, 'ml\n');
      await sleep(600);
      stop = true;
      await Promise.all(workers);
      expect(failures).toBe(0);
      expect(during.json.model.variant).toBe('baseline');
      expect(seen.get('baseline')).toBeGreaterThan(0);
      expect(seen.get('ml')).toBeGreaterThan(0);
      const text = await scrape(srv.metricsUrl);
      expect(sample(text, `${API_METRICS.modelSwitches}{from="ml",to="baseline"}`)).toBe(1);
      expect(sample(text, `${API_METRICS.modelSwitches}{from="baseline",to="ml"}`)).toBe(1);
      expect(sample(text, `${API_METRICS.modelInfo}{name="volwatch-spike-logreg",version="1.0.0",variant="ml"}`)).toBe(1);
      expect(text).not.toContain(`${API_METRICS.modelInfo}{name="volwatch-spike-baseline"`);
    } finally {
      await srv.api.stop();
    }
  });

  it('serves the baseline through the same interface with its reference outputs', async () => {
    const srv = await startApi({ MODEL_VARIANT: 'baseline' });
    try {
      const ref = referenceOutputs();
      const res = await postJson(`${srv.url}/predict`, { instances: ref.rows.map((r) => Object.fromEntries(Object.keys(validRow()).map((n, j) => [n, r[j]]))) });
      expect(res.status).toBe(200);
      expect(res.json.predictions.map((p: { probability: number }) => p.probability)).toEqual(ref.baselineProbabilities);
      expect(res.json.predictions[0].variant).toBe('baseline');
    } finally {
      await srv.api.stop();
    }
  });

  it('keeps the current model when the variant file holds nonsense', async () => {
    const dir = copyArtifacts();
    const variantFile = join(dir, 'variant');
    writeFileSync(variantFile, 'ml');
    const srv = await startApi({ MODEL_DIR: dir, MODEL_VARIANT_FILE: variantFile, MODEL_VARIANT_POLL_MS: '100' });
    try {
      writeFileSync(variantFile, 'gpt-7');
      await sleep(300);
      expect((await getJson(`${srv.url}/version`)).json.model.variant).toBe('ml');
    } finally {
      await srv.api.stop();
    }
  });
});

describe('fallback', () => {
  it.each([
    ['corrupt', (dir: string) => writeFileSync(join(dir, 'model.onnx'), Buffer.from('not an onnx model'))],
    ['missing', (dir: string) => writeFileSync(join(dir, 'metadata.json'), '{')],
  ])('serves the baseline and says so when the ML model is %s', async (_name, damage) => {
    const dir = copyArtifacts();
    damage(dir);
    const srv = await startApi({ MODEL_DIR: dir });
    try {
      const res = await postJson(`${srv.url}/predict`, { features: validRow() });
      expect(res.status).toBe(200);
      expect(res.json.predictions[0].variant).toBe('baseline');
      const ready = await getJson(`${srv.url}/ready`);
      expect(ready.status).toBe(200);
      expect(ready.json.fallback).toBe(true);
      const text = await scrape(srv.metricsUrl);
      expect(sample(text, API_METRICS.fallback)).toBe(1);
      expect(sample(text, `${API_METRICS.modelLoadFailures}{variant="ml"}`)).toBe(1);
    } finally {
      await srv.api.stop();
    }
  });

  it('never serves an ONNX graph whose outputs disagree with its reference outputs', async () => {
    const dir = copyArtifacts();
    const ref = JSON.parse(require('node:fs').readFileSync(join(dir, 'reference-outputs.json'), 'utf8'));
    ref.probabilities = ref.probabilities.map((p: number) => 1 - p);
    writeFileSync(join(dir, 'reference-outputs.json'), JSON.stringify(ref));
    const srv = await startApi({ MODEL_DIR: dir });
    try {
      expect((await getJson(`${srv.url}/version`)).json.model).toMatchObject({ variant: 'baseline', requestedVariant: 'ml', fallback: true });
    } finally {
      await srv.api.stop();
    }
  });
});

describe('saturation', () => {
  it('answers 503 with Retry-After beyond MAX_IN_FLIGHT and recovers', async () => {
    const srv = await startApi({ MAX_IN_FLIGHT: '2' });
    try {
      const a = await openSlowPredict(srv.url);
      const b = await openSlowPredict(srv.url);
      const rejected = await postJson(`${srv.url}/predict`, { features: validRow() });
      expect(rejected.status).toBe(503);
      expect(rejected.headers.get('retry-after')).toBe('1');
      expect(rejected.json.error.type).toBe('overloaded');
      expect((await a.finish()).status).toBe(200);
      expect((await b.finish()).status).toBe(200);
      expect((await postJson(`${srv.url}/predict`, { features: validRow() })).status).toBe(200);
    } finally {
      await srv.api.stop();
    }
  });
});

describe('graceful shutdown', () => {
  it('fails readiness at once, completes in-flight requests, then closes', async () => {
    const srv = await startApi({ SHUTDOWN_TIMEOUT_MS: '5000' });
    const inflight = await Promise.all([openSlowPredict(srv.url), openSlowPredict(srv.url)]);
    const stopped = srv.api.stop();
    await sleep(100);
    const text = await scrape(srv.metricsUrl);
    expect(sample(text, API_METRICS.ready)).toBe(0);
    await expect(fetch(`${srv.url}/health`)).rejects.toThrow(); // no longer accepting connections
    const results = await Promise.all(inflight.map((r) => r.finish()));
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    await stopped;
  });

  it('exits 0 on SIGTERM within the budget when run as a process', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'services/api/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', METRICS_PORT: '0', MODEL_DIR: ARTIFACTS_DIR, SHUTDOWN_TIMEOUT_MS: '3000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const deadline = Date.now() + 20_000;
    while (!out.includes('"api ready"') && Date.now() < deadline) await sleep(50);
    expect(out).toContain('"api ready"');
    const started = Date.now();
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(out).toContain('"api stopped"');
  });
});

describe('configuration', () => {
  it('reports every invalid setting at once and exits 2', () => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'services/api/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, PORT: 'eighty', MODEL_VARIANT: 'gpt', ORT_INTRA_OP_THREADS: '0', METRICS_ENABLED: 'maybe' },
      encoding: 'utf8',
    });
    expect(res.status).toBe(2);
    for (const name of ['PORT=', 'MODEL_VARIANT=', 'ORT_INTRA_OP_THREADS=', 'METRICS_ENABLED=']) expect(res.stderr).toContain(name);
  });
});
