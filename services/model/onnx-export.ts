import { onnx } from 'onnx-proto';

/** Name of the model's single input and output; the runtime checks them on load. */
export const ONNX_INPUT = 'features';
export const ONNX_OUTPUT = 'probability';
export const ONNX_OPSET = 13;

export interface LogisticGraphParams {
  readonly featureNames: readonly string[];
  /** Standardization: z = (x - mean) * invStd. */
  readonly mean: readonly number[];
  readonly invStd: readonly number[];
  readonly weights: readonly number[];
  readonly bias: number;
  readonly modelVersion: number;
  readonly docString: string;
}

function floatTensor(name: string, dims: number[], values: readonly number[]): onnx.ITensorProto {
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, floatData: values.map((v) => Math.fround(v)) };
}

function tensorValue(name: string, dims: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/**
 * Encodes standardized logistic regression as a plain ONNX graph
 * (Sub → Mul → MatMul → Add → Sigmoid) from the default opset only, so any
 * ONNX runtime can serve it. Output is deterministic for the same parameters.
 */
export function encodeLogisticModel(p: LogisticGraphParams): Uint8Array {
  const d = p.featureNames.length;
  for (const [name, arr] of [['mean', p.mean], ['invStd', p.invStd], ['weights', p.weights]] as const) {
    if (arr.length !== d) throw new Error(`${name} has ${arr.length} values, expected ${d}`);
  }
  const graph: onnx.IGraphProto = {
    name: 'volwatch_spike_logistic',
    node: [
      { opType: 'Sub', input: [ONNX_INPUT, 'mean'], output: ['centered'], name: 'standardize_center' },
      { opType: 'Mul', input: ['centered', 'inv_std'], output: ['z'], name: 'standardize_scale' },
      { opType: 'MatMul', input: ['z', 'weights'], output: ['logit_raw'], name: 'linear' },
      { opType: 'Add', input: ['logit_raw', 'bias'], output: ['logit'], name: 'bias' },
      { opType: 'Sigmoid', input: ['logit'], output: [ONNX_OUTPUT], name: 'sigmoid' },
    ],
    initializer: [
      floatTensor('mean', [d], p.mean),
      floatTensor('inv_std', [d], p.invStd),
      floatTensor('weights', [d, 1], p.weights),
      floatTensor('bias', [1], [p.bias]),
    ],
    input: [tensorValue(ONNX_INPUT, ['batch', d])],
    output: [tensorValue(ONNX_OUTPUT, ['batch', 1])],
    docString: `inputs in order: ${p.featureNames.join(', ')}`,
  };
  const model: onnx.IModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'volwatch-train',
    producerVersion: '1',
    modelVersion: p.modelVersion,
    docString: p.docString,
    graph,
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
