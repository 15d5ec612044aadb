import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { barePath, chartEnv, indexOf, ROOT, runScript, shellcheck } from './kind-support';

describe('scripts/kind-up.sh', () => {
  test('passes shellcheck, together with the shared lib', () => {
    const r = shellcheck(['scripts/kind-up.sh', 'scripts/lib/common.sh']);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  });

  test('--dry-run prints the whole bring-up in order: cluster, chart, image, core manifests, CRD wait, monitoring manifests, rollouts', () => {
    const r = runScript('scripts/kind-up.sh', ['--dry-run']);
    expect(r.status).toBe(0);
    const c = r.commands;
    const env = chartEnv();
    const order = [
      indexOf(c, `kind create cluster --name volwatch --config ${ROOT}/scripts/kind/cluster.yaml`),
      indexOf(c, 'kubectl --context kind-volwatch create namespace monitoring'),
      // The Grafana password goes through stdin, never a command line (ps shows those).
      indexOf(c, '(generate a random 32-character password) | kubectl --context kind-volwatch -n monitoring create -f -'),
      indexOf(c, `helm repo add prometheus-community ${env.CHART_REPO_URL}`),
      indexOf(c, 'helm --kube-context kind-volwatch upgrade --install kube-prometheus-stack prometheus-community/kube-prometheus-stack'),
      indexOf(c, 'docker build --tag ghcr.io/volwatch/volwatch:0.1.0'),
      indexOf(c, 'kind load docker-image ghcr.io/volwatch/volwatch:0.1.0 --name volwatch'),
      indexOf(c, `kubectl --context kind-volwatch apply --server-side --force-conflicts --field-manager=volwatch -f ${ROOT}/manifests/00-namespace.yaml`),
      // The broker's SCRAM passwords, before anything that reads them; through stdin.
      indexOf(c, '(generate a random 32-character password for each of consumer producer topics) | kubectl --context kind-volwatch -n volwatch create -f -'),
      indexOf(c, `kubectl --context kind-volwatch apply --server-side --force-conflicts --field-manager=volwatch -f ${ROOT}/manifests/10-kafka.yaml`),
      indexOf(c, `kubectl --context kind-volwatch apply --server-side --force-conflicts --field-manager=volwatch -f ${ROOT}/manifests/20-volwatch.yaml`),
      indexOf(c, 'kubectl --context kind-volwatch wait --for=condition=Established'),
      indexOf(c, `kubectl --context kind-volwatch apply --server-side --force-conflicts --field-manager=volwatch -f ${ROOT}/manifests/30-monitoring.yaml`),
      indexOf(c, 'kubectl --context kind-volwatch -n volwatch rollout status statefulset/kafka'),
      indexOf(c, 'kubectl --context kind-volwatch -n volwatch wait --for=condition=complete job/kafka-topics'),
      indexOf(c, 'kubectl --context kind-volwatch -n volwatch rollout status deployment/volwatch-api'),
      indexOf(c, 'kubectl --context kind-volwatch -n volwatch rollout status deployment/volwatch-consumer'),
    ];
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(c).toHaveLength(order.length + 1); // + helm repo update
    expect(r.stdout).toContain("get secret grafana-admin -o jsonpath='{.data.admin-password}' | base64 -d");
  });

  test('the helm install uses the version pinned in chart.env and our values file', () => {
    const helm = runScript('scripts/kind-up.sh', ['--dry-run']).commands.find((c) => c.startsWith('helm --kube-context kind-volwatch upgrade --install'))!;
    expect(helm).toContain(` --version ${chartEnv().CHART_VERSION} `);
    expect(helm).toContain(` --values ${ROOT}/charts/kube-prometheus-stack/values.yaml `);
    expect(helm).toContain(' --namespace monitoring --create-namespace ');
  });

  test('the CRD wait names both CRDs our monitoring manifests use', () => {
    const wait = runScript('scripts/kind-up.sh', ['--dry-run']).commands.find((c) => c.includes('condition=Established'))!;
    expect(wait).toContain('crd/servicemonitors.monitoring.coreos.com');
    expect(wait).toContain('crd/prometheusrules.monitoring.coreos.com');
  });

  test('with manifests for an existing Kafka it skips the broker waits; --skip-build drops docker build', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'volwatch-ext-'));
    for (const f of ['00-namespace.yaml', '20-volwatch.yaml', '30-monitoring.yaml']) fs.copyFileSync(path.join(ROOT, 'manifests', f), path.join(dir, f));
    const r = runScript('scripts/kind-up.sh', ['--dry-run', '--skip-build', '--manifests', dir, '--name', 'demo', '--image', 'registry.example/volwatch:9.9.9']);
    expect(r.status).toBe(0);
    expect(r.commands.some((c) => c.includes('statefulset/kafka') || c.includes('job/kafka-topics'))).toBe(false);
    expect(r.commands.some((c) => c.startsWith('docker'))).toBe(false);
    expect(r.commands).toContain('kind load docker-image registry.example/volwatch:9.9.9 --name demo');
    expect(r.commands.filter((c) => c.includes('apply --server-side')).map((c) => path.basename(c.split(' ').pop()!))).toEqual([
      '00-namespace.yaml',
      '20-volwatch.yaml',
      '30-monitoring.yaml',
    ]);
  });

  test('dry run only warns about missing tools; a real run fails naming them', () => {
    const env = { ...process.env, PATH: barePath() };
    const dry = runScript('scripts/kind-up.sh', ['--dry-run'], env);
    expect(dry.status).toBe(0);
    expect(dry.stderr).toContain('warning: missing tools (needed for a real run): kind kubectl helm docker');
    const real = runScript('scripts/kind-up.sh', [], env);
    expect(real.status).toBe(1);
    expect(real.stderr).toContain('error: missing required tools: kind kubectl helm docker');
    expect(real.commands).toEqual([]);
  });

  test('an unknown argument or a missing manifest directory is a clear error', () => {
    const bad = runScript('scripts/kind-up.sh', ['--dry-run', '--frobnicate']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('error: unknown argument: --frobnicate');
    const missing = runScript('scripts/kind-up.sh', ['--dry-run', '--manifests', '/nonexistent/manifests']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('manifest directory /nonexistent/manifests not found: run npm run synth');
  });

  test('the committed kind config is one node named like the default cluster, with the default CNI (it enforces NetworkPolicy)', () => {
    const cfg = parse(fs.readFileSync(path.join(ROOT, 'scripts/kind/cluster.yaml'), 'utf8'));
    expect(cfg.kind).toBe('Cluster');
    expect(cfg.apiVersion).toBe('kind.x-k8s.io/v1alpha4');
    expect(cfg.name).toBe('volwatch');
    // The API server's pod proxy reaches the consumer's metrics port only from the pod's own node.
    expect(cfg.nodes).toEqual([{ role: 'control-plane' }]);
    expect(cfg.networking?.disableDefaultCNI ?? false).toBe(false);
  });
});
