import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Cluster, loadKubeConfig, REPO_ROOT } from '../../support/k8s';

const SCRIPT = path.join(REPO_ROOT, 'scripts', 'control-plane.sh');

function listen(port = 0): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

async function freePort(): Promise<number> {
  const server = await listen();
  const { port } = server.address() as net.AddressInfo;
  await close(server);
  return port;
}

/** A port p such that p and p + 1 are both free (etcd's client and peer ports). */
async function freePortPair(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port >= 65535) continue;
    const next = await listen(port + 1).catch(() => undefined);
    if (next) {
      await close(next);
      return port;
    }
  }
}

describe('scripts/control-plane.sh', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;

  const run = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
    spawnSync('bash', [SCRIPT, ...args], { env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 240_000 });

  const pidOf = (name: string): number => Number(readFileSync(path.join(dir, `${name}.pid`), 'utf8').trim());

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'volwatch-cp-'));
    env = {
      ...process.env,
      VOLWATCH_K8S_DIR: dir,
      VOLWATCH_K8S_PORT: String(await freePort()),
      VOLWATCH_ETCD_PORT: String(await freePortPair()),
    };
  });

  afterAll(() => {
    run(['stop']);
    rmSync(dir, { recursive: true, force: true });
  });

  test('status exits 3 and says down when nothing runs', () => {
    const res = run(['status']);
    expect(res.status).toBe(3);
    expect(res.stdout).toMatch(/^down:/);
  });

  test('--dry-run start prints the server command lines and starts nothing', () => {
    const res = run(['--dry-run', 'start']);
    expect(res.status).toBe(0);
    expect(res.stdout).toContain(`--secure-port=${env.VOLWATCH_K8S_PORT}`);
    expect(res.stdout).toContain(`--listen-client-urls=http://127.0.0.1:${env.VOLWATCH_ETCD_PORT}`);
    expect(res.stdout).toMatch(/openssl req/);
    expect(existsSync(path.join(dir, 'kube-apiserver.pid'))).toBe(false);
    expect(run(['status']).status).toBe(3);
  });

  test('start serves the API on 127.0.0.1 to the kubeconfig it writes, and a second start is a no-op', async () => {
    const first = run(['start']);
    expect({ status: first.status, stderr: first.stderr }).toEqual({ status: 0, stderr: expect.stringContaining('ready') });

    const kc = loadKubeConfig(path.join(dir, 'kubeconfig'));
    expect(kc.getCurrentCluster()?.server).toBe(`https://127.0.0.1:${env.VOLWATCH_K8S_PORT}`);
    const ns = await new Cluster(kc).read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } });
    expect(ns.metadata?.name).toBe('kube-system');

    const pids = [pidOf('etcd'), pidOf('kube-apiserver')];
    const second = run(['start']);
    expect(second.status).toBe(0);
    expect(second.stderr).toContain('already running');
    expect([pidOf('etcd'), pidOf('kube-apiserver')]).toEqual(pids);
    expect(run(['status']).status).toBe(0);
  });

  test('stop leaves no etcd or kube-apiserver process behind', () => {
    const pids = [pidOf('etcd'), pidOf('kube-apiserver')];
    const res = run(['stop']);
    expect(res.status).toBe(0);
    expect(pids.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
    const leftovers = readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir);
        } catch {
          return false;
        }
      });
    expect(leftovers).toEqual([]);
    expect(run(['status']).status).toBe(3);
  });

  test('a port taken by another process is named instead of starting a broken control plane', async () => {
    const blocker = await listen();
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const res = run(['start'], { VOLWATCH_K8S_PORT: String(port) });
      expect(res.status).toBe(1);
      expect(res.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
    } finally {
      await close(blocker);
    }
  });

  test('a missing openssl is named', () => {
    // A PATH holding everything the script needs except openssl.
    const bin = path.join(dir, 'bin-without-openssl');
    mkdirSync(bin);
    for (const d of ['/usr/local/bin', '/usr/bin', '/bin']) {
      if (!existsSync(d)) continue;
      for (const f of readdirSync(d)) {
        if (f !== 'openssl' && !existsSync(path.join(bin, f))) symlinkSync(path.join(d, f), path.join(bin, f));
      }
    }
    const res = run(['start'], { PATH: bin, VOLWATCH_K8S_DIR: path.join(dir, 'no-openssl') });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('missing required tool(s): openssl');
  });

  test('a non-numeric port is refused, naming the variable', () => {
    const res = run(['status'], { VOLWATCH_K8S_PORT: 'https' });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain("VOLWATCH_K8S_PORT must be a number, got 'https'");
  });

  test('an unknown command is refused with usage and exit code 2', () => {
    const res = run(['restart']);
    expect(res.status).toBe(2);
    expect(res.stderr).toContain("unknown argument 'restart'");
    expect(res.stderr).toContain('Usage:');
  });
});
