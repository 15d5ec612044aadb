import { request } from 'node:http';
import { FEATURE_NAMES } from '../../../services/core/features';
import { type RunningApi, getJson, postJson, startApi } from '../../support/api';
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
