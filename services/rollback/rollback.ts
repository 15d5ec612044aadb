// Switches the model variant of a running volwatch: patches the model-variant ConfigMap, then
// waits until every API and consumer pod reports the variant on /version (via the pod proxy).
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { ApiException, CoreV1Api, KubeConfig, Observable, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { ConfigurationOptions, RequestContext, ResponseContext, V1ConfigMap, V1Pod } from '@kubernetes/client-node';
import { ROLLBACK_ROLE, ROLLBACK_RULES, UsageError, VARIANT_KEY } from './options';
import type { RollbackOptions, Variant } from './options';
import { judge, mountsConfigMap, parseVersionReport, POD_LABEL_SELECTOR, podRef, podsToVerify, probeFor } from './pods';
import type { PodRef } from './pods';

export const FIELD_MANAGER = 'volwatch-rollback';
const POLL_INTERVAL_MS = 2_000;
const PROXY_REQUEST_TIMEOUT_MS = 5_000;
const RUNBOOK = 'docs/runbook.md, "Roll back the model"';
const NEEDS = ROLLBACK_RULES.map((r) => `${r.verbs.join('/')} on ${r.resource}`)
  .join(', ')
  .replace(/, ([^,]*)$/, ' and $1');

/** The change could not be made or checked; nothing about the pods is known. Exit code 1. */
export class RollbackError extends Error {
  override name = 'RollbackError';
  readonly exitCode: number = 1;
}

/** The ConfigMap holds the new variant, but not every pod confirmed it (timeout, or pods not listable). Exit code 3. */
export class NotVerifiedError extends RollbackError {
  override name = 'NotVerifiedError';
  override readonly exitCode: number = 3;
  constructor(
    message: string,
    readonly pending: readonly PodState[],
  ) {
    super(message);
  }
}

export interface PodState {
  readonly pod: PodRef;
  readonly verified: boolean;
  /** Why the pod is not verified yet (last observation). */
  readonly reason?: string;
}

export interface RollbackResult {
  readonly namespace: string;
  readonly configMap: string;
  /** The value found before the change; undefined when the key was absent. */
  readonly from: string | undefined;
  readonly to: Variant;
  /** False when the ConfigMap already held the variant (or in a dry run). */
  readonly patched: boolean;
  readonly dryRun: boolean;
  readonly resourceVersion: string | undefined;
  /** Pods that reported the new variant (in a dry run: the pods that would be checked, unverified). */
  readonly pods: readonly PodState[];
  readonly elapsedMs: number;
}

export type Log = (line: string) => void;

/** Loads the kubeconfig the way kubectl finds it, with a sentence for every way that can fail. */
export function loadKubeConfig(opts: Pick<RollbackOptions, 'kubeconfig' | 'context'>, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  let source: string;
  try {
    if (opts.kubeconfig !== undefined) {
      if (!existsSync(opts.kubeconfig)) throw new RollbackError(`kubeconfig ${opts.kubeconfig} (--kubeconfig) does not exist`);
      kc.loadFromFile(opts.kubeconfig);
      source = opts.kubeconfig;
    } else if (env.KUBECONFIG) {
      const files = env.KUBECONFIG.split(path.delimiter).filter((f) => f !== '');
      const missing = files.filter((f) => !existsSync(f));
      if (missing.length > 0) throw new RollbackError(`kubeconfig ${missing.join(', ')} (from $KUBECONFIG) does not exist`);
      files.forEach((f, i) => {
        if (i === 0) return kc.loadFromFile(f);
        const more = new KubeConfig();
        more.loadFromFile(f);
        kc.mergeConfig(more, true);
      });
      source = `$KUBECONFIG (${env.KUBECONFIG})`;
    } else if (existsSync(path.join(homedir(), '.kube', 'config'))) {
      source = path.join(homedir(), '.kube', 'config');
      kc.loadFromFile(source);
    } else if (env.KUBERNETES_SERVICE_HOST) {
      kc.loadFromCluster();
      source = 'the in-cluster service account';
    } else {
      throw new RollbackError('no kubeconfig found: pass --kubeconfig FILE, set KUBECONFIG, or create ~/.kube/config');
    }
  } catch (err) {
    if (err instanceof RollbackError) throw err;
    throw new RollbackError(`cannot load the kubeconfig: ${err instanceof Error ? err.message : String(err)}`);
  }
  const contexts = kc.getContexts().map((c) => c.name);
  if (opts.context !== undefined) {
    if (!kc.getContextObject(opts.context)) {
      throw new UsageError(`--context ${JSON.stringify(opts.context)} is not in ${source}; its contexts: ${contexts.join(', ') || 'none'}`);
    }
    kc.setCurrentContext(opts.context);
  }
  if (!kc.getCurrentCluster()) {
    throw new RollbackError(`${source} has no usable current context; pass --context (contexts: ${contexts.join(', ') || 'none'})`);
  }
  return kc;
}

/** The API server's own message for a failed call, or the network error that prevented it. */
export function describeError(err: unknown): { status?: number; message: string } {
  if (err instanceof ApiException) {
    let body: unknown = err.body;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        // Plain-text body (e.g. from a proxied pod): quote it as is.
      }
    }
    const message =
      typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string'
        ? (body as { message: string }).message
        : typeof body === 'string' && body !== ''
          ? body.trim().slice(0, 300)
          : `HTTP ${err.code}`;
    return { status: err.code, message };
  }
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return { message: 'no answer in time' };
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code || cause?.message) return { message: `${err.message}: ${cause.code ?? cause.message}` };
    return { message: err.message };
  }
  return { message: String(err) };
}

/** Per-request options: abort the request after `ms`, and optionally set a header. */
function requestOptions(ms: number, header?: [string, string]): ConfigurationOptions {
  const timeout = {
    pre: (ctx: RequestContext) => {
      ctx.setSignal(AbortSignal.timeout(ms));
      return new Observable(Promise.resolve(ctx));
    },
    post: (rsp: ResponseContext) => new Observable(Promise.resolve(rsp)),
  };
  const base: ConfigurationOptions = { middleware: [timeout], middlewareMergeStrategy: 'append' };
  return header ? setHeaderOptions(header[0], header[1], base) : base;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const API_TIMEOUT_MS = 30_000;

export async function rollback(opts: RollbackOptions, log: Log = (line) => console.log(line), kc: KubeConfig = loadKubeConfig(opts)): Promise<RollbackResult> {
  const started = Date.now();
  const core = kc.makeApiClient(CoreV1Api);
  const { namespace, configMap: name, to } = opts;
  const ref = `ConfigMap ${namespace}/${name}`;
  const where = `context ${kc.getCurrentContext()}, API server ${kc.getCurrentCluster()?.server}`;

  const fail = (action: string, err: unknown): RollbackError => {
    const { status, message } = describeError(err);
    if (status === 401 || status === 403) {
      return new RollbackError(`not allowed to ${action} (${where}): ${message}. The rollback needs ${NEEDS} in ${namespace} (the Role ${ROLLBACK_ROLE} grants exactly that).`);
    }
    // Without an answer a patch may still have landed; re-running is safe because it is idempotent.
    if (status === undefined) return new RollbackError(`cannot ${action}: the API server did not answer (${where}): ${message}. Check --context and the network, then re-run`);
    return new RollbackError(`cannot ${action} (${where}): ${message}`);
  };

  let current: V1ConfigMap;
  try {
    current = await core.readNamespacedConfigMap({ name, namespace }, requestOptions(API_TIMEOUT_MS));
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) throw await notFound(core, namespace, ref, where);
    throw fail(`read ${ref}`, err);
  }
  const from = current.data?.[VARIANT_KEY];
  let resourceVersion = current.metadata?.resourceVersion;
  const patch = { data: { [VARIANT_KEY]: to } };
  let patched = false;

  if (from === to) {
    log(`${ref} already ${to} (resourceVersion ${resourceVersion}); nothing to patch`);
  } else {
    let after: V1ConfigMap;
    try {
      after = await core.patchNamespacedConfigMap(
        { name, namespace, body: patch, fieldManager: FIELD_MANAGER, ...(opts.dryRun ? { dryRun: 'All' } : {}) },
        requestOptions(API_TIMEOUT_MS, ['Content-Type', PatchStrategy.MergePatch]),
      );
    } catch (err) {
      throw fail(`patch ${ref}`, err);
    }
    if (after.data?.[VARIANT_KEY] !== to) {
      throw new RollbackError(`${ref} still reads ${JSON.stringify(after.data?.[VARIANT_KEY])} after the patch; an admission webhook may have rewritten it`);
    }
    const change = `${from ?? '<unset>'} -> ${to}`;
    if (opts.dryRun) {
      log(`dry run: would patch ${ref}: ${change} (the API server accepted the patch without storing it)`);
      log(`  merge patch: ${JSON.stringify(patch)}`);
      log(`  same as: kubectl --context ${kc.getCurrentContext()} -n ${namespace} patch configmap ${name} --type merge -p '${JSON.stringify(patch)}'`);
    } else {
      patched = true;
      log(`${ref}: ${change} (resourceVersion ${resourceVersion} -> ${after.metadata?.resourceVersion})`);
      resourceVersion = after.metadata?.resourceVersion;
    }
  }

  const listPods = async (): Promise<V1Pod[]> =>
    podsToVerify((await core.listNamespacedPod({ namespace, labelSelector: POD_LABEL_SELECTOR }, requestOptions(API_TIMEOUT_MS))).items);

  const result = (pods: readonly PodState[]): RollbackResult => ({
    namespace,
    configMap: name,
    from,
    to,
    patched,
    dryRun: opts.dryRun,
    resourceVersion,
    pods,
    elapsedMs: Date.now() - started,
  });

  if (opts.dryRun) {
    const listed = await listPods().catch((err: unknown) => {
      throw fail(`list the pods in ${namespace}`, err);
    });
    const pods = listed.map((p): PodState => ({ pod: podRef(p)!, verified: false }));
    log(`dry run: would wait up to ${opts.timeoutSeconds}s for ${pods.length} pod(s) to report ${to}${pods.length ? `: ${pods.map((p) => p.pod.name).join(', ')}` : ''}`);
    return result(pods);
  }

  const states = await waitForPods(core, opts, listPods, log);
  return result(states);
}

async function notFound(core: CoreV1Api, namespace: string, ref: string, where: string): Promise<RollbackError> {
  try {
    await core.readNamespace({ name: namespace }, requestOptions(API_TIMEOUT_MS));
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) {
      return new RollbackError(
        `namespace ${namespace} not found (${where}): pass the namespace volwatch runs in with --namespace, pick the cluster with --context, or deploy first (scripts/kind-up.sh applies manifests/)`,
      );
    }
    // Not allowed to read namespaces, or some other error: the ConfigMap message below still holds.
  }
  return new RollbackError(`${ref} not found (${where}): apply manifests/ first (scripts/kind-up.sh), or name the ConfigMap with --configmap`);
}

/**
 * Polls until every current API/consumer pod serves `opts.to`. Runs after the patch, so every
 * failure here is a NotVerifiedError (exit 3): the ConfigMap already holds the new variant.
 */
async function waitForPods(core: CoreV1Api, opts: RollbackOptions, listPods: () => Promise<V1Pod[]>, log: Log): Promise<PodState[]> {
  const deadline = Date.now() + opts.timeoutSeconds * 1000;
  const verified = new Map<string, PodState>();
  const holds = `ConfigMap ${opts.namespace}/${opts.configMap} holds ${opts.to}`;
  let announced = false;
  for (;;) {
    let pods: V1Pod[];
    try {
      pods = await listPods();
    } catch (err) {
      const { status, message } = describeError(err);
      const why = `cannot list the pods in ${opts.namespace}: ${status ? `HTTP ${status}: ` : ''}${message}`;
      // A refusal will not change by waiting; a network error might.
      if (status === 401 || status === 403 || Date.now() >= deadline) {
        throw new NotVerifiedError(`${holds}, but the pods were not checked: ${why}`, []);
      }
      log(`  ${why}; retrying`);
      await sleep(Math.min(POLL_INTERVAL_MS, deadline - Date.now()));
      continue;
    }
    if (pods.length === 0) {
      log(
        verified.size > 0
          ? `all ${verified.size} verified pod(s) are gone and no new API or consumer pods exist in ${opts.namespace}`
          : `no pods to wait for: no API or consumer pods in namespace ${opts.namespace} (selector ${POD_LABEL_SELECTOR})`,
      );
      return [...verified.values()];
    }
    if (!announced) {
      log(`waiting up to ${opts.timeoutSeconds}s for ${pods.length} pod(s) to report variant ${opts.to}`);
      announced = true;
    }
    const remaining = deadline - Date.now();
    const pending: PodState[] = [];
    await Promise.all(
      pods
        .filter((p) => !verified.has(podRef(p)!.uid))
        .map(async (p) => {
          const state = await checkPod(core, opts, p, Math.max(500, Math.min(PROXY_REQUEST_TIMEOUT_MS, remaining)));
          if (state.verified) {
            verified.set(state.pod.uid, state);
            log(`  pod ${state.pod.name} (${state.pod.component}) serves ${opts.to}`);
          } else {
            pending.push(state);
          }
        }),
    );
    const live = new Set(pods.map((p) => podRef(p)!.uid));
    const current = [...verified.values()].filter((s) => live.has(s.pod.uid));
    if (pending.length === 0) {
      log(`verified: ${current.length}/${current.length} pod(s) serve ${opts.to}`);
      return current;
    }
    if (Date.now() >= deadline) {
      pending.sort((a, b) => a.pod.name.localeCompare(b.pod.name));
      throw new NotVerifiedError(
        [
          `timed out after ${opts.timeoutSeconds}s: ${pending.length} of ${pending.length + current.length} pod(s) did not report variant ${opts.to}:`,
          ...pending.map((s) => `  pod ${opts.namespace}/${s.pod.name} (${s.pod.component}): ${s.reason}`),
          `${holds}; running pods normally switch within 1-2 minutes of the change.`,
          `Re-run the same command to check again, or see ${RUNBOOK}.`,
        ].join('\n'),
        pending,
      );
    }
    await sleep(Math.min(POLL_INTERVAL_MS, deadline - Date.now()));
  }
}

async function checkPod(core: CoreV1Api, opts: RollbackOptions, pod: V1Pod, timeoutMs: number): Promise<PodState> {
  const probe = probeFor(pod);
  const hint = mountsConfigMap(pod, opts.configMap) ? '' : `; note: the pod does not mount ConfigMap ${opts.configMap}`;
  if (probe.kind === 'not-ready') return { pod: probe.pod, verified: false, reason: probe.reason + hint };
  try {
    // The pod proxy needs a numeric port: the API server dials podIP:port as given.
    const body: unknown = await core.connectGetNamespacedPodProxyWithPath(
      { name: `${probe.pod.name}:${probe.port}`, namespace: opts.namespace, path: probe.path },
      requestOptions(timeoutMs),
    );
    const verdict = judge(parseVersionReport(body), opts.to);
    return verdict.ok ? { pod: probe.pod, verified: true } : { pod: probe.pod, verified: false, reason: verdict.reason + hint };
  } catch (err) {
    const { status, message } = describeError(err);
    let reason = `GET /${probe.path} on port ${probe.port} through the pod proxy failed: ${status ? `HTTP ${status}: ` : ''}${message}`;
    if (probe.pod.component === 'consumer' && (status === 503 || status === undefined)) {
      reason += ` (if this persists, a NetworkPolicy may keep the API server from reaching port ${probe.port}; see ${RUNBOOK})`;
    }
    return { pod: probe.pod, verified: false, reason: reason + hint };
  }
}
