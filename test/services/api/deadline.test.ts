import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { FEATURE_COUNT } from '../../../services/core/features';
import { ARTIFACTS_DIR, postJson, startApi } from '../../support/api';
import { validRow } from '../../support/fixtures';

/**
 * A valid but deliberately slow model: the same 1024×1024 matrix applied 12 times
 * per row. Scoring a full batch takes far longer than a 20 ms deadline.
 */
function writeSlowModel(): string {
  const dir = mkdtempSync(join(tmpdir(), 'volwatch-slow-'));
  const width = 1024;
  const layers = 12;
  const float = (name: string, dims: number[], fill: number) => ({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: Buffer.from(new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(fill).buffer) });
  const nodes: onnx.INodeProto[] = [{ opType: 'MatMul', input: ['features', 'w_in'], output: ['h0'] }];
  for (let i = 0; i < layers; i++) nodes.push({ opType: 'MatMul', input: [`h${i}`, 'w_hidden'], output: [`h${i + 1}`] });
  nodes.push({ opType: 'MatMul', input: [`h${layers}`, 'w_out'], output: ['logit'] }, { opType: 'Sigmoid', input: ['logit'], output: ['probability'] });
  const tensor = (name: string, dims: (number | string)[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } });
  const bytes = onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'slow',
        node: nodes,
        initializer: [float('w_in', [FEATURE_COUNT, width], 1e-3), float('w_hidden', [width, width], 1e-4), float('w_out', [width, 1], 1e-3)],
        input: [tensor('features', ['batch', FEATURE_COUNT])],
        output: [tensor('probability', ['batch', 1])],
      },
    }),
  ).finish();
  writeFileSync(join(dir, 'model.onnx'), bytes);
  const meta = JSON.parse(readFileSync(join(ARTIFACTS_DIR, 'metadata.json'), 'utf8'));
  meta.onnx.sha256 = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(dir, 'metadata.json'), JSON.stringify(meta));
  return dir;
}

describe('inference deadline', () => {
  it('answers 504 when inference exceeds INFERENCE_TIMEOUT_MS and keeps serving', async () => {
    const dir = writeSlowModel();
    const srv = await startApi({ MODEL_VARIANT: dir, INFERENCE_TIMEOUT_MS: '20', MAX_BATCH_ROWS: '256' });
    try {
      const res = await postJson(`${srv.url}/predict`, { instances: Array.from({ length: 256 }, validRow) });
      expect(res.status).toBe(504);
      expect(res.json.error.type).toBe('inference_timeout');
      expect((await fetch(`${srv.url}/health`)).status).toBe(200);
    } finally {
      await srv.api.stop();
    }
  });
});
