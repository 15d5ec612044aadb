// The whole deployment on a real Kubernetes node of this machine: scripts/node-up.sh (node,
// kube-prometheus-stack through Helm, manifests/), scripts/cluster-smoke.sh against it, a
// second node-up.sh that must change nothing, then scripts/node-down.sh, which must leave the
// host exactly as it found it. Run by scripts/test-node.sh (npm run test:node).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const NODE_DIR = process.env.VOLWATCH_NODE_DIR ?? path.join(ROOT, '.work/node');
const KUBECONFIG = path.join(NODE_DIR, 'kubeconfig');
const CONTEXT = 'volwatch-node';
const SYSCTLS = ['net.ipv4.ip_forward', 'net.bridge.bridge-nf-call-iptables', 'net.ipv4.conf.all.route_localnet', 'vm.overcommit_memory', 'kernel.panic', 'kernel.panic_on_oops'];

/** Runs a script with its output on the test's console; resolves to its exit code. */
function script(file: string, args: string[], timeoutMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn('bash', [path.join(ROOT, file), ...args], { cwd: ROOT, stdio: 'inherit' });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

const sh = (cmd: string): string => spawnSync('bash', ['-c', cmd], { encoding: 'utf8' }).stdout;

/** What the node may change on the host, as text that compares equal when nothing is left over. */
function hostState(): Record<string, string> {
  // Rules and user chains only: listing a table creates it empty (iptables-nft), which is no change.
  const BUILTIN = /^:(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) /;
  const strip = (rules: string) =>
    rules
      .split('\n')
      .filter((l) => l.startsWith('-A ') || (l.startsWith(':') && !BUILTIN.test(l)))
      .map((l) => l.replace(/ \[\d+:\d+\]$/, ''))
      .sort()
      .join('\n');
  return {
    iptables: strip(sh('iptables-save 2>/dev/null')),
    ip6tables: strip(sh('ip6tables-save 2>/dev/null')),
    links: sh('ip -o link show | cut -d: -f2 | sort'),
    mounts: sh(`findmnt -rn -o TARGET | grep -E '^(${NODE_DIR}|/run/netns|/run/containerd)' | sort`),
    netns: sh('ls /run/netns 2>/dev/null'),
    cgroups: sh('ls -d /sys/fs/cgroup/*/kubepods 2>/dev/null'),
    sysctls: SYSCTLS.map((s) => `${s}=${sh(`cat /proc/sys/${s.replace(/\./g, '/')} 2>/dev/null`).trim()}`).join('\n'),
    // The node's own processes: others' control planes (etcd and kube-apiserver of the same
    // build, test/k8s's among them) come and go beside this suite.
    processes: sh(`ps -eo args= | grep -E '${NODE_DIR}|\\.cache/volwatch/(k8s-build/[^ ]*/bin/kube(let|-proxy|-controller-manager|-scheduler) |go-build/containerd)' | grep -v grep | sort`),
    dirs: sh('ls -d /run/containerd /var/lib/cni /var/log/containers /var/log/pods /etc/cni /opt/cni 2>/dev/null'),
  };
}

describe('volwatch on a real node of this machine (scripts/node-up.sh)', () => {
  let before: Record<string, string>;
  let up = false;

  beforeAll(() => {
    before = hostState();
  });

  afterAll(async () => {
    // A failed test must not leave a node running on the shared machine.
    if (up) await script('scripts/node-down.sh', [], 600_000);
  });

  test('node-up.sh brings up the node, kube-prometheus-stack through Helm and every manifest', async () => {
    up = true;
    expect(await script('scripts/node-up.sh', [], 1_500_000)).toBe(0);
  });

  test('cluster-smoke.sh passes: pods Ready, targets up, rules loaded, predictions flow, the down alert reaches Alertmanager, rollback without a failed request', async () => {
    expect(await script('scripts/cluster-smoke.sh', ['--kubeconfig', KUBECONFIG, '--context', CONTEXT], 1_500_000)).toBe(0);
  });

  test('a second node-up.sh finds everything running and changes nothing', async () => {
    const pids = () => fs.readdirSync(NODE_DIR).filter((f) => f.endsWith('.pid')).map((f) => `${f}=${fs.readFileSync(path.join(NODE_DIR, f), 'utf8').trim()}`);
    const first = pids();
    expect(await script('scripts/node-up.sh', [], 900_000)).toBe(0);
    expect(pids()).toEqual(first);
  });

  test('node-down.sh stops every process and leaves no rule, mount, link, namespace, cgroup or setting behind', async () => {
    expect(await script('scripts/node-down.sh', [], 600_000)).toBe(0);
    up = false;
    expect(hostState()).toEqual(before);
  });
});
