import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { API_METRICS } from '../../../services/api/metrics';
import { FEATURE_DOMAIN } from '../../../services/core/feature-domain';
import { FEATURE_NAMES } from '../../../services/core/features';
import { encodeLogisticModel } from '../../../services/model/onnx-export';
import { type RunningApi, copyArtifacts, getJson, postJson, sample, scrape, startApi } from '../../support/api';
import { referenceOutputs, validRow } from '../../support/fixtures';

let srv: RunningApi;
beforeAll(async () => {
  srv = await startApi({ MAX_BATCH_ROWS: '64', BODY_LIMIT_BYTES: '65536' });
});
afterAll(() => srv.api.stop());

const predict = (body: unknown, headers?: Record<string, string>) => postJson(`${srv.url}/predict`, body, headers);

describe('POST /predict', () => {
  it('returns the training-time reference probabilities of the ML model within 1e-5', async () => {
    const ref = referenceOutputs();
    const instances = ref.rows.map((r) => Object.fromEntries(FEATURE_NAMES.map((n, j) => [n, r[j]])));
    const res = await predict({ instances });
    expect(res.status).toBe(200);
    expect(res.json.predictions).toHaveLength(ref.rows.length);
    res.json.predictions.forEach((p: { probability: number }, i: number) => {
      expect(Math.abs(p.probability - ref.probabilities[i]!)).toBeLessThanOrEqual(1e-5);
    });
  });

  it('labels each row with the model name, version, variant and thresholded label', async () => {
    const res = await predict({ features: validRow() });
    expect(res.status).toBe(200);
    const [p] = res.json.predictions;
    expect(p).toEqual({ probability: expect.any(Number), label: expect.any(Number), model: 'volwatch-spike-logreg', version: '1.0.0', variant: 'ml' });
    const { json: version } = await getJson(`${srv.url}/version`);
    expect(p.label).toBe(p.probability >= version.model.decisionThreshold ? 1 : 0);
  });

  it('rejects malformed JSON with 400', async () => {
    const res = await predict('{"features": {');
    expect(res.status).toBe(400);
    expect(res.json.error.type).toBe('malformed_json');
  });

  it('names every missing and every extra feature with 422', async () => {
    const row: Record<string, unknown> = { ...validRow(), colour: 'red' };
    delete row.rv_60s;
    delete row.spread_bps;
    const res = await predict({ features: row });
    expect(res.status).toBe(422);
    const fields = res.json.error.details.map((d: { field: string }) => d.field).sort();
    expect(fields).toEqual(['features.colour', 'features.rv_60s', 'features.spread_bps']);
  });

  it('rejects wrong types and non-finite numbers field by field', async () => {
    // 1e999 is valid JSON that parses to Infinity.
    const body = `{"instances":[${JSON.stringify({ ...validRow(), ret_1s: 'NaN' })},${JSON.stringify(validRow()).replace(/"rv_30s":[^,}]+/, '"rv_30s":1e999')},${JSON.stringify({ ...validRow(), spread_bps: null })}]}`;
    const res = await predict(body);
    expect(res.status).toBe(422);
    expect(res.json.error.details).toEqual([
      { field: 'instances[0].ret_1s', message: 'must be a number, got string' },
      { field: 'instances[1].rv_30s', message: 'must be a finite number' },
      { field: 'instances[2].spread_bps', message: 'must be a number, got null' },
    ]);
  });

  it('rejects finite values the model cannot take, naming each field, instead of answering 500 or probability 1', async () => {
    // Inf - Inf = NaN in the logit (was 500), and values beyond float32 that became ±Infinity (was 200).
    const overflow = await predict({ instances: [{ ...validRow(), rv_30s: 1e38, rv_60s: 1e38 }, validRow()] });
    expect(overflow.status).toBe(422);
    expect(overflow.json.error.details.map((d: { field: string }) => d.field)).toEqual(['instances[0].rv_30s', 'instances[0].rv_60s']);
    for (const huge of ['1e39', '1.7e308', '-3.5e38']) {
      const res = await predict(`{"features":${JSON.stringify(validRow()).replace(/"ret_1s":[^,}]+/, `"ret_1s":${huge}`)}}`);
      expect(res.status).toBe(422);
      expect(res.json.error.details).toEqual([{ field: 'features.ret_1s', message: expect.stringMatching(/^must be finite as a float32/) }]);
    }
  });

  it('rejects negative volatilities, spreads, intensities and volumes with 422', async () => {
    const res = await predict({ features: { ...validRow(), rv_30s: -1e-9, rv_60s: -0.01, spread_bps: -1, trade_intensity_30s: -2, log_volume_30s: -0.5 } });
    expect(res.status).toBe(422);
    expect(res.json.error.details.map((d: { field: string }) => d.field)).toEqual([
      'features.rv_30s',
      'features.rv_60s',
      'features.spread_bps',
      'features.trade_intensity_30s',
      'features.log_volume_30s',
    ]);
    expect(res.json.error.details[0].message).toMatch(/^must be between 0 and 10000/);
  });

  it('scores drifted but real rows and the edges of the domain with finite probabilities', async () => {
    const crash = { ret_1s: -0.4, ret_5s: -0.7, ret_30s: -1.2, ret_60s: -1.5, rv_30s: 1.1, rv_60s: 1.6, spread_bps: 900, trade_intensity_30s: 450, log_volume_30s: 16 };
    const edges = Object.fromEntries(FEATURE_NAMES.map((n) => [n, FEATURE_DOMAIN[n].max]));
    const lows = Object.fromEntries(FEATURE_NAMES.map((n) => [n, FEATURE_DOMAIN[n].min]));
    const res = await predict({ instances: [crash, edges, lows, { ...validRow(), rv_60s: 0, trade_intensity_30s: 0, spread_bps: 0, log_volume_30s: 0 }] });
    expect(res.status).toBe(200);
    for (const p of res.json.predictions) expect(p.probability).toEqual(expect.any(Number));
  });

  it('rejects an empty batch and a batch above MAX_BATCH_ROWS with 422', async () => {
    const empty = await predict({ instances: [] });
    expect(empty.status).toBe(422);
    expect(empty.json.error.details[0]).toEqual({ field: 'instances', message: 'must contain at least 1 row' });
    const big = await predict({ instances: Array.from({ length: 65 }, validRow) });
    expect(big.status).toBe(422);
    expect(big.json.error.details[0].message).toBe('must contain at most 64 rows');
  });

  it('rejects a body with both or neither of features/instances', async () => {
    expect((await predict({ features: validRow(), instances: [validRow()] })).status).toBe(422);
    expect((await predict({})).status).toBe(422);
    expect((await predict([validRow()])).status).toBe(422);
  });

  it('answers 413 for a body above BODY_LIMIT_BYTES', async () => {
    const res = await predict({ instances: [{ ...validRow(), pad: 'x'.repeat(70_000) }] });
    expect(res.status).toBe(413);
    expect(res.json.error.type).toBe('payload_too_large');
  });

  it('answers 413 for an oversized chunked body without Content-Length, and closes the connection', async () => {
    const status = await new Promise<{ code: number; connection: string | undefined }>((resolve, reject) => {
      const req = request(`${srv.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } });
      req.on('response', (r) => {
        r.resume();
        resolve({ code: r.statusCode!, connection: r.headers.connection });
      });
      req.on('error', reject);
      for (let i = 0; i < 20; i++) req.write('x'.repeat(8192));
      req.end();
    });
    expect(status).toEqual({ code: 413, connection: 'close' });
    expect((await predict({ features: validRow() })).status).toBe(200);
  });

  it('answers 415 for non-UTF-8 charsets and compressed bodies', async () => {
    expect((await predict({ features: validRow() }, { 'content-type': 'application/json; charset=latin1' })).status).toBe(415);
    expect((await predict({ features: validRow() }, { 'content-encoding': 'gzip' })).status).toBe(415);
    expect((await predict({ features: validRow() }, { 'content-type': 'application/json; charset=utf-8' })).status).toBe(200);
  });

  it('answers 415 when the body is not declared as JSON', async () => {
    const res = await predict(JSON.stringify({ features: validRow() }), { 'content-type': 'text/plain' });
    expect(res.status).toBe(415);
  });

  it('answers 404 JSON for unknown routes and 405 with Allow for wrong methods', async () => {
    const nf = await getJson(`${srv.url}/nope/123`);
    expect(nf.status).toBe(404);
    expect(nf.json.error.type).toBe('not_found');
    const na = await fetch(`${srv.url}/predict`);
    expect(na.status).toBe(405);
    expect(na.headers.get('allow')).toBe('POST');
  });

  it('survives a client that disconnects mid-body', async () => {
    await new Promise<void>((resolve) => {
      const req = request(`${srv.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '1000' } });
      req.on('error', () => resolve());
      req.write('{"features":');
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 50);
    });
    expect((await predict({ features: validRow() })).status).toBe(200);
  });
});

describe('a model that answers NaN', () => {
  /** A custom model whose logit is +Inf - Inf = NaN when ret_1s and ret_5s are both 10, and finite otherwise. */
  function nanModelDir(): string {
    const dir = copyArtifacts();
    const weights = FEATURE_NAMES.map((n) => (n === 'ret_1s' ? 1 : n === 'ret_5s' ? -1 : 0));
    const invStd = FEATURE_NAMES.map((n) => (n === 'ret_1s' || n === 'ret_5s' ? 3e38 : 1));
    const onnxBytes = encodeLogisticModel({ featureNames: FEATURE_NAMES, mean: weights.map(() => 0), invStd, weights, bias: 0, modelVersion: 1, docString: 'test' });
    writeFileSync(join(dir, 'model.onnx'), onnxBytes);
    const meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8'));
    meta.onnx.sha256 = createHash('sha256').update(onnxBytes).digest('hex');
    writeFileSync(join(dir, 'metadata.json'), JSON.stringify(meta));
    writeFileSync(join(dir, 'reference-outputs.json'), JSON.stringify({ model: 'test', tolerance: 1e-5, rows: [], probabilities: [], baselineProbabilities: [] }));
    return dir;
  }

  it('fails only the request with that row, as inference_failed, and keeps it out of the metrics', async () => {
    const dir = nanModelDir();
    const custom = await startApi({ MODEL_VARIANT: dir });
    try {
      const poisoned = { ...validRow(), ret_1s: 10, ret_5s: 10 };
      const fine = { ...validRow(), ret_1s: 0.001, ret_5s: 0.002 };
      const results = await Promise.all([
        ...Array.from({ length: 10 }, () => postJson(`${custom.url}/predict`, { features: fine })),
        postJson(`${custom.url}/predict`, { instances: [fine, poisoned] }),
        ...Array.from({ length: 10 }, () => postJson(`${custom.url}/predict`, { instances: [fine, fine] })),
      ]);
      expect(results.map((r) => r.status)).toEqual([...Array(10).fill(200), 500, ...Array(10).fill(200)]);
      expect(results[10]!.json.error.type).toBe('inference_failed');
      for (const r of results.filter((x) => x.status === 200)) for (const p of r.json.predictions) expect(p.probability).toEqual(expect.any(Number));
      const text = await scrape(custom.metricsUrl);
      expect(sample(text, `${API_METRICS.errors}{route="/predict",type="inference_failed"}`)).toBe(1);
      expect(text).not.toContain('type="internal"');
      expect(sample(text, `${API_METRICS.predictions}{variant="custom"}`)).toBe(30);
    } finally {
      await custom.api.stop();
    }
  });
});

describe('health endpoints', () => {
  it('reports liveness, readiness with the model, and version details', async () => {
    expect((await fetch(`${srv.url}/health`)).status).toBe(200);
    const ready = await getJson(`${srv.url}/ready`);
    expect(ready.status).toBe(200);
    expect(ready.json.model.variant).toBe('ml');
    const { json: v } = await getJson(`${srv.url}/version`);
    expect(v.app).toEqual({ name: 'volwatch-api', version: expect.any(String), gitRevision: expect.any(String) });
    expect(v.model).toMatchObject({ name: 'volwatch-spike-logreg', version: '1.0.0', variant: 'ml', fallback: false });
  });
});
