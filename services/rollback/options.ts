// Command-line options of the rollback CLI, parsed without touching the cluster.
import { parseFlags, UsageError } from '../core/cli-flags';

export type Variant = 'ml' | 'baseline';
export const VARIANTS: readonly Variant[] = ['ml', 'baseline'];

export const DEFAULT_NAMESPACE = 'volwatch';
export const DEFAULT_CONFIGMAP = 'volwatch-model-variant';
export const VARIANT_KEY = 'variant';
export const DEFAULT_TIMEOUT_SECONDS = 120;

export interface RollbackOptions {
  readonly to: Variant;
  readonly namespace: string;
  readonly configMap: string;
  /** kubeconfig context; undefined keeps the file's current-context. */
  readonly context?: string;
  /** kubeconfig file; undefined means $KUBECONFIG, then ~/.kube/config, then in-cluster. */
  readonly kubeconfig?: string;
  readonly timeoutSeconds: number;
  readonly dryRun: boolean;
}

export const USAGE = `usage: npm run rollback -- --to baseline|ml [--namespace N] [--context C] [--kubeconfig FILE]
                          [--configmap NAME] [--timeout SECONDS] [--dry-run]

Sets the model variant served by volwatch: patches data.variant of the ConfigMap the API and
consumer Deployments mount, then waits until every API and consumer pod reports the variant
on GET /version (read through the API server's pod proxy).

  --to          ml | baseline (required)
  --namespace   namespace of the ConfigMap and the pods [${DEFAULT_NAMESPACE}]
  --context     kubeconfig context [the kubeconfig's current-context]
  --kubeconfig  kubeconfig file [$KUBECONFIG, then ~/.kube/config, then in-cluster]
  --configmap   ConfigMap name [${DEFAULT_CONFIGMAP}]
  --timeout     seconds to wait for the pods [${DEFAULT_TIMEOUT_SECONDS}]
  --dry-run     print the patch the API server would apply (server-side dry run); change nothing

Exit codes: 0 done (or nothing to wait for), 1 the change could not be made (cluster, namespace,
ConfigMap or permission problem), 2 bad usage, 3 patched but not every pod reported the new
variant before the timeout (or the pods could not be listed). Runbook: docs/runbook.md, "Roll back the model".`;

export { UsageError };

/**
 * Every API call the rollback makes in the namespace, as RBAC rules (the `volwatch-rollback`
 * Role in manifests/ is built from these): read and patch the ConfigMap, list the pods, read
 * /version through the pod proxy. A missing namespace is named only when `get` on namespaces is
 * also allowed (cluster-wide, so not in the Role).
 */
/** The optional Role the manifests ship for the rollback (bound to nobody). */
export const ROLLBACK_ROLE = 'volwatch-rollback';
/** The consumer's port serving GET /version alone, which the rollback asks through the pod proxy. */
export const CONSUMER_VERSION_PORT_NAME = 'version';

export const ROLLBACK_RULES: readonly { readonly resource: string; readonly verbs: readonly string[]; readonly configMapOnly?: true }[] = [
  { resource: 'configmaps', verbs: ['get', 'patch'], configMapOnly: true },
  { resource: 'pods', verbs: ['list'] },
  { resource: 'pods/proxy', verbs: ['get'] },
];

// RFC 1123 label (namespaces) and subdomain (ConfigMaps), as the API server validates them.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;


/** Parses argv (without node and script). Returns 'help' for --help; throws UsageError on bad input. */
export function parseArgs(argv: readonly string[]): RollbackOptions | 'help' {
  const flags = parseFlags(argv, { values: ['to', 'namespace', 'context', 'kubeconfig', 'configmap', 'timeout'], switches: ['dry-run'] });
  if (flags === 'help') return 'help';
  const { values } = flags;
  const dryRun = flags.switches['dry-run'];

  const to = values.to;
  if (to === undefined) throw new UsageError('--to is required: --to baseline rolls back, --to ml rolls forward');
  if (!(VARIANTS as readonly string[]).includes(to)) {
    throw new UsageError(`--to must be "ml" or "baseline", got ${JSON.stringify(to)}`);
  }
  const namespace = values.namespace ?? DEFAULT_NAMESPACE;
  if (namespace.length > 63 || !DNS_LABEL.test(namespace)) {
    throw new UsageError(`--namespace ${JSON.stringify(namespace)} is not a valid namespace name (lower-case letters, digits and "-")`);
  }
  const configMap = values.configmap ?? DEFAULT_CONFIGMAP;
  if (configMap.length > 253 || !DNS_SUBDOMAIN.test(configMap)) {
    throw new UsageError(`--configmap ${JSON.stringify(configMap)} is not a valid ConfigMap name`);
  }
  let timeoutSeconds = DEFAULT_TIMEOUT_SECONDS;
  if (values.timeout !== undefined) {
    timeoutSeconds = Number(values.timeout);
    if (!/^\d+(\.\d+)?$/.test(values.timeout) || !Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0 || timeoutSeconds > 3600) {
      throw new UsageError(`--timeout must be a number of seconds between 0 and 3600, got ${JSON.stringify(values.timeout)}`);
    }
  }
  return {
    to: to as Variant,
    namespace,
    configMap,
    ...(values.context !== undefined ? { context: values.context } : {}),
    ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
    timeoutSeconds,
    dryRun,
  };
}
