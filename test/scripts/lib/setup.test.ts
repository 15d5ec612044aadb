import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, shellcheck } from '../kind-support';

// The set-up of `npm test` and `npm start` planned (--dry-run) for a fresh machine: a copy of
// the tracked scripts and package files without node_modules, an empty cache, and a PATH with
// only the basic utilities a Debian image has, so Node, npm, Java, Maven, Go and the Debian
// tools are all absent.
const PIN = fs.readFileSync(path.join(ROOT, '.node-version'), 'utf8').trim();
const NODE_PACKAGE = `node-linux-${process.arch === 'arm64' ? 'arm64' : 'x64'}`;
const BASICS = ['bash', 'env', 'dirname', 'cat', 'tr', 'sort', 'head', 'tail', 'uname', 'id', 'mktemp', 'sed', 'grep', 'mkdir', 'rm', 'nice', 'cp', 'cmp'];

let tree: string;
let bin: string;

beforeAll(() => {
  tree = fs.mkdtempSync(path.join(os.tmpdir(), 'volwatch-setup-'));
  const files = execFileSync('git', ['ls-files', '--', 'scripts', 'package.json', 'package-lock.json', '.npmrc', '.node-version'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(tree, f)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, f), path.join(tree, f));
  }
  bin = path.join(tree, '.bin');
  fs.mkdirSync(bin);
  for (const tool of BASICS) {
    const found = execFileSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
    fs.symlinkSync(found, path.join(bin, tool));
  }
  // apt-get is looked for, never run, in a dry run.
  fs.writeFileSync(path.join(bin, 'apt-get'), '#!/bin/sh\necho "apt-get must not run in a dry run" >&2\nexit 99\n', { mode: 0o755 });
});

afterAll(() => fs.rmSync(tree, { recursive: true, force: true }));

function plan(script: string, uid: number) {
  const home = path.join(tree, `.home-${uid}`);
  const r = spawnSync(path.join(bin, 'bash'), [path.join(tree, script), '--dry-run'], {
    cwd: tree,
    encoding: 'utf8',
    env: { PATH: bin, HOME: home, VOLWATCH_CACHE_DIR: path.join(home, 'cache'), VOLWATCH_SETUP_UID: String(uid) },
    timeout: 30_000,
  });
  const commands = r.stdout.split('\n').filter((l) => l.startsWith('+ ')).map((l) => l.slice(2));
  const at = (prefix: string) => {
    const i = commands.findIndex((c) => c.startsWith(prefix));
    if (i < 0) throw new Error(`no planned command starting with ${JSON.stringify(prefix)}:\n${commands.join('\n')}\n${r.stderr}`);
    return i;
  };
  return { ...r, commands, at };
}

const APT_INSTALL = 'env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends';

describe('scripts/lib/setup.sh', () => {
  test('passes shellcheck (with node-runtime.sh)', () => {
    const r = shellcheck(['scripts/lib/setup.sh', 'scripts/lib/node-runtime.sh']);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  });

  test('npm test as root on a bare machine: npm, the pinned Node, npm ci, Debian tools and the Kafka jars before the first test step', () => {
    const p = plan('scripts/test.sh', 0);
    expect(p.status).toBe(0);
    const order = [
      p.at('env DEBIAN_FRONTEND=noninteractive apt-get update'),
      p.at(`${APT_INSTALL} npm`),
      p.at(`npm pack ${NODE_PACKAGE}@${PIN}`),
      p.at('npm ci'),
      p.at(`${APT_INSTALL} shellcheck openssl curl`),
      p.at('bash scripts/kafka-local.sh fetch'),
      p.at(`${APT_INSTALL} runc iptables conntrack mmdebstrap`),
      p.at('nice -n 19 bash scripts/node-build.sh all'),
      p.at('npx tsc'),
      p.at('bash scripts/check-lock.sh'),
      p.at('bash scripts/kafka-local.sh start'),
      p.at('npx jest'),
    ];
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const tools = p.commands[p.at(`${APT_INSTALL} shellcheck openssl curl`)] ?? "";
    for (const pkg of ['chromium', 'default-jre-headless', 'maven']) expect(tools.split(' ')).toContain(pkg);
    // Prometheus, Alertmanager and their tools are Go-module builds at the chart's versions, never Debian's.
    for (const pkg of ['prometheus', 'prometheus-alertmanager']) expect(tools.split(' ')).not.toContain(pkg);
    expect(p.at('nice -n 19 bash scripts/monitoring-tools.sh build')).toBeGreaterThan(p.at('npm ci'));
    // apt-get update once, however many groups of packages are installed.
    expect(p.commands.filter((c) => c.includes('apt-get update'))).toHaveLength(1);
    // Go cannot come from Debian at the version the builds need: the plan says how to get it
    // (unless it is in Go's default place, /usr/local/go, which the set-up looks in too).
    if (fs.existsSync('/usr/local/go/bin/go')) expect(p.stderr).toMatch(/setup: have go version go1\./);
    else expect(p.stderr).toMatch(/would stop: go is missing; install Go .*https:\/\/go\.dev\/dl\//);
  });

  test('npm test as a plain user: stops with the exact apt-get command instead of installing', () => {
    const p = plan('scripts/test.sh', 1000);
    expect(p.status).toBe(0);
    expect(p.commands.some((c) => c.includes('apt-get'))).toBe(false);
    expect(p.stderr).toContain('would stop: missing npm; install with: sudo apt-get install -y -qq --no-install-recommends npm');
    expect(p.stderr).toMatch(/would stop: missing shellcheck openssl curl .*java mvn; install with: sudo apt-get install .* default-jre-headless maven/);
  });

  test('npm start on a bare machine: Node, npm ci, Java and Maven, the Kafka jars and Go before the services, Prometheus from its Go build', () => {
    const p = plan('scripts/run-local.sh', 0);
    expect(p.status).toBe(0);
    const order = [
      p.at(`npm pack ${NODE_PACKAGE}@${PIN}`),
      p.at('npm ci'),
      p.at(`${APT_INSTALL} default-jre-headless maven`),
      p.at('bash scripts/kafka-local.sh fetch'),
      p.at('bash scripts/kafka-local.sh start'),
      p.at('node --import tsx services/api/main.ts'),
    ];
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(p.commands.some((c) => c.includes('scripts/monitoring-tools.sh path prometheus'))).toBe(true);
    if (fs.existsSync('/usr/local/go/bin/go')) expect(p.stderr).toMatch(/setup: have go version go1\./);
    else expect(p.stderr).toMatch(/would stop: go is missing; install Go .*https:\/\/go\.dev\/dl\//);
    const user = plan('scripts/run-local.sh', 1000);
    expect(user.stderr).toContain('would stop: missing java mvn; install with: sudo apt-get install -y -qq --no-install-recommends default-jre-headless maven');
  });

  test('with everything present the set-up installs nothing', () => {
    const r = spawnSync('bash', ['scripts/run-local.sh', '--dry-run'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH}` } });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`setup: have Node ${process.versions.node}`);
    expect(r.stdout).not.toMatch(/apt-get|npm pack/);
  });
});
