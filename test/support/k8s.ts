// Helpers for tests that talk to the ephemeral control plane started by scripts/control-plane.sh.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ApiException, HttpMethod, KubeConfig, KubernetesObjectApi, Observable, PatchStrategy } from '@kubernetes/client-node';
import type { KubernetesObject, RequestContext, ResponseContext } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const DEFAULT_KUBECONFIG = path.join(REPO_ROOT, '.work', 'k8s', 'kubeconfig');
export const FIELD_MANAGER = 'volwatch-test';

export type K8sObject = KubernetesObject & { spec?: unknown; [key: string]: unknown };

/** One document of a YAML file, with the exact text sent to the server. */
export interface ManifestDoc {
  object: K8sObject;
  /** The document's own YAML text; sent verbatim so the server sees duplicate keys too. */
  body: string;
  source: string;
}

export class ManifestError extends Error {
  override name = 'ManifestError';
}

/** What the server returned for one applied object, with any warnings it attached. */
export interface Applied<T extends K8sObject = K8sObject> {
  object: T;
  /** Warning headers, e.g. deprecated APIs or Pod Security violations in warn mode. */
  warnings: string[];
}

/** A request the API server refused, naming the object and quoting the server. */
export class ApplyError extends Error {
  override name = 'ApplyError';
  constructor(
    readonly ref: string,
    readonly status: number | undefined,
    readonly serverMessage: string,
  ) {
    super(`${ref}: ${serverMessage}`);
  }
}

/** Loads the kubeconfig written by scripts/control-plane.sh (or $KUBECONFIG). */
export function loadKubeConfig(file = process.env.KUBECONFIG || DEFAULT_KUBECONFIG): KubeConfig {
  if (!existsSync(file)) {
    throw new ManifestError(`no kubeconfig at ${file}; start the control plane with: bash scripts/control-plane.sh start`);
  }
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

export function objectRef(obj: KubernetesObject, source?: string): string {
  const ns = obj.metadata?.namespace ? `${obj.metadata.namespace}/` : '';
  const where = source ? ` (${source})` : '';
  return `${obj.kind ?? '<no kind>'} ${ns}${obj.metadata?.name ?? '<no name>'}${where}`;
}

/** Parses multi-document YAML; empty documents are skipped. */
export function parseManifests(text: string, source: string): ManifestDoc[] {
  // uniqueKeys off: duplicate fields must reach the server, whose strict validation names them.
  const docs = parseAllDocuments(text, { uniqueKeys: false });
  if (!Array.isArray(docs)) {
    return [];
  }
  const out: ManifestDoc[] = [];
  docs.forEach((doc, i) => {
    if (doc.errors.length > 0) {
      throw new ManifestError(`${source} document ${i + 1}: ${doc.errors[0]?.message}`);
    }
    const object: unknown = doc.toJS();
    if (object === null || object === undefined) {
      return;
    }
    if (typeof object !== 'object' || Array.isArray(object)) {
      throw new ManifestError(`${source} document ${i + 1} is not a Kubernetes object`);
    }
    const obj = object as K8sObject;
    if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string' || typeof obj.metadata?.name !== 'string') {
      throw new ManifestError(`${source} document ${i + 1} lacks apiVersion, kind or metadata.name`);
    }
    out.push({ object: obj, body: doc.toString(), source: `${source}#${i + 1}` });
  });
  return out;
}

function yamlFilesUnder(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((entry) => {
      const full = path.join(dir, entry);
      if (statSync(full).isDirectory()) {
        return yamlFilesUnder(full);
      }
      return /\.ya?ml$/.test(entry) ? [full] : [];
    });
}

/** Reads every *.yaml / *.yml under dir; refuses a missing directory or one without objects. */
export function loadManifestDir(dir: string): ManifestDoc[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ManifestError(`manifest directory ${dir} does not exist`);
  }
  const docs = yamlFilesUnder(dir).flatMap((f) => parseManifests(readFileSync(f, 'utf8'), path.relative(REPO_ROOT, f)));
  if (docs.length === 0) {
    throw new ManifestError(`manifest directory ${dir} contains no Kubernetes objects`);
  }
  return docs;
}

/** Namespaces and CRDs before everything that may live in or depend on them. */
export function applyOrder(kind: string | undefined): number {
  if (kind === 'Namespace') return 0;
  if (kind === 'CustomResourceDefinition') return 1;
  return 2;
}

function serverMessage(err: unknown): { status: number | undefined; message: string } {
  if (err instanceof ApiException) {
    const body: unknown = err.body;
    if (typeof body === 'string') {
      try {
        const status = JSON.parse(body) as { message?: string };
        return { status: err.code, message: status.message ?? body };
      } catch {
        return { status: err.code, message: body };
      }
    }
    return { status: err.code, message: JSON.stringify(body) };
  }
  return { status: undefined, message: err instanceof Error ? err.message : String(err) };
}

/**
 * KubernetesObjectApi.patch serialises known kinds through client-node's typed models, which drops
 * unknown fields before the server sees them, and it has no fieldValidation parameter. This subclass
 * sends the document verbatim as an apply patch with fieldValidation=Strict.
 */
class StrictApplyApi extends KubernetesObjectApi {
  private warnings: string[] = [];

  static create(kc: KubeConfig): StrictApplyApi {
    const api = kc.makeApiClient(StrictApplyApi);
    api.setDefaultNamespace(kc);
    // Responses are only visible to middleware; collect their Warning headers there.
    api.configuration.middleware.push({
      pre: (ctx: RequestContext) => new Observable(Promise.resolve(ctx)),
      post: (rsp: ResponseContext) => {
        api.warnings.push(...parseWarnings(rsp.headers['warning']));
        return new Observable(Promise.resolve(rsp));
      },
    });
    return api;
  }

  /** Not reentrant: warnings are collected per call, and callers apply one object at a time. */
  async apply<T extends KubernetesObject>(spec: T, body: string, fieldManager: string): Promise<{ object: T; warnings: string[] }> {
    const url = await this.specUriPath(spec, 'patch');
    const ctx = this.configuration.baseServer.makeRequestContext(url, HttpMethod.PATCH);
    ctx.setHeaderParam('Accept', 'application/json');
    ctx.setHeaderParam('Content-Type', PatchStrategy.ServerSideApply);
    ctx.setQueryParam('fieldManager', fieldManager);
    ctx.setQueryParam('force', 'true');
    ctx.setQueryParam('fieldValidation', 'Strict');
    ctx.setBody(body);
    this.warnings = [];
    const object = await this.requestPromise<T>(ctx);
    return { object, warnings: this.warnings };
  }

  async isNamespaced(obj: KubernetesObject): Promise<boolean> {
    const resource = await this.resource(obj.apiVersion ?? '', obj.kind ?? '');
    return resource?.namespaced ?? false;
  }
}

/** Splits a Warning header (`299 - "text", 299 - "text"`) into its texts. */
export function parseWarnings(header: string | undefined): string[] {
  if (!header) return [];
  return [...header.matchAll(/\d{3} \S+ "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1'));
}

export class Cluster {
  readonly api: KubernetesObjectApi;
  private readonly strict: StrictApplyApi;

  constructor(readonly kc: KubeConfig = loadKubeConfig()) {
    this.api = KubernetesObjectApi.makeApiClient(kc);
    this.strict = StrictApplyApi.create(kc);
  }

  /**
   * Server-side apply with strict field validation. `body` defaults to the object as JSON;
   * `namespace` fills in metadata.namespace for namespaced objects that have none.
   */
  async apply<T extends K8sObject>(obj: T, opts: { body?: string; namespace?: string; source?: string } = {}): Promise<T> {
    return (await this.applyWithWarnings(obj, opts)).object;
  }

  async applyWithWarnings<T extends K8sObject>(
    obj: T,
    opts: { body?: string; namespace?: string; source?: string } = {},
  ): Promise<Applied<T>> {
    let target = obj;
    let body = opts.body;
    if (opts.namespace && !obj.metadata?.namespace && (await this.isNamespaced(obj))) {
      target = { ...obj, metadata: { ...obj.metadata, namespace: opts.namespace } };
      body = undefined;
    }
    try {
      return await this.strict.apply(target, body ?? JSON.stringify(target), FIELD_MANAGER);
    } catch (err) {
      const { status, message } = serverMessage(err);
      throw new ApplyError(objectRef(target, opts.source), status, message);
    }
  }

  /** Applies documents in dependency order; every refusal is collected into one ApplyError list. */
  async applyDocs(docs: ManifestDoc[]): Promise<Map<ManifestDoc, Applied>> {
    const sorted = [...docs].sort((a, b) => applyOrder(a.object.kind) - applyOrder(b.object.kind));
    const applied = new Map<ManifestDoc, Applied>();
    const failures: ApplyError[] = [];
    for (const doc of sorted) {
      try {
        applied.set(doc, await this.applyWithWarnings(doc.object, { body: doc.body, source: doc.source }));
      } catch (err) {
        if (!(err instanceof ApplyError)) throw err;
        failures.push(err);
      }
    }
    if (failures.length > 0) {
      throw new AggregateApplyError(failures);
    }
    return applied;
  }

  async read<T extends K8sObject>(obj: KubernetesObject): Promise<T> {
    const ref = {
      apiVersion: obj.apiVersion!,
      kind: obj.kind!,
      metadata: { name: obj.metadata!.name!, ...(obj.metadata?.namespace ? { namespace: obj.metadata.namespace } : {}) },
    };
    try {
      return (await this.api.read(ref)) as T;
    } catch (err) {
      const { status, message } = serverMessage(err);
      throw new ApplyError(objectRef(obj), status, message);
    }
  }

  /** Creates a namespace with a random suffix, for tests that need isolation (it is never deleted). */
  async freshNamespace(prefix = 'test', labels: Record<string, string> = {}): Promise<string> {
    const name = `${prefix}-${randomBytes(4).toString('hex')}`;
    await this.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
    return name;
  }

  async isNamespaced(obj: KubernetesObject): Promise<boolean> {
    return this.strict.isNamespaced(obj);
  }

  /** Waits until every named CRD reports Established=True. */
  async waitForCrdsEstablished(names: string[], timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const pending = new Set(names);
    while (pending.size > 0) {
      for (const name of [...pending]) {
        const crd = await this.read<K8sObject & { status?: { conditions?: { type: string; status: string }[] } }>({
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name },
        });
        if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) {
          pending.delete(name);
        }
      }
      if (pending.size === 0) break;
      if (Date.now() > deadline) {
        throw new Error(`CRDs not established after ${timeoutMs} ms: ${[...pending].join(', ')}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export class AggregateApplyError extends Error {
  override name = 'AggregateApplyError';
  constructor(readonly failures: ApplyError[]) {
    super(`the API server refused ${failures.length} object(s):\n${failures.map((f) => `  - ${f.message}`).join('\n')}`);
  }
}
