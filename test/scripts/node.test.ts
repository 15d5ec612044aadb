// The local node's scripts without running a node: shellcheck, the order of what they do
// (dry runs), their argument checks. test/node/ runs them for real.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chartEnv, indexOf, ROOT, runScript, shellcheck } from './kind-support';

// A node directory of its own, so a node someone runs on this machine does not change the plan.
const NODE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'volwatch-node-dry-'));
const ENV = { ...process.env, VOLWATCH_NODE_DIR: NODE_DIR };
const dry = (script: string, args: string[]) => runScript(script, args, ENV);
afterAll(() => fs.rmSync(NODE_DIR, { recursive: true, force: true }));

const NODE_SCRIPTS = ['scripts/node-up.sh', 'scripts/node-down.sh', 'scripts/node-build.sh', 'scripts/node-images.sh', 'scripts/test-node.sh'];
const LIBS = ['scripts/lib/node-env.sh', 'scripts/lib/node-host.sh', 'scripts/lib/k8s-pki.sh', 'scripts/lib/cluster-install.sh'];

describe('the local node scripts', () => {
  test('pass shellcheck, with their libs', () => {
    const r = shellcheck([...NODE_SCRIPTS, ...LIBS]);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  });

  test('node-up.sh --dry-run: network, control plane, containerd and images, node agents, CoreDNS, then the chart from the shared archive and the manifests', () => {
    const r = dry('scripts/node-up.sh', ['--dry-run']);
    expect(r.status).toBe(0);
    const c = r.commands;
    const env = chartEnv();
    const order = [
      indexOf(c, `bash ${ROOT}/scripts/node-build.sh all`),
      indexOf(c, 'echo 1 > /proc/sys/net/ipv4/ip_forward'),
      indexOf(c, 'ip link add volwatch0 type bridge'),
      indexOf(c, 'ip addr add 10.244.0.1/24 dev volwatch0'),
      indexOf(c, "iptables -w -A VOLWATCH-NODE-FORWARD -s 10.244.0.0/16 '!' -d 10.244.0.0/16 -j DROP"),
      indexOf(c, `env VOLWATCH_K8S_DIR=${NODE_DIR}/k8s VOLWATCH_K8S_ADDRESS=10.244.0.1`),
      c.findIndex((x) => x.includes('/kube-apiserver --bind-address=10.244.0.1 --advertise-address=10.244.0.1')),
      c.findIndex((x) => x.includes('/containerd --config ')),
      indexOf(c, `bash ${ROOT}/scripts/node-images.sh import`),
      c.findIndex((x) => x.includes('/kubelet --config ')),
      c.findIndex((x) => x.includes('/kube-proxy --kubeconfig ')),
      c.findIndex((x) => x.includes('/kube-controller-manager --kubeconfig ')),
      c.findIndex((x) => x.includes('/kube-scheduler --kubeconfig ')),
      c.findIndex((x) => x.startsWith('(CoreDNS Deployment')),
      c.findIndex((x) => x.includes(' upgrade --install kube-prometheus-stack ')),
      c.findIndex((x) => x.includes('-f ' + path.join(ROOT, 'manifests/00-namespace.yaml'))),
      c.findIndex((x) => x.includes('-f ' + path.join(ROOT, 'manifests/30-monitoring.yaml'))),
      c.findIndex((x) => x.includes('rollout status deployment/volwatch-consumer')),
    ];
    expect(order.every((i) => i >= 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    const helm = c.find((x) => x.includes(' upgrade --install '))!;
    expect(helm).toContain(`/helm-charts/${env.CHART_NAME}-${env.CHART_VERSION}.tgz `);
    expect(helm).toContain(`--values ${ROOT}/charts/kube-prometheus-stack/values.yaml --values ${ROOT}/charts/kube-prometheus-stack/values-local-node.yaml`);
  });

  test('node-up.sh keeps every server off the machine network: API server and kubelet on the bridge, the rest on loopback', () => {
    const c = dry('scripts/node-up.sh', ['--dry-run']).commands;
    const line = (bin: string) => c.find((x) => x.includes(`/${bin} `))!;
    expect(line('etcd')).toContain('--listen-client-urls=http://127.0.0.1:23794');
    expect(line('kube-apiserver')).toContain('--bind-address=10.244.0.1');
    expect(line('kube-proxy')).toContain('--metrics-bind-address 127.0.0.1:10249 --healthz-bind-address 127.0.0.1:10256');
    expect(line('kube-proxy')).toContain('--nodeport-addresses 10.244.0.1/32');
    expect(line('kube-controller-manager')).toContain('--bind-address 127.0.0.1');
    expect(line('kube-scheduler')).toContain('--bind-address 127.0.0.1');
  });

  test('node-up.sh --node-only stops before the chart; a bad --timeout or manifest directory is a sentence', () => {
    const only = dry('scripts/node-up.sh', ['--dry-run', '--node-only']);
    expect(only.status).toBe(0);
    expect(only.commands.some((x) => x.includes('upgrade --install') || x.includes('manifests/'))).toBe(false);
    const t = dry('scripts/node-up.sh', ['--dry-run', '--timeout', 'soon']);
    expect(t.status).toBe(1);
    expect(t.stderr).toContain('--timeout must be a positive number of seconds, got soon');
    // A path nobody can have created (a shared machine's /nonexistent once existed).
    const missing = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'volwatch-node-')), 'no-manifests');
    const m = dry('scripts/node-up.sh', ['--dry-run', '--manifests', missing]);
    expect(m.status).toBe(1);
    expect(m.stderr).toContain(`manifest directory ${missing} not found: run npm run synth`);
  });

  test('node-down.sh --dry-run: scheduler, controllers and kubelet first, pods through the CRI, containerd, kube-proxy, control plane, bridge', () => {
    const r = dry('scripts/node-down.sh', ['--dry-run']);
    expect(r.status).toBe(0);
    const c = r.commands;
    const order = [
      c.findIndex((x) => x.includes(' rmp --all --force')),
      indexOf(c, `env VOLWATCH_K8S_DIR=${NODE_DIR}/k8s`),
      indexOf(c, 'ip link delete volwatch0'),
    ];
    expect(order.every((i) => i >= 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  test('node-images.sh lists every image under the reference the chart and the manifests use', () => {
    const r = runScript('scripts/node-images.sh', ['list']);
    expect(r.status).toBe(0);
    const refs = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split(' ') as [string, string]));
    const env = chartEnv();
    expect(refs).toMatchObject({
      pause: 'registry.k8s.io/pause:3.10.2',
      'prometheus-operator': `quay.io/prometheus-operator/prometheus-operator:${env.OPERATOR_VERSION}`,
      'prometheus-config-reloader': `quay.io/prometheus-operator/prometheus-config-reloader:${env.OPERATOR_VERSION}`,
      prometheus: 'quay.io/prometheus/prometheus:v3.14.0-distroless',
      alertmanager: 'quay.io/prometheus/alertmanager:v0.34.0',
      volwatch: 'ghcr.io/volwatch/volwatch:0.1.0',
    });
    expect(refs.kafka).toMatch(/^docker\.io\/apache\/kafka:\d+\.\d+\.\d+$/);
  });

  test('unknown arguments and images are refused with a sentence', () => {
    for (const [script, args, msg] of [
      ['scripts/node-up.sh', ['--frobnicate'], 'unknown argument: --frobnicate'],
      ['scripts/node-down.sh', ['--frobnicate'], 'unknown argument: --frobnicate'],
      ['scripts/node-build.sh', ['everything'], 'unknown argument: everything'],
      ['scripts/node-images.sh', ['build', 'grafana'], "unknown image 'grafana'"],
    ] as const) {
      const r = runScript(script, [...args]);
      expect({ script, status: r.status }).toEqual({ script, status: 1 });
      expect(r.stderr).toContain(msg);
    }
  });
});
