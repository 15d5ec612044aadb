import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { FEATURE_COUNT } from '../features';
import { ModelLoadError, type ModelMetadata, readMetadata, readReference } from './artifacts';
import { InferenceError, type Model, type Variant } from './model';

export interface OrtThreads {
  /** Threads inside one operator; keep ≤ the container's whole CPUs. */
  readonly intraOp: number;
  /** Threads across independent graph branches (our graph is a chain: 1). */
  readonly interOp: number;
}

/** An ONNX classifier served by onnxruntime-node, checked against its reference outputs on load. */
export class OnnxModel implements Model {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly metadata: ModelMetadata,
    readonly variant: Variant,
  ) {}

  get name(): string {
    return this.metadata.name;
  }
  get version(): string {
    return this.metadata.version;
  }
  get decisionThreshold(): number {
    return this.metadata.decisionThreshold;
  }

  static async load(dir: string, variant: Variant, threads: OrtThreads): Promise<OnnxModel> {
    const metadata = readMetadata(dir);
    const path = join(dir, metadata.onnx.file);
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new ModelLoadError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== metadata.onnx.sha256) {
      throw new ModelLoadError(`${path} has sha256 ${sha.slice(0, 12)}…, metadata expects ${metadata.onnx.sha256.slice(0, 12)}… (corrupt or mismatched file)`);
    }
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: threads.intraOp,
        interOpNumThreads: threads.interOp,
        executionMode: 'sequential',
        graphOptimizationLevel: 'all',
      });
    } catch (err) {
      throw new ModelLoadError(`onnxruntime rejected ${path}: ${(err as Error).message}`);
    }
    if (!session.inputNames.includes(metadata.onnx.input) || !session.outputNames.includes(metadata.onnx.output)) {
      await session.release();
      throw new ModelLoadError(`${path} does not have input "${metadata.onnx.input}" and output "${metadata.onnx.output}"`);
    }
    const model = new OnnxModel(session, metadata, variant);
    await model.selfCheck(dir);
    return model;
  }

  /** Never serve garbage: the loaded graph must reproduce the training-time reference outputs. */
  private async selfCheck(dir: string): Promise<void> {
    const ref = readReference(dir);
    if (!ref || ref.rows.length === 0) return;
    const input = new Float32Array(ref.rows.length * FEATURE_COUNT);
    ref.rows.forEach((row, r) => input.set(row, r * FEATURE_COUNT));
    const out = await this.predict(input, ref.rows.length);
    for (let i = 0; i < ref.rows.length; i++) {
      const diff = Math.abs(out[i]! - ref.probabilities[i]!);
      if (!(diff <= ref.tolerance * 10)) {
        await this.dispose();
        throw new ModelLoadError(`model output ${out[i]} differs from the reference ${ref.probabilities[i]} for reference row ${i}`);
      }
    }
  }

  async predict(input: Float32Array, rows: number): Promise<Float32Array> {
    const tensor = new ort.Tensor('float32', input.length === rows * FEATURE_COUNT ? input : input.subarray(0, rows * FEATURE_COUNT), [rows, FEATURE_COUNT]);
    let result: ort.InferenceSession.OnnxValueMapType;
    try {
      result = await this.session.run({ [this.metadata.onnx.input]: tensor });
    } catch (err) {
      throw new InferenceError(`onnxruntime run failed: ${(err as Error).message}`);
    }
    const data = result[this.metadata.onnx.output]?.data;
    // Not `instanceof Float32Array`: the native binding's arrays come from the main realm,
    // which differs from the realm of sandboxed callers such as jest (jestjs/jest#2549).
    if (!ArrayBuffer.isView(data) || (data as Float32Array).BYTES_PER_ELEMENT !== 4 || (data as Float32Array).length !== rows) {
      throw new InferenceError(`model returned ${(data as { length?: number } | undefined)?.length ?? 'no'} values for ${rows} rows`);
    }
    return data as Float32Array;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
