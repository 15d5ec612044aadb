import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AggregateApplyError, ApplyError, Cluster, ManifestError, loadManifestDir, parseManifests } from '../support/k8s';
import { installCrds } from './crds';
import { checkManifestSet } from './manifest-checks';

const FIXTURES = path.join(__dirname, 'fixtures');
const BROKEN = path.join(FIXTURES, 'broken');

checkManifestSet({ title: 'the valid fixture set', dir: path.join(FIXTURES, 'valid'), namespace: 'volwatch-fixture' });

describe('a deliberately broken manifest is rejected with the object name and the server message', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    cluster = new Cluster();
    await installCrds(cluster);
    const file = path.join(BROKEN, 'namespace.yaml');
    await cluster.applyDocs(parseManifests(readFileSync(file, 'utf8'), file));
  });

  const cases: [file: string, object: string, server: RegExp][] = [
    ['unknown-field.yaml', 'Deployment volwatch-broken/broken-unknown-field', /\.spec\.replicaz: field not declared in schema/],
    ['unknown-crd-field.yaml', 'ServiceMonitor volwatch-broken/broken-unknown-crd-field', /\.spec\.endpoints\[0\]\.intervall: field not declared in schema/],
    ['duplicate-field.yaml', 'Service volwatch-broken/broken-duplicate-field', /strict decoding YAML.*key "type" already set/s],
    ['wrong-type.yaml', 'Deployment volwatch-broken/broken-wrong-type', /\.spec\.replicas: expected numeric/],
    ['missing-required.yaml', 'ServiceMonitor volwatch-broken/broken-missing-required', /spec\.selector: Required value/],
    ['bad-duration.yaml', 'PrometheusRule volwatch-broken/broken-bad-duration', /spec\.groups\[0\]\.rules\[0\]\.for: Invalid value: "five minutes"/],
    ['bad-reference.yaml', 'ConfigMap volwatch-nonexistent/broken-bad-reference', /namespaces "volwatch-nonexistent" not found/],
  ];

  test.each(cases)('%s is refused', async (file, object, server) => {
    const [doc] = parseManifests(readFileSync(path.join(BROKEN, file), 'utf8'), `broken/${file}`);
    const err = await cluster.apply(doc!.object, { body: doc!.body, source: doc!.source }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplyError);
    expect((err as ApplyError).message).toContain(object);
    expect((err as ApplyError).serverMessage).toMatch(server);
  });

  test('applying the broken set as a manifest directory fails and lists every refused object', async () => {
    const err = await cluster.applyDocs(loadManifestDir(BROKEN)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AggregateApplyError);
    const message = (err as AggregateApplyError).message;
    for (const [, object, server] of cases) {
      expect(message).toContain(object);
      expect(message).toMatch(server);
    }
    expect((err as AggregateApplyError).failures).toHaveLength(cases.length);
  });
});

describe('a pod template that breaks the restricted Pod Security Standard', () => {
  test('is accepted but draws a warning, which the manifest checks report', async () => {
    const cluster = new Cluster();
    const applied = await cluster.applyDocs(loadManifestDir(path.join(FIXTURES, 'warned')));
    const deployment = [...applied].find(([doc]) => doc.object.kind === 'Deployment');
    expect(deployment?.[1].warnings.join('\n')).toMatch(/would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
  });
});

describe('a manifest directory with nothing to apply fails instead of passing vacuously', () => {
  test('a missing directory is an error', () => {
    expect(() => loadManifestDir(path.join(tmpdir(), 'volwatch-no-such-dir'))).toThrow(ManifestError);
  });

  test('a directory without objects is an error', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'volwatch-empty-'));
    try {
      expect(() => loadManifestDir(dir)).toThrow(/contains no Kubernetes objects/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
