import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT, synthesize } from '../../cdk8s/app';

/**
 * Runs the real API with the env, ports and probe paths of the synthesized
 * Deployment (only HOST, ports and paths moved onto this machine), and updates
 * the variant file the way the kubelet updates a ConfigMap volume.
 */
type Obj = Record<string, any>;
const deployment = [...synthesize().objects.values()].flat().find((o) => o.kind === 'Deployment' && o.metadata.name === 'volwatch-api') as Obj;
const container = deployment.spec.template.spec.containers[0] as Obj;
const env: Record<string, string> = Object.fromEntries(container.env.map((e: Obj) => [e.name, e.value]));
const portNamed = (name: string) => container.ports.find((p: Obj) => p.name === name).containerPort as number;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** The kubelet's AtomicWriter layout: variant -> ..data/variant, ..data -> ..<timestamp>/ */
function writeConfigMapVolume(dir: string, value: string): void {
  const stamp = `..${Date.now()}_${Math.random().toString(36).slice(2)}`;
  fs.mkdirSync(path.join(dir, stamp));
  fs.writeFileSync(path.join(dir, stamp, 'variant'), value);
  fs.symlinkSync(stamp, path.join(dir, '..data_tmp'));
  fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  if (!fs.existsSync(path.join(dir, 'variant'))) fs.symlinkSync('..data/variant', path.join(dir, 'variant'));
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

describe('the synthesized API Deployment against the real API process', () => {
  let child: ChildProcess | undefined;
  let exited: Promise<number | null>;
  let http: number;
  let metrics: number;
  let mountDir: string;

  beforeAll(async () => {
    http = await freePort();
    metrics = await freePort();
    mountDir = fs.mkdtempSync(path.join(os.tmpdir(), 'volwatch-cm-'));
    writeConfigMapVolume(mountDir, 'ml');
    const childEnv = {
      ...process.env,
      ...env,
      HOST: '127.0.0.1',
      PORT: String(http),
      METRICS_PORT: String(metrics),
      MODEL_DIR: path.join(REPO_ROOT, 'services/model/artifacts'),
      MODEL_VARIANT_FILE: path.join(mountDir, path.basename(env.MODEL_VARIANT_FILE!)),
      MODEL_VARIANT_POLL_MS: '200',
      LOG_LEVEL: 'warn',
    };
    child = spawn(path.join(REPO_ROOT, 'node_modules/.bin/tsx'), ['services/api/main.ts'], { cwd: REPO_ROOT, env: childEnv, stdio: ['ignore', 'ignore', 'inherit'] });
    exited = new Promise((resolve) => child!.once('exit', (code) => resolve(code)));
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });

  test('liveness, readiness and startup probe paths answer 200 on the named port, metrics on the metrics port', async () => {
    for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
      const port = portNamed(probe.httpGet.port);
      expect(port).toBe(Number(env.PORT));
      const status = await until(`GET ${probe.httpGet.path}`, async () => {
        const r = await fetch(`http://127.0.0.1:${http}${probe.httpGet.path}`);
        return r.status === 200 ? r.status : undefined;
      });
      expect(status).toBe(200);
    }
    const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
    expect(text).toContain('http_requests_total');
  }, 40_000);

  test('editing the mounted ConfigMap switches the served model variant without a restart', async () => {
    const variant = async () => ((await (await fetch(`http://127.0.0.1:${http}/version`)).json()) as Obj).model.variant as string;
    expect(await variant()).toBe('ml');
    writeConfigMapVolume(mountDir, 'baseline');
    await until('variant baseline', async () => ((await variant()) === 'baseline' ? true : undefined));
    writeConfigMapVolume(mountDir, 'ml');
    await until('variant ml', async () => ((await variant()) === 'ml' ? true : undefined));
    expect(child!.exitCode).toBeNull();
  }, 40_000);

  test('on SIGTERM the API drains and exits within the grace period left after preStop', async () => {
    const preStop = Number(container.lifecycle.preStop.exec.command[1]);
    const budgetMs = (deployment.spec.template.spec.terminationGracePeriodSeconds - preStop) * 1000;
    const t0 = Date.now();
    child!.kill('SIGTERM');
    const code = await exited;
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(budgetMs);
  }, 60_000);
});
