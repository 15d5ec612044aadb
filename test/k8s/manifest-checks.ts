// The checks every manifest set must pass on the API server; shared by the real manifests/
// test and the fixture test that proves the checks themselves work.
import { Cluster, loadManifestDir, objectRef } from '../support/k8s';
import type { Applied, ManifestDoc } from '../support/k8s';
import { installCrds } from './crds';

export interface ManifestSet {
  title: string;
  dir: string;
  /** The application namespace that must enforce the restricted Pod Security Standard. */
  namespace: string;
}

const ROUND_TRIP_KINDS = ['ServiceMonitor', 'PrometheusRule'];

export function checkManifestSet(set: ManifestSet): void {
  describe(set.title, () => {
    let cluster: Cluster;
    let docs: ManifestDoc[] = [];
    let applied: Map<ManifestDoc, Applied> | undefined;
    let applyError: unknown;

    beforeAll(async () => {
      cluster = new Cluster();
      await installCrds(cluster);
      try {
        docs = loadManifestDir(set.dir);
        applied = await cluster.applyDocs(docs);
      } catch (err) {
        applyError = err;
      }
    });

    const appliedOrFail = (): Map<ManifestDoc, Applied> => {
      if (!applied) throw new Error(`nothing to check: applying ${set.dir} failed (see the apply test)`);
      return applied;
    };

    test('every object applies with server-side apply and strict field validation', () => {
      if (applyError) throw applyError;
      expect(appliedOrFail().size).toBe(docs.length);
    });

    test('no object draws a warning from the API server (deprecated API, Pod Security violation)', () => {
      const warned = [...appliedOrFail()]
        .filter(([, a]) => a.warnings.length > 0)
        .map(([doc, a]) => `${objectRef(doc.object, doc.source)}: ${a.warnings.join('; ')}`);
      expect(warned).toEqual([]);
    });

    test('every object reads back as applied', async () => {
      for (const [doc, { object: result }] of appliedOrFail()) {
        const live = await cluster.read(result);
        expect({ object: objectRef(doc.object, doc.source), resourceVersion: live.metadata?.resourceVersion }).toEqual({
          object: objectRef(doc.object, doc.source),
          resourceVersion: result.metadata?.resourceVersion,
        });
        expect(live.metadata?.labels ?? {}).toEqual(expect.objectContaining(doc.object.metadata?.labels ?? {}));
      }
    });

    test('ServiceMonitors and PrometheusRules round-trip unchanged', async () => {
      const monitoring = [...appliedOrFail().keys()].filter((d) => ROUND_TRIP_KINDS.includes(d.object.kind ?? ''));
      const missing = ROUND_TRIP_KINDS.filter((kind) => !monitoring.some((d) => d.object.kind === kind));
      if (missing.length > 0) {
        throw new Error(`${set.dir} contains no ${missing.join(' and no ')}; expected at least one of each`);
      }
      for (const doc of monitoring) {
        const live = await cluster.read(appliedOrFail().get(doc)!.object);
        const name = objectRef(doc.object, doc.source);
        expect({ name, spec: live.spec }).toEqual({ name, spec: doc.object.spec });
      }
    });

    test(`namespace ${set.namespace} enforces the restricted Pod Security Standard`, async () => {
      appliedOrFail();
      const ns = docs.find((d) => d.object.kind === 'Namespace' && d.object.metadata?.name === set.namespace);
      if (!ns) throw new Error(`${set.dir} does not define Namespace ${set.namespace}`);
      const live = await cluster.read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: set.namespace } });
      expect(live.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    });

    test('re-applying every object is a no-op', async () => {
      const first = appliedOrFail();
      const again = await cluster.applyDocs(docs);
      const changed = docs
        .filter((d) => again.get(d)?.object.metadata?.resourceVersion !== first.get(d)?.object.metadata?.resourceVersion)
        .map((d) => objectRef(d.object, d.source));
      expect(changed).toEqual([]);
    });
  });
}
