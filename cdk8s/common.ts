import { k8s } from 'cdk8s-plus-28';

/** A construct was given props that cannot produce a working deployment. */
export class ManifestConfigError extends Error {
  override readonly name = 'ManifestConfigError';
}

export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ManifestConfigError(message);
}

/** CPU quantity (`500m`, `1`, `1.5`) in cores. */
export function cpuCores(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(q);
  if (!m) throw new ManifestConfigError(`CPU quantity ${JSON.stringify(q)} is not valid: use millicores like "500m" or cores like "1"`);
  const v = Number(m[1]);
  return m[2] === 'm' ? v / 1000 : v;
}

const MEMORY_UNITS: Record<string, number> = { '': 1, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, K: 1e3, M: 1e6, G: 1e9 };

/** Memory quantity (`256Mi`, `1Gi`) in bytes. */
export function memoryBytes(q: string): number {
  const m = /^(\d+)(Ki|Mi|Gi|K|M|G)?$/.exec(q);
  if (!m) throw new ManifestConfigError(`memory quantity ${JSON.stringify(q)} is not valid: use a binary suffix like "256Mi" or "1Gi"`);
  return Number(m[1]) * (MEMORY_UNITS[m[2] ?? ''] ?? 1);
}

/** Requests and limits; every container must carry both. */
export interface ResourceProps {
  readonly cpuRequest: string;
  readonly cpuLimit: string;
  readonly memoryRequest: string;
  readonly memoryLimit: string;
}

export function resources(owner: string, r: ResourceProps): k8s.ResourceRequirements {
  check(cpuCores(r.cpuRequest) <= cpuCores(r.cpuLimit), `${owner}: cpuRequest ${r.cpuRequest} exceeds cpuLimit ${r.cpuLimit}: lower cpuRequest or raise cpuLimit`);
  check(
    memoryBytes(r.memoryRequest) <= memoryBytes(r.memoryLimit),
    `${owner}: memoryRequest ${r.memoryRequest} exceeds memoryLimit ${r.memoryLimit}: lower memoryRequest or raise memoryLimit`,
  );
  return {
    requests: { cpu: k8s.Quantity.fromString(r.cpuRequest), memory: k8s.Quantity.fromString(r.memoryRequest) },
    limits: { cpu: k8s.Quantity.fromString(r.cpuLimit), memory: k8s.Quantity.fromString(r.memoryLimit) },
  };
}

/** The non-root identity both levels of the `restricted` profile set. */
function nonRoot(uid: number, gid: number): { runAsNonRoot: true; runAsUser: number; runAsGroup: number } {
  return { runAsNonRoot: true, runAsUser: uid, runAsGroup: gid };
}

/** Pod-level part of the Pod Security Standards `restricted` profile. */
export function restrictedPodSecurity(uid: number, gid: number = uid): k8s.PodSecurityContext {
  return {
    ...nonRoot(uid, gid),
    fsGroup: gid,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Container-level part of the `restricted` profile, plus a read-only root filesystem. */
export function restrictedContainerSecurity(uid: number, gid: number = uid): k8s.SecurityContext {
  return {
    ...nonRoot(uid, gid),
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Our own images must run as a UID above the range distributions hand out to system and login users. */
export function checkAppUid(owner: string, uid: number): void {
  check(Number.isInteger(uid) && uid > 10000, `${owner}: runAsUser ${uid} must be an integer > 10000 (the image's volwatch user is 10001)`);
}

/**
 * onnxruntime sizes its thread pools by the threads requested, not by the cgroup
 * limit: more threads than whole CPUs in the limit only adds CFS throttling.
 */
export function checkOrtThreads(owner: string, cpuLimit: string, intra: number, inter: number): void {
  const allowed = Math.max(1, Math.floor(cpuCores(cpuLimit)));
  for (const [name, v] of [['ortIntraOpThreads', intra], ['ortInterOpThreads', inter]] as const) {
    check(Number.isInteger(v) && v >= 1, `${owner}: ${name} ${v} must be an integer >= 1`);
    check(
      v <= allowed,
      `${owner}: cpuLimit ${cpuLimit} with ${name} ${v}: set ${name} <= ${allowed} (threads must not exceed whole CPUs in the limit) or raise cpuLimit`,
    );
  }
}

/** Image references must carry an explicit tag (or digest) other than `latest`. */
export function checkImage(owner: string, image: string): void {
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const tagged = image.includes('@sha256:') || /:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(lastSegment);
  check(tagged, `${owner}: image ${JSON.stringify(image)} has no tag: pin a version, e.g. ${image}:0.1.0`);
  check(!/:latest$/.test(lastSegment), `${owner}: image ${JSON.stringify(image)} uses "latest": pin a version instead`);
}

/** Kubernetes object names (RFC 1123 DNS label). */
export function checkDnsLabel(owner: string, what: string, v: string): void {
  check(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(v), `${owner}: ${what} ${JSON.stringify(v)} is not a valid DNS label: use lower-case letters, digits and "-"`);
}

/** Kubelet-set label every namespace carries (Kubernetes >= 1.21). */
export function namespaceSelector(name: string): k8s.LabelSelector {
  return { matchLabels: { 'kubernetes.io/metadata.name': name } };
}

export const DNS_EGRESS: k8s.NetworkPolicyEgressRule = {
  to: [{ namespaceSelector: namespaceSelector('kube-system'), podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
  ports: [
    { protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) },
    { protocol: 'TCP', port: k8s.IntOrString.fromNumber(53) },
  ],
};

export function topologySpread(selector: Readonly<Record<string, string>>): k8s.TopologySpreadConstraint[] {
  return [
    // ScheduleAnyway: a one-node kind cluster must still schedule every replica.
    { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { ...selector } } },
    { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { ...selector } } },
  ];
}
