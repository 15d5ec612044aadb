import { InferenceBatcher } from '../../../services/api/batcher';
import { FEATURE_COUNT } from '../../../services/core/features';
import { type Model, ModelOutputError } from '../../../services/core/model/model';

/**
 * A model that returns each row's first feature divided by 8 (exact in float32) and
 * records its calls. `fail` makes a call throw when it holds a row of that value.
 */
function recordingModel(name: string, fail?: number): Model & { calls: number[] } {
  const calls: number[] = [];
  return {
    name, version: '1', variant: 'ml', decisionThreshold: 0.5, calls,
    async predict(input, rows) {
      calls.push(rows);
      for (let r = 0; r < rows; r++) if (input[r * FEATURE_COUNT] === fail) throw new Error('boom');
      return Float32Array.from({ length: rows }, (_, r) => input[r * FEATURE_COUNT]! / 8);
    },
    async dispose() {},
  };
}

const rows = (...firsts: number[]) => {
  const a = new Float32Array(firsts.length * FEATURE_COUNT);
  firsts.forEach((v, r) => (a[r * FEATURE_COUNT] = v));
  return a;
};
const scaled = (...firsts: number[]) => firsts.map((v) => v / 8);

describe('InferenceBatcher', () => {
  it('serves requests of the same event-loop turn with one model call and gives each its own rows', async () => {
    const m = recordingModel('a');
    const seen: number[] = [];
    const b = new InferenceBatcher(256, (_m, _s, n) => seen.push(n));
    const [x, y, z] = await Promise.all([b.predict(m, rows(1), 1), b.predict(m, rows(2, 3), 2), b.predict(m, rows(4), 1)]);
    expect(m.calls).toEqual([4]);
    expect(seen).toEqual([4]);
    expect([Array.from(x), Array.from(y), Array.from(z)]).toEqual([scaled(1), scaled(2, 3), scaled(4)]);
  });

  it('never mixes models: each request stays on the model it started with', async () => {
    const a = recordingModel('a');
    const c = recordingModel('c');
    const b = new InferenceBatcher(256);
    await Promise.all([b.predict(a, rows(1), 1), b.predict(c, rows(2), 1), b.predict(a, rows(3), 1)]);
    expect(a.calls).toEqual([2]);
    expect(c.calls).toEqual([1]);
  });

  it('splits at maxRows', async () => {
    const m = recordingModel('a');
    const b = new InferenceBatcher(3);
    const out = await Promise.all([b.predict(m, rows(1, 2), 2), b.predict(m, rows(3, 4), 2), b.predict(m, rows(5), 1)]);
    expect(m.calls).toEqual([2, 3]);
    expect(out.map((o) => Array.from(o))).toEqual([scaled(1, 2), scaled(3, 4), scaled(5)]);
  });

  it('rejects a request whose own call failed', async () => {
    const m = recordingModel('a', 1);
    const b = new InferenceBatcher(256);
    await expect(b.predict(m, rows(1), 1)).rejects.toThrow('boom');
  });

  it('runs the requests of a failed shared call again one by one, so only the poisoned one fails', async () => {
    const m = recordingModel('a', 3);
    const b = new InferenceBatcher(256);
    const results = await Promise.allSettled([b.predict(m, rows(1), 1), b.predict(m, rows(2, 3), 2), b.predict(m, rows(4), 1)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(m.calls).toEqual([4, 1, 2, 1]);
  });

  it('fails only the request whose row the model answers with a non-probability, with a typed error', async () => {
    const m = recordingModel('a');
    const b = new InferenceBatcher(256);
    // 16/8 = 2 and NaN/8 = NaN are not probabilities.
    const results = await Promise.allSettled([b.predict(m, rows(1), 1), b.predict(m, rows(2, NaN), 2), b.predict(m, rows(16), 1), b.predict(m, rows(4), 1)]);
    expect(m.calls).toEqual([5]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    const err = (results[1] as PromiseRejectedResult).reason;
    expect(err).toBeInstanceOf(ModelOutputError);
    expect(err).toMatchObject({ row: 1, value: NaN });
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ row: 0, value: 2 });
    expect(Array.from((results[3] as PromiseFulfilledResult<Float32Array>).value)).toEqual(scaled(4));
  });
});
