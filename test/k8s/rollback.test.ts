// npm run rollback against a real kube-apiserver (scripts/control-plane.sh). There is no kubelet,
// so Deployments create no pods: bare Pod objects stand in for pods that never become ready.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { AuthorizationV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { V1ConfigMap, V1Pod } from '@kubernetes/client-node';
import { Cluster, DEFAULT_KUBECONFIG, loadManifestDir, REPO_ROOT } from '../support/k8s';
import type { K8sObject } from '../support/k8s';
import { rollback, NotVerifiedError } from '../../services/rollback/rollback';
import { createVersionServer } from '../../services/consumer/status-server';
import type { ModelManager } from '../../services/core/model/manager';
import type { RollbackOptions } from '../../services/rollback/options';

const CLI = path.join(REPO_ROOT, 'services', 'rollback', 'main.ts');
const TSX = path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
const KUBECONFIG = process.env.KUBECONFIG || DEFAULT_KUBECONFIG;
const CM = 'volwatch-model-variant';

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [CLI, ...args], { cwd: REPO_ROOT, env: { ...process.env, KUBECONFIG, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 }));
  });
}

/** The ConfigMap exactly as manifests/ ships it, so the CLI is tested against what we deploy. */
function shippedConfigMap(): K8sObject & V1ConfigMap {
  const doc = loadManifestDir(path.join(REPO_ROOT, 'manifests')).find((d) => d.object.kind === 'ConfigMap' && d.object.metadata?.name === CM);
  if (!doc) throw new Error(`manifests/ has no ConfigMap ${CM}; the rollback CLI has nothing to patch`);
  return doc.object as K8sObject & V1ConfigMap;
}

/** A non-loopback IPv4 address of this machine: the API server refuses to proxy to loopback. */
function hostIPv4(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.'))?.address;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe('npm run rollback on a real API server', () => {
  let cluster: Cluster;
  let core: CoreV1Api;
  const shipped = shippedConfigMap();

  beforeAll(() => {
    cluster = new Cluster();
    core = cluster.kc.makeApiClient(CoreV1Api);
  });

  /** A fresh namespace holding the shipped ConfigMap (and the default ServiceAccount pods need). */
  async function volwatchNamespace(): Promise<string> {
    const ns = await cluster.freshNamespace('rollback');
    await cluster.apply({ ...shipped, metadata: { ...shipped.metadata, namespace: ns } });
    // No controller-manager here, so nothing creates the ServiceAccount Pod admission asks for.
    await cluster.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } });
    return ns;
  }

  /** A kubeconfig for ServiceAccount `sa`, bound to Role `roleName` of `ns` and to nothing else. */
  async function boundKubeconfig(ns: string, sa: string, roleName: string): Promise<string> {
    await cluster.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: ns } });
    await cluster.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: roleName, namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roleName },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: ns }],
    });
    const token = await core.createNamespacedServiceAccountToken({ name: sa, namespace: ns, body: { spec: { audiences: [], expirationSeconds: 600 } } });
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [cluster.kc.getCurrentCluster()!],
      users: [{ name: sa, token: token.status!.token }],
      contexts: [{ name: sa, cluster: cluster.kc.getCurrentCluster()!.name, user: sa }],
      currentContext: sa,
    });
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'rollback-kc-')), 'kubeconfig');
    writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
    return file;
  }

  const readCm = (ns: string) => core.readNamespacedConfigMap({ name: CM, namespace: ns });

  async function createPod(ns: string, name: string, component: string, portName: string, port: number): Promise<V1Pod> {
    return core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name, labels: { 'app.kubernetes.io/part-of': 'volwatch', 'app.kubernetes.io/component': component } },
        spec: {
          automountServiceAccountToken: false,
          containers: [{ name: component, image: 'ghcr.io/volwatch/volwatch:0.1.0', ports: [{ name: portName, containerPort: port }] }],
          volumes: [{ name: 'model-variant', configMap: { name: CM } }],
        },
      },
    });
  }

  test('the shipped ConfigMap starts at ml; --to baseline patches it and, with no pods, exits 0', async () => {
    expect(shipped.data).toEqual({ variant: 'ml' });
    const ns = await volwatchNamespace();
    const run = await runCli(['--to', 'baseline', '--namespace', ns]);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`ConfigMap ${ns}/${CM}: ml -> baseline`);
    expect(run.stdout).toContain(`no pods to wait for: no API or consumer pods in namespace ${ns}`);
    const live = await readCm(ns);
    expect(live.data).toEqual({ variant: 'baseline' });
    // Labels and other keys survive: only data.variant is patched, under our own field manager.
    expect(live.metadata?.labels).toEqual(shipped.metadata?.labels);
    expect(live.metadata?.managedFields?.find((f) => f.manager === 'volwatch-rollback')?.fieldsV1).toEqual({ 'f:data': { 'f:variant': {} } });
  });

  test('running it again is a no-op: "already baseline", exit 0, resourceVersion unchanged', async () => {
    const ns = await volwatchNamespace();
    expect((await runCli(['--to', 'baseline', '--namespace', ns])).code).toBe(0);
    const before = (await readCm(ns)).metadata?.resourceVersion;
    const again = await runCli(['--to=baseline', `--namespace=${ns}`]);
    expect({ code: again.code, stderr: again.stderr }).toEqual({ code: 0, stderr: '' });
    expect(again.stdout).toContain(`ConfigMap ${ns}/${CM} already baseline`);
    expect(again.stdout).toContain('done: already baseline');
    expect((await readCm(ns)).metadata?.resourceVersion).toBe(before);
  });

  test('the library rolls forward again and reports old and new variant', async () => {
    const ns = await volwatchNamespace();
    const lines: string[] = [];
    const opts: RollbackOptions = { to: 'baseline', namespace: ns, configMap: CM, timeoutSeconds: 5, dryRun: false };
    const back = await rollback(opts, (l) => lines.push(l), cluster.kc);
    expect({ from: back.from, to: back.to, patched: back.patched, pods: back.pods }).toEqual({ from: 'ml', to: 'baseline', patched: true, pods: [] });
    const forward = await rollback({ ...opts, to: 'ml' }, (l) => lines.push(l), cluster.kc);
    expect({ from: forward.from, to: forward.to, patched: forward.patched }).toEqual({ from: 'baseline', to: 'ml', patched: true });
    expect(forward.resourceVersion).toBe((await readCm(ns)).metadata?.resourceVersion);
    expect((await readCm(ns)).data).toEqual({ variant: 'ml' });
  });

  test('--dry-run prints the patch and the kubectl equivalent, and changes nothing', async () => {
    const ns = await volwatchNamespace();
    const before = (await readCm(ns)).metadata?.resourceVersion;
    const run = await runCli(['--to', 'baseline', '--namespace', ns, '--dry-run']);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`dry run: would patch ConfigMap ${ns}/${CM}: ml -> baseline`);
    expect(run.stdout).toContain(`merge patch: {"data":{"variant":"baseline"}}`);
    expect(run.stdout).toContain(`kubectl --context volwatch-ephemeral -n ${ns} patch configmap ${CM} --type merge -p '{"data":{"variant":"baseline"}}'`);
    const after = await readCm(ns);
    expect({ rv: after.metadata?.resourceVersion, data: after.data }).toEqual({ rv: before, data: { variant: 'ml' } });
  });

  test('a missing namespace exits 1 naming the namespace and how to fix it', async () => {
    const ns = `rollback-absent-${Date.now()}`;
    const run = await runCli(['--to', 'baseline', '--namespace', ns]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`rollback: namespace ${ns} not found (context volwatch-ephemeral, API server https://127.0.0.1:`);
    expect(run.stderr).toContain('pass the namespace volwatch runs in with --namespace');
    expect(run.stdout).toBe('');
  });

  test('a missing ConfigMap exits 1 saying to apply manifests/ first', async () => {
    const ns = await cluster.freshNamespace('rollback-nocm');
    const run = await runCli(['--to', 'baseline', '--namespace', ns]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`rollback: ConfigMap ${ns}/${CM} not found`);
    expect(run.stderr).toContain('apply manifests/ first (scripts/kind-up.sh)');
    const other = await runCli(['--to', 'baseline', '--namespace', ns, '--configmap', 'no-such-map']);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain(`rollback: ConfigMap ${ns}/no-such-map not found`);
  });

  test('bad arguments exit 2 before touching the cluster', async () => {
    const ns = await volwatchNamespace();
    const before = (await readCm(ns)).metadata?.resourceVersion;
    const bad = await runCli(['--to', 'previous', '--namespace', ns]);
    expect({ code: bad.code, stderr: bad.stderr.trim() }).toEqual({ code: 2, stderr: 'rollback: --to must be "ml" or "baseline", got "previous"' });
    const missing = await runCli(['--namespace', ns]);
    expect({ code: missing.code, stderr: missing.stderr.trim() }).toEqual({ code: 2, stderr: 'rollback: --to is required: --to baseline rolls back, --to ml rolls forward' });
    const context = await runCli(['--to', 'baseline', '--namespace', ns, '--context', 'no-such-context']);
    expect(context.code).toBe(2);
    expect(context.stderr).toContain('rollback: --context "no-such-context" is not in $KUBECONFIG');
    expect(context.stderr).toContain('its contexts: volwatch-ephemeral');
    expect((await readCm(ns)).metadata?.resourceVersion).toBe(before);
  });

  test('--context picks the cluster; an API server that does not answer exits 1', async () => {
    const ns = await volwatchNamespace();
    const good = cluster.kc.getCurrentCluster()!;
    const user = cluster.kc.getCurrentUser()!;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [good, { ...good, name: 'dead', server: 'https://127.0.0.1:1' }],
      users: [user],
      contexts: [
        { name: 'dead', cluster: 'dead', user: user.name },
        { name: 'live', cluster: good.name, user: user.name },
      ],
      currentContext: 'dead',
    });
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'rollback-kc-')), 'kubeconfig');
    writeFileSync(file, kc.exportConfig(), { mode: 0o600 });

    const dead = await runCli(['--to', 'baseline', '--namespace', ns, '--kubeconfig', file]);
    expect(dead.code).toBe(1);
    expect(dead.stderr).toContain(`rollback: cannot read ConfigMap ${ns}/${CM}: the API server did not answer (context dead, API server https://127.0.0.1:1)`);
    const live = await runCli(['--to', 'baseline', '--namespace', ns, '--kubeconfig', file, '--context', 'live'], { KUBECONFIG: '/nonexistent' });
    expect({ code: live.code, stderr: live.stderr }).toEqual({ code: 0, stderr: '' });
    expect((await readCm(ns)).data).toEqual({ variant: 'baseline' });
  });

  test('the permissions the runbook lists suffice; without patch it exits 1, without listing pods 3, saying what is missing', async () => {
    const ns = await volwatchNamespace();
    const role = (name: string, configMapVerbs: string[], podVerbs: string[]) => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name, namespace: ns },
      rules: [
        { apiGroups: [''], resources: ['configmaps'], resourceNames: [CM], verbs: configMapVerbs },
        { apiGroups: [''], resources: ['pods'], verbs: podVerbs },
        { apiGroups: [''], resources: ['pods/proxy'], verbs: ['get'] },
      ],
    });
    const kubeconfigFor = async (sa: string, roleName: string, verbs: string[], podVerbs = ['list']): Promise<string> => {
      await cluster.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: ns } });
      await cluster.apply(role(roleName, verbs, podVerbs));
      return boundKubeconfig(ns, sa, roleName);
    };

    const readOnly = await kubeconfigFor('viewer', 'viewer', ['get']);
    const refused = await runCli(['--to', 'baseline', '--namespace', ns], { KUBECONFIG: readOnly });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`rollback: not allowed to patch ConfigMap ${ns}/${CM} (context viewer`);
    expect(refused.stderr).toContain('needs get/patch on configmaps, list on pods and get on pods/proxy');
    expect((await readCm(ns)).data).toEqual({ variant: 'ml' });

    // Allowed to patch but not to list pods: the patch lands, the check cannot run, exit 3.
    const blind = await kubeconfigFor('blind', 'blind', ['get', 'patch'], ['get']);
    const unchecked = await runCli(['--to', 'baseline', '--namespace', ns, '--timeout', '5'], { KUBECONFIG: blind });
    expect(unchecked.code).toBe(3);
    expect(unchecked.stderr).toContain(`rollback: ConfigMap ${ns}/${CM} holds baseline, but the pods were not checked: cannot list the pods in ${ns}: HTTP 403`);
    expect((await readCm(ns)).data).toEqual({ variant: 'baseline' });
    await core.patchNamespacedConfigMap({ name: CM, namespace: ns, body: { data: { variant: 'ml' } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));

    await createPod(ns, 'volwatch-api-pending', 'api', 'http', 8080);
    const operator = await kubeconfigFor('operator', 'operator', ['get', 'patch']);
    const run = await runCli(['--to', 'baseline', '--namespace', ns, '--timeout', '1'], { KUBECONFIG: operator });
    // Patched and listed the pod with only these rights; the pod never runs, hence exit 3.
    expect(run.stdout).toContain(`ConfigMap ${ns}/${CM}: ml -> baseline`);
    expect(run.stderr).toContain('volwatch-api-pending (api): Pending, not running yet');
    expect(run.code).toBe(3);
  });

  test('a pod that never runs makes the CLI time out with exit 3, naming the pod, after patching', async () => {
    const ns = await volwatchNamespace();
    await createPod(ns, 'volwatch-api-7d9f-abcde', 'api', 'http', 8080);
    const run = await runCli(['--to', 'baseline', '--namespace', ns, '--timeout', '3']);
    expect(run.code).toBe(3);
    expect(run.seconds).toBeGreaterThanOrEqual(3);
    expect(run.stdout).toContain(`ConfigMap ${ns}/${CM}: ml -> baseline`);
    expect(run.stdout).toContain('waiting up to 3s for 1 pod(s) to report variant baseline');
    expect(run.stderr).toContain('rollback: timed out after 3s: 1 of 1 pod(s) did not report variant baseline:');
    expect(run.stderr).toContain(`pod ${ns}/volwatch-api-7d9f-abcde (api): Pending, not running yet`);
    expect(run.stderr).toContain('docs/runbook.md, "Roll back the model"');
    expect((await readCm(ns)).data).toEqual({ variant: 'baseline' });
    // Idempotent on the ConfigMap, and still insists on the pods.
    const again = await runCli(['--to', 'baseline', '--namespace', ns, '--timeout', '1']);
    expect(again.code).toBe(3);
    expect(again.stdout).toContain('already baseline');
  });

  const hostIp = hostIPv4();
  if (!hostIp) console.warn('skipping the pod-proxy test: this machine has no non-loopback IPv4 address for a pod IP');
  (hostIp ? test : test.skip)('running pods are asked on the named port through the pod proxy; errors are reported per pod', async () => {
    const ns = await volwatchNamespace();
    // Ports nothing listens on, so the API server's dial is refused at once.
    const [apiPort, consumerPort] = [await freePort(), await freePort()];
    await createPod(ns, 'volwatch-api-1', 'api', 'http', apiPort);
    await createPod(ns, 'volwatch-consumer-1', 'consumer', 'metrics', consumerPort);
    // Other volwatch pods (the broker) are not asked.
    await createPod(ns, 'kafka-0', 'broker', 'kafka', 9092);
    // Report the pods as running, as a kubelet would.
    for (const name of ['volwatch-api-1', 'volwatch-consumer-1', 'kafka-0']) {
      await core.patchNamespacedPodStatus(
        { name, namespace: ns, body: { status: { phase: 'Running', podIP: hostIp, podIPs: [{ ip: hostIp }] } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    }
    const lines: string[] = [];
    const err = await rollback({ to: 'baseline', namespace: ns, configMap: CM, timeoutSeconds: 3, dryRun: false }, (l) => lines.push(l), cluster.kc).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NotVerifiedError);
    const timeout = err as NotVerifiedError;
    expect(timeout.exitCode).toBe(3);
    expect(timeout.pending.map((p) => [p.pod.name, p.pod.component])).toEqual([
      ['volwatch-api-1', 'api'],
      ['volwatch-consumer-1', 'consumer'],
    ]);
    // The API server dialled podIP:<number of the named port>, which proves the proxy URL.
    expect(timeout.message).toContain(`pod ${ns}/volwatch-api-1 (api): GET /version on port ${apiPort} through the pod proxy failed: HTTP 503`);
    expect(timeout.message).toContain(`dial tcp ${hostIp}:${apiPort}`);
    expect(timeout.message).toContain(`dial tcp ${hostIp}:${consumerPort}`);
    expect(timeout.message).toContain('a NetworkPolicy may keep the API server from reaching port');
    expect(lines).toContain('waiting up to 3s for 2 pod(s) to report variant baseline');
  });

  (hostIp ? test : test.skip)('the shipped Role volwatch-rollback is all a whole rollback needs, and grants nothing else', async () => {
    const ns = await volwatchNamespace();
    const role = loadManifestDir(path.join(REPO_ROOT, 'manifests')).find((d) => d.object.kind === 'Role' && d.object.metadata?.name === 'volwatch-rollback')?.object;
    if (!role) throw new Error('manifests/ has no Role volwatch-rollback');
    await cluster.apply({ ...role, metadata: { ...role.metadata, namespace: ns } });
    const kubeconfig = await boundKubeconfig(ns, 'rollbacker', 'volwatch-rollback');
    // No kubelet here: the consumer's version-only server, on an address the API server proxies
    // to, answers for both pods, on the ports the shipped pod templates name.
    const served = { current: () => ({ name: 'volwatch-baseline', version: '1', variant: 'baseline' }), desiredVariant: 'baseline', inFallback: false } as unknown as ModelManager;
    const server = createVersionServer(() => served);
    // On the host's own address, not 127.0.0.1: the API server's pod proxy dials the pod IP.
    await new Promise<void>((resolve) => server.listen(0, hostIp, resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      await createPod(ns, 'volwatch-api-1', 'api', 'http', port);
      await createPod(ns, 'volwatch-consumer-1', 'consumer', 'version', port);
      for (const name of ['volwatch-api-1', 'volwatch-consumer-1']) {
        await core.patchNamespacedPodStatus({ name, namespace: ns, body: { status: { phase: 'Running', podIP: hostIp, podIPs: [{ ip: hostIp }] } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      }
      const run = await runCli(['--to', 'baseline', '--namespace', ns, '--timeout', '20'], { KUBECONFIG: kubeconfig });
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
      expect(run.stdout).toContain('done: rolled ml -> baseline; 2 pod(s) verified');
      expect((await readCm(ns)).data).toEqual({ variant: 'baseline' });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    // Nothing beyond that: no other ConfigMap, no Secret, no pod changes, no exec.
    const can = async (verb: string, resource: string, name?: string, subresource?: string, group?: string): Promise<boolean> => {
      const review = await cluster.kc.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
        body: { spec: { user: `system:serviceaccount:${ns}:rollbacker`, groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`], resourceAttributes: { namespace: ns, verb, resource, ...(name ? { name } : {}), ...(subresource ? { subresource } : {}), ...(group ? { group } : {}) } } },
      });
      return review.status?.allowed === true;
    };
    expect(await can('patch', 'configmaps', CM)).toBe(true);
    expect({
      otherConfigMap: await can('patch', 'configmaps', 'kafka-config'),
      listConfigMaps: await can('list', 'configmaps'),
      secrets: await can('get', 'secrets', 'kafka-credentials'),
      deletePods: await can('delete', 'pods', 'volwatch-api-1'),
      exec: await can('create', 'pods', 'volwatch-api-1', 'exec'),
      patchDeployments: await can('patch', 'deployments', undefined, undefined, 'apps'),
    }).toEqual({ otherConfigMap: false, listConfigMaps: false, secrets: false, deletePods: false, exec: false, patchDeployments: false });
  });
});
