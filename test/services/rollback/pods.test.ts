import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { startApi } from '../../support/api';
import { judge, mountsConfigMap, namedPort, parseVersionReport, podsToVerify, probeFor } from '../../../services/rollback/pods';

function pod(name: string, component: string, over: { phase?: string; podIP?: string; deleting?: boolean; ports?: { name: string; containerPort: number; protocol?: string }[]; partOf?: string } = {}): V1Pod {
  const ports = over.ports ?? (component === 'api' ? [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9464 }] : [{ name: 'metrics', containerPort: 9465 }]);
  return {
    metadata: {
      name,
      uid: `uid-${name}`,
      labels: { 'app.kubernetes.io/part-of': over.partOf ?? 'volwatch', 'app.kubernetes.io/component': component },
      ...(over.deleting ? { deletionTimestamp: new Date() } : {}),
    },
    spec: {
      containers: [{ name: 'main', image: 'ghcr.io/volwatch/volwatch:0.1.0', ports }],
      volumes: [{ name: 'model-variant', configMap: { name: 'volwatch-model-variant' } }],
    },
    status: { phase: over.phase ?? 'Running', ...(over.podIP !== undefined ? { podIP: over.podIP } : over.phase && over.phase !== 'Running' ? {} : { podIP: '10.244.1.7' }) },
  };
}

describe('which pods a rollback waits for', () => {
  test('API and consumer pods of volwatch, but not brokers, other apps, finished or terminating pods', () => {
    const pods = [
      pod('api-1', 'api'),
      pod('consumer-1', 'consumer', { phase: 'Pending' }),
      pod('kafka-0', 'broker', { ports: [{ name: 'kafka', containerPort: 9092 }] }),
      pod('other-api', 'api', { partOf: 'someone-else' }),
      pod('api-old', 'api', { deleting: true }),
      pod('consumer-done', 'consumer', { phase: 'Succeeded' }),
      pod('consumer-crashed', 'consumer', { phase: 'Failed' }),
    ];
    expect(podsToVerify(pods).map((p) => p.metadata?.name)).toEqual(['api-1', 'consumer-1']);
  });
});

describe('where a pod reports its variant', () => {
  test('the API on its port named http, the consumer on its port named version (else metrics, for older manifests), both at /version', () => {
    expect(probeFor(pod('api-1', 'api'))).toEqual({ kind: 'query', pod: { name: 'api-1', uid: 'uid-api-1', component: 'api' }, port: 8080, path: 'version' });
    const consumer = pod('c-1', 'consumer', { ports: [{ name: 'metrics', containerPort: 9465 }, { name: 'version', containerPort: 8080 }] });
    expect(probeFor(consumer)).toEqual({ kind: 'query', pod: { name: 'c-1', uid: 'uid-c-1', component: 'consumer' }, port: 8080, path: 'version' });
    expect(probeFor(pod('c-2', 'consumer'))).toMatchObject({ kind: 'query', port: 9465 });
  });

  test('named ports are resolved to the number the pod declares, in any container', () => {
    const p = pod('api-1', 'api', { ports: [] });
    p.spec!.containers.push({ name: 'sidecar', ports: [{ name: 'http', containerPort: 18080 }] });
    expect(namedPort(p, 'http')).toBe(18080);
    expect(namedPort(pod('x', 'api', { ports: [{ name: 'http', containerPort: 53, protocol: 'UDP' }] }), 'http')).toBeUndefined();
  });

  test('a pod that is not running, has no IP or lacks the port cannot be asked yet, and says why', () => {
    expect(probeFor(pod('api-1', 'api', { phase: 'Pending' }))).toMatchObject({ kind: 'not-ready', reason: 'Pending, not running yet' });
    const pulling = pod('api-2', 'api', { phase: 'Pending' });
    pulling.status!.containerStatuses = [{ name: 'main', image: 'x', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff' } } }];
    expect(probeFor(pulling)).toMatchObject({ kind: 'not-ready', reason: 'Pending (ImagePullBackOff), not running yet' });
    expect(probeFor(pod('api-3', 'api', { podIP: '' }))).toMatchObject({ kind: 'not-ready', reason: 'Running but has no pod IP yet' });
    expect(probeFor(pod('c-1', 'consumer', { ports: [{ name: 'http', containerPort: 8080 }] }))).toMatchObject({
      kind: 'not-ready',
      reason: 'has no TCP container port named "version" or "metrics" to read /version from',
    });
  });

  test('a pod that mounts the ConfigMap directly or through a projected volume counts as mounting it', () => {
    expect(mountsConfigMap(pod('api-1', 'api'), 'volwatch-model-variant')).toBe(true);
    expect(mountsConfigMap(pod('api-1', 'api'), 'other')).toBe(false);
    const projected = pod('api-2', 'api');
    projected.spec!.volumes = [{ name: 'p', projected: { sources: [{ configMap: { name: 'other' } }] } }];
    expect(mountsConfigMap(projected, 'other')).toBe(true);
  });
});

describe('reading /version', () => {
  // Shapes served by services/api/app.ts and services/consumer/consumer.ts.
  const apiBody = {
    app: { name: 'volwatch-api', version: '0.1.0', gitRevision: 'abc' },
    model: { name: 'volwatch-logreg', version: '1', variant: 'baseline', requestedVariant: 'baseline', fallback: false, decisionThreshold: 0.5 },
    features: ['ret_1s'],
  };
  const consumerBody = { app: { name: 'volwatch-consumer' }, model: { name: 'm', version: '1', variant: 'ml', requestedVariant: 'ml', fallback: false } };

  test('model.variant decides, whether the proxy hands back text or parsed JSON', () => {
    expect(judge(parseVersionReport(JSON.stringify(apiBody)), 'baseline')).toEqual({ ok: true });
    expect(judge(parseVersionReport(consumerBody), 'ml')).toEqual({ ok: true });
    expect(judge(parseVersionReport(consumerBody), 'baseline')).toEqual({ ok: false, reason: 'still serves ml (the kubelet may not have synced the ConfigMap yet)' });
  });

  test('a pod in fallback serves another variant than it was asked for, and the reason says so', () => {
    const fallback = { model: { variant: 'baseline', requestedVariant: 'ml', fallback: true } };
    expect(judge(parseVersionReport(fallback), 'ml')).toEqual({
      ok: false,
      reason: "was asked for ml but serves baseline: fallback active (loading ml failed; see the pod's log)",
    });
    // Rolling back to baseline from a fallback is what the operator wants: it counts.
    expect(judge(parseVersionReport(fallback), 'baseline')).toEqual({ ok: true });
  });

  test('no model loaded yet is not verified', () => {
    expect(judge(parseVersionReport({ model: null }), 'ml')).toEqual({ ok: false, reason: 'has not loaded a model yet' });
  });

  test('something that is not a volwatch /version is an error naming the problem', () => {
    expect(() => parseVersionReport('<html>nginx</html>')).toThrow('/version did not return JSON: "<html>nginx</html>"');
    expect(() => parseVersionReport({ status: 'ok' })).toThrow('/version returned no "model" field');
    expect(() => parseVersionReport({ model: { variant: 3 } })).toThrow('without a string "variant"');
  });
});

describe('reading /version from the real API', () => {
  // The field the rollback waits on must be the one services/api actually serves.
  test('an API started with MODEL_VARIANT=baseline is verified for baseline and not for ml', async () => {
    const running = await startApi({ MODEL_VARIANT: 'baseline' });
    try {
      const res = await fetch(`${running.url}/version`);
      const report = parseVersionReport(await res.text());
      expect(judge(report, 'baseline')).toEqual({ ok: true });
      expect(judge(report, 'ml')).toMatchObject({ ok: false, reason: expect.stringContaining('still serves baseline') });
    } finally {
      await running.api.stop();
    }
  });
});

describe('the shipped manifests match what the rollback looks for', () => {
  // A Deployment whose pods the rollback would not find, or ask on the wrong port, would make
  // every rollback time out; check the pod templates in manifests/ against pods.ts.
  const docs = parseAllDocuments(readFileSync(join(__dirname, '../../../manifests/20-volwatch.yaml'), 'utf8')).map((d) => d.toJS() as any);
  test.each([
    ['volwatch-api', 'api'],
    ['volwatch-consumer', 'consumer'],
  ])('Deployment %s: pods are selected as %s, declare the /version port and mount the ConfigMap', (name, component) => {
    const deployment = docs.find((d) => d?.kind === 'Deployment' && d.metadata?.name === name);
    expect(deployment).toBeDefined();
    const template: V1Pod = { metadata: { ...deployment.spec.template.metadata, name: `${name}-abc12` }, spec: deployment.spec.template.spec, status: { phase: 'Running', podIP: '10.244.1.7' } };
    expect(podsToVerify([template])).toHaveLength(1);
    expect(probeFor(template)).toMatchObject({ kind: 'query', pod: { component }, port: 8080, path: 'version' });
    expect(mountsConfigMap(template, 'volwatch-model-variant')).toBe(true);
  });

  // The pod proxy's traffic comes from the API server: a node address, a managed control plane or
  // a tunnel, which no pod or namespace selector matches. Only a rule without `from` (or with
  // ipBlock 0.0.0.0/0) admits it on every CNI that enforces NetworkPolicy.
  const policies = readdirSync(join(__dirname, '../../../manifests'))
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseAllDocuments(readFileSync(join(__dirname, '../../../manifests', f), 'utf8')).map((d) => d.toJS() as any))
    .filter((d) => d?.kind === 'NetworkPolicy');
  const selects = (selector: { matchLabels?: Record<string, string> } | undefined, labels: Record<string, string>) =>
    Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  function admitsApiServer(template: V1Pod, port: number): boolean {
    const labels = template.metadata?.labels ?? {};
    const named = new Map((template.spec?.containers ?? []).flatMap((c) => (c.ports ?? []).map((p) => [p.name, p.containerPort] as const)));
    const isolating = policies.filter((p) => p.metadata.namespace === template.metadata?.namespace && (p.spec.policyTypes ?? ['Ingress']).includes('Ingress') && selects(p.spec.podSelector, labels));
    if (isolating.length === 0) return true;
    return isolating.some((p) =>
      (p.spec.ingress ?? []).some(
        (rule: any) =>
          (rule.ports ?? [{}]).some((rp: any) => rp.port === undefined || rp.port === port || named.get(rp.port) === port) &&
          (!rule.from?.length || rule.from.some((peer: any) => peer.ipBlock?.cidr === '0.0.0.0/0' && !peer.ipBlock.except?.length)),
      ),
    );
  }
  test.each(['volwatch-api', 'volwatch-consumer'])('the shipped NetworkPolicies admit the pod proxy to the port the rollback asks %s on', (name) => {
    expect(policies.map((p) => p.metadata.name)).toContain('default-deny');
    const deployment = docs.find((d) => d?.kind === 'Deployment' && d.metadata?.name === name);
    const template: V1Pod = { metadata: { ...deployment.spec.template.metadata, namespace: deployment.metadata.namespace, name: `${name}-abc12` }, spec: deployment.spec.template.spec, status: { phase: 'Running', podIP: '10.244.1.7' } };
    const probe = probeFor(template);
    if (probe.kind !== 'query') throw new Error(`${name}: ${probe.reason}`);
    expect({ name, port: probe.port, admitted: admitsApiServer(template, probe.port) }).toEqual({ name, port: probe.port, admitted: true });
    // And the metrics port stays closed to it: only the monitoring namespace scrapes.
    expect(admitsApiServer(template, name === 'volwatch-api' ? 9464 : 9465)).toBe(false);
  });
});
