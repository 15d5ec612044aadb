// Which pods must confirm a variant change, where each one reports its variant, and how to read
// the report. Pure functions over plain objects: the cluster calls live in rollback.ts.
import type { V1Pod } from '@kubernetes/client-node';
import { CONSUMER_VERSION_PORT_NAME } from './options';

export type Component = 'api' | 'consumer';

/**
 * GET /version on the first of these named ports a pod has: the API's `http` port; the consumer's
 * `version` port (the only consumer port its NetworkPolicy admits from the API server's pod
 * proxy), else its `metrics` port (manifests from before the version port).
 */
export const VERSION_ENDPOINTS: Readonly<Record<Component, { readonly portNames: readonly string[]; readonly path: string }>> = {
  api: { portNames: ['http'], path: 'version' },
  consumer: { portNames: [CONSUMER_VERSION_PORT_NAME, 'metrics'], path: 'version' },
};

export const PART_OF_LABEL = 'app.kubernetes.io/part-of';
export const COMPONENT_LABEL = 'app.kubernetes.io/component';
export const POD_LABEL_SELECTOR = `${PART_OF_LABEL}=volwatch,${COMPONENT_LABEL} in (api,consumer)`;

export interface PodRef {
  readonly name: string;
  readonly uid: string;
  readonly component: Component;
}

/** How to learn a pod's variant now: ask it through the pod proxy, or wait for it to run. */
export type Probe =
  | { readonly kind: 'query'; readonly pod: PodRef; readonly port: number; readonly path: string }
  | { readonly kind: 'not-ready'; readonly pod: PodRef; readonly reason: string };

/** What a pod said on /version, reduced to the fields that decide a rollback. */
export interface VariantReport {
  /** Variant served now; null while no model is loaded. */
  readonly variant: string | null;
  /** Variant the pod was asked for (its ConfigMap file); differs from `variant` during fallback. */
  readonly requestedVariant?: string;
  readonly fallback: boolean;
}

export function podRef(pod: V1Pod): PodRef | undefined {
  const component = pod.metadata?.labels?.[COMPONENT_LABEL];
  const name = pod.metadata?.name;
  if (!name || (component !== 'api' && component !== 'consumer')) return undefined;
  return { name, uid: pod.metadata?.uid ?? name, component };
}

/**
 * The pods that must report the new variant: volwatch API and consumer pods that are neither
 * being deleted nor finished (a rollout's old pods go away instead of switching).
 */
export function podsToVerify(pods: readonly V1Pod[]): V1Pod[] {
  return pods.filter(
    (p) =>
      p.metadata?.labels?.[PART_OF_LABEL] === 'volwatch' &&
      podRef(p) !== undefined &&
      !p.metadata?.deletionTimestamp &&
      p.status?.phase !== 'Succeeded' &&
      p.status?.phase !== 'Failed',
  );
}

/** The container port with the given name, searched over all containers of the pod. */
export function namedPort(pod: V1Pod, portName: string): number | undefined {
  for (const c of pod.spec?.containers ?? []) {
    const port = c.ports?.find((p) => p.name === portName && (p.protocol ?? 'TCP') === 'TCP');
    if (port) return port.containerPort;
  }
  return undefined;
}

export function probeFor(pod: V1Pod): Probe {
  const ref = podRef(pod);
  if (!ref) throw new Error(`pod ${pod.metadata?.name ?? '<unnamed>'} is not an API or consumer pod`);
  const endpoint = VERSION_ENDPOINTS[ref.component];
  const port = endpoint.portNames.map((n) => namedPort(pod, n)).find((p) => p !== undefined);
  if (port === undefined) {
    const names = endpoint.portNames.map((n) => `"${n}"`).join(' or ');
    return { kind: 'not-ready', pod: ref, reason: `has no TCP container port named ${names} to read /${endpoint.path} from` };
  }
  const phase = pod.status?.phase ?? 'Unknown';
  if (phase !== 'Running') {
    const waiting = pod.status?.containerStatuses?.find((s) => s.state?.waiting?.reason)?.state?.waiting?.reason;
    return { kind: 'not-ready', pod: ref, reason: `${phase}${waiting ? ` (${waiting})` : ''}, not running yet` };
  }
  if (!pod.status?.podIP) return { kind: 'not-ready', pod: ref, reason: 'Running but has no pod IP yet' };
  return { kind: 'query', pod: ref, port, path: endpoint.path };
}

/** Parses a /version response body (a JSON string or an already parsed object). */
export function parseVersionReport(body: unknown): VariantReport {
  let doc = body;
  if (typeof body === 'string') {
    try {
      doc = JSON.parse(body);
    } catch {
      throw new Error(`/version did not return JSON: ${JSON.stringify(body.slice(0, 80))}`);
    }
  }
  if (typeof doc !== 'object' || doc === null || !('model' in doc)) {
    throw new Error('/version returned no "model" field; is this a volwatch API or consumer?');
  }
  const model = (doc as { model: unknown }).model;
  if (model === null) return { variant: null, fallback: false };
  if (typeof model !== 'object' || typeof (model as { variant?: unknown }).variant !== 'string') {
    throw new Error('/version returned a "model" without a string "variant"');
  }
  const m = model as { variant: string; requestedVariant?: unknown; fallback?: unknown };
  return {
    variant: m.variant,
    ...(typeof m.requestedVariant === 'string' ? { requestedVariant: m.requestedVariant } : {}),
    fallback: m.fallback === true,
  };
}

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Whether a pod's report shows it serving `target`, and if not, a sentence saying why. */
export function judge(report: VariantReport, target: string): Verdict {
  if (report.variant === target) return { ok: true };
  if (report.variant === null) return { ok: false, reason: 'has not loaded a model yet' };
  if (report.requestedVariant === target && report.fallback) {
    return { ok: false, reason: `was asked for ${target} but serves ${report.variant}: fallback active (loading ${target} failed; see the pod's log)` };
  }
  return { ok: false, reason: `still serves ${report.variant} (the kubelet may not have synced the ConfigMap yet)` };
}

/** True when the pod mounts the ConfigMap (directly or projected), so editing it can reach the pod. */
export function mountsConfigMap(pod: V1Pod, configMap: string): boolean {
  return (pod.spec?.volumes ?? []).some(
    (v) => v.configMap?.name === configMap || (v.projected?.sources ?? []).some((s) => s.configMap?.name === configMap),
  );
}
