import type { Logger } from '../logger';
import { BaselineModel } from './baseline';
import { type Model, type Variant } from './model';
import { OnnxModel, type OrtThreads } from './onnx-model';

export interface ModelEvents {
  /** A model finished loading (seconds it took). */
  loaded?(model: Model, seconds: number): void;
  loadFailed?(variant: Variant, error: Error): void;
  switched?(from: Model, to: Model): void;
  /** Fallback to baseline started (true) or ended (false). */
  fallback?(active: boolean): void;
}

export interface ModelManagerOptions {
  readonly modelDir: string;
  readonly initial: Variant;
  readonly threads: OrtThreads;
  readonly logger: Logger;
  readonly events?: ModelEvents;
  /** How long a replaced custom model stays loaded for requests still using it. */
  readonly disposeGraceMs?: number;
}

/**
 * Owns the served model. Requests take `current()` once and keep that object,
 * so a switch never changes the model under an in-flight request; the swap
 * itself is one assignment. Built-in models stay loaded, so rolling back to
 * baseline and forward again costs nothing.
 *
 * If the requested ML model cannot be loaded, the baseline is served instead
 * (fallback), and `reconcile()` retries later.
 */
export class ModelManager {
  private served: Model;
  private desired: Variant;
  private readonly cache = new Map<Variant, Model>();
  private switching: Promise<void> = Promise.resolve();
  private fallbackActive = false;
  /** The initial load is not a switch: events start after create() resolves. */
  private started = false;

  private constructor(
    private readonly opts: ModelManagerOptions,
    readonly baseline: BaselineModel,
  ) {
    this.served = baseline;
    this.desired = 'baseline';
    this.cache.set('baseline', baseline);
  }

  /** Loads the baseline (which must work: it is the rollback target) and then the initial variant. */
  static async create(opts: ModelManagerOptions): Promise<ModelManager> {
    const started = process.hrtime.bigint();
    const baseline = BaselineModel.load(opts.modelDir);
    opts.events?.loaded?.(baseline, Number(process.hrtime.bigint() - started) / 1e9);
    const manager = new ModelManager(opts, baseline);
    await manager.switchTo(opts.initial);
    manager.started = true;
    return manager;
  }

  current(): Model {
    return this.served;
  }

  /** The variant operators asked for (may differ from the served one during fallback). */
  get desiredVariant(): Variant {
    return this.desired;
  }

  get inFallback(): boolean {
    return this.fallbackActive;
  }

  /** Serializes switches; resolves once the desired variant is served or the fallback is in place. */
  switchTo(variant: Variant): Promise<void> {
    const next = this.switching.then(() => this.doSwitch(variant));
    this.switching = next.catch(() => undefined);
    return next;
  }

  /** Retries the desired variant when a fallback is active. */
  reconcile(): Promise<void> {
    return this.fallbackActive ? this.switchTo(this.desired) : Promise.resolve();
  }

  private async doSwitch(variant: Variant): Promise<void> {
    this.desired = variant;
    let target = this.cache.get(variant);
    if (!target) {
      const started = process.hrtime.bigint();
      try {
        const dir = variant === 'ml' || variant === 'baseline' ? this.opts.modelDir : variant.slice('path:'.length);
        target = await OnnxModel.load(dir, variant, this.opts.threads);
        this.opts.events?.loaded?.(target, Number(process.hrtime.bigint() - started) / 1e9);
        this.cache.set(variant, target);
      } catch (err) {
        this.opts.events?.loadFailed?.(variant, err as Error);
        this.opts.logger.error({ err, variant }, 'model load failed; serving the baseline model instead');
        this.setFallback(true);
        this.install(this.baseline);
        return;
      }
    }
    this.setFallback(false);
    this.install(target);
  }

  private install(model: Model): void {
    const previous = this.served;
    if (previous === model) return;
    this.served = model;
    if (this.started) {
      this.opts.logger.info({ from: previous.variant, to: model.variant, model: model.name, version: model.version }, 'model switched');
      this.opts.events?.switched?.(previous, model);
    }
    // Custom-path models are not kept: free them once in-flight requests are surely done.
    if (previous.variant !== 'ml' && previous.variant !== 'baseline') {
      this.cache.delete(previous.variant);
      setTimeout(() => void previous.dispose().catch(() => undefined), this.opts.disposeGraceMs ?? 10_000).unref();
    }
  }

  private setFallback(active: boolean): void {
    if (this.fallbackActive === active) return;
    this.fallbackActive = active;
    this.opts.events?.fallback?.(active);
  }

  async close(): Promise<void> {
    await this.switching;
    await Promise.all([...this.cache.values()].map((m) => m.dispose().catch(() => undefined)));
    this.cache.clear();
  }
}
