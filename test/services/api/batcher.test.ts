import { InferenceBatcher } from '../../../services/api/batcher';
import { FEATURE_COUNT } from '../../../services/core/features';
import type { Model } from '../../../services/core/model/model';

/** A model that returns each row's first feature and records its calls. */
function recordingModel(name: string, fail = false): Model & { calls: number[] } {
  const calls: number[] = [];
  return {
    name, version: '1', variant: 'ml', decisionThreshold: 0.5, calls,
    async predict(input, rows) {
      calls.push(rows);
      if (fail) throw new Error('boom');
      return Float32Array.from({ length: rows }, (_, r) => input[r * FEATURE_COUNT]!);
    },
    async dispose() {},
  };
}

const rows = (...firsts: number[]) => {
  const a = new Float32Array(firsts.length * FEATURE_COUNT);
  firsts.forEach((v, r) => (a[r * FEATURE_COUNT] = v));
  return a;
};

describe('InferenceBatcher', () => {
  it('serves requests of the same event-loop turn with one model call and gives each its own rows', async () => {
    const m = recordingModel('a');
    const seen: number[] = [];
    const b = new InferenceBatcher(256, (_m, _s, n) => seen.push(n));
    const [x, y, z] = await Promise.all([b.predict(m, rows(1), 1), b.predict(m, rows(2, 3), 2), b.predict(m, rows(4), 1)]);
    expect(m.calls).toEqual([4]);
    expect(seen).toEqual([4]);
    expect([Array.from(x), Array.from(y), Array.from(z)]).toEqual([[1], [2, 3], [4]]);
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
    expect(out.map((o) => Array.from(o))).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('rejects every request of a failed call', async () => {
    const m = recordingModel('a', true);
    const b = new InferenceBatcher(256);
    const results = await Promise.allSettled([b.predict(m, rows(1), 1), b.predict(m, rows(2), 1)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
