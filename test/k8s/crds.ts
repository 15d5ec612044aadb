import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Cluster, loadManifestDir, REPO_ROOT } from '../support/k8s';

/** prometheus-operator CRDs shipped beside the repo (CI clones ../shared next to it). */
export function crdDir(): string {
  if (process.env.VOLWATCH_CRDS_DIR) return process.env.VOLWATCH_CRDS_DIR;
  const base = path.resolve(REPO_ROOT, '..', 'shared', 'crds');
  if (!existsSync(base)) {
    throw new Error(`prometheus-operator CRDs not found at ${base}; set VOLWATCH_CRDS_DIR`);
  }
  const versions = readdirSync(base).filter((d) => d.startsWith('prometheus-operator-')).sort();
  const latest = versions.at(-1);
  if (!latest) throw new Error(`no prometheus-operator-* directory under ${base}`);
  return path.join(base, latest);
}

/** Server-side applies every CRD and waits until all are served. Returns the CRD names. */
export async function installCrds(cluster: Cluster): Promise<string[]> {
  const docs = loadManifestDir(crdDir());
  const applied = await cluster.applyDocs(docs);
  const names = [...applied.values()].map((a) => a.object.metadata!.name!);
  await cluster.waitForCrdsEstablished(names);
  return names;
}
