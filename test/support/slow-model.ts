import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { FEATURE_COUNT } from '../../services/core/features';

const ARTIFACTS_DIR = join(__dirname, '../../services/model/artifacts');

export interface SlowModelOptions {
  /** Times the 1024×1024 matrix is applied. @default 12 */
  readonly layers?: number;
  /** Copies of each row's hidden vector pushed through those layers: the cost of one row. @default 1 */
  readonly copiesPerRow?: number;
}

/**
 * A valid but deliberately slow model directory (the shipped metadata, a model of the same
 * input and output): each row's hidden vector is copied `copiesPerRow` times and the same
 * 1024×1024 matrix applied `layers` times, so one row costs about
 * copiesPerRow × layers × 1M multiply-adds.
 */
export function writeSlowModel(o: SlowModelOptions = {}): string {
  const layers = o.layers ?? 12;
  const copies = o.copiesPerRow ?? 1;
  const dir = mkdtempSync(join(tmpdir(), 'volwatch-slow-'));
  const width = 1024;
  const float = (name: string, dims: number[], fill: number) => ({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: Buffer.from(new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(fill).buffer) });
  const int64 = (name: string, values: number[]) => ({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: Buffer.from(BigInt64Array.from(values.map(BigInt)).buffer) });
  const nodes: onnx.INodeProto[] = [
    { opType: 'MatMul', input: ['features', 'w_in'], output: ['row'] },
    { opType: 'Unsqueeze', input: ['row', 'axis1'], output: ['row3'] },
    { opType: 'Expand', input: ['row3', 'copies'], output: ['h0'] },
  ];
  for (let i = 0; i < layers; i++) nodes.push({ opType: 'MatMul', input: [`h${i}`, 'w_hidden'], output: [`h${i + 1}`] });
  nodes.push(
    { opType: 'ReduceMean', input: [`h${layers}`], output: ['pooled'], attribute: [{ name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [1] }, { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 }] },
    { opType: 'MatMul', input: ['pooled', 'w_out'], output: ['logit'] },
    { opType: 'Sigmoid', input: ['logit'], output: ['probability'] },
  );
  const tensor = (name: string, dims: (number | string)[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } });
  const bytes = onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'slow',
        node: nodes,
        initializer: [float('w_in', [FEATURE_COUNT, width], 1e-3), float('w_hidden', [width, width], 1e-4), float('w_out', [width, 1], 1e-3), int64('axis1', [1]), int64('copies', [1, copies, width])],
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
