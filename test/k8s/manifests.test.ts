import path from 'node:path';
import { REPO_ROOT } from '../support/k8s';
import { checkManifestSet } from './manifest-checks';

// Everything cdk8s wrote to manifests/ must be accepted by a real kube-apiserver.
checkManifestSet({
  title: 'manifests/ on a real kube-apiserver',
  dir: process.env.VOLWATCH_MANIFEST_DIR ?? path.join(REPO_ROOT, 'manifests'),
  namespace: 'volwatch',
});
