import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// .node-version is the one place the Node version is pinned; everything else reads it or agrees with it.
const ROOT = path.resolve(__dirname, '..');
const PIN = fs.readFileSync(path.join(ROOT, '.node-version'), 'utf8').trim();
const MAJOR = Number(PIN.split('.')[0]);
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));

describe('.node-version', () => {
  test('pins an exact release of an even (LTS) major line', () => {
    expect(PIN).toMatch(/^\d+\.\d+\.\d+$/);
    expect(MAJOR % 2).toBe(0);
  });

  test('the tests run on it (npm test puts it first on PATH; jest workers and spawned children inherit it)', () => {
    const rank = (v: string) => v.split('.').reduce((acc, part) => acc * 1000 + Number(part), 0);
    expect(rank(process.versions.node)).toBeGreaterThanOrEqual(rank(PIN));
    const child = spawnSync('node', ['-p', 'process.versions.node'], { encoding: 'utf8' });
    expect(child.stdout.trim()).toBe(process.versions.node);
  });

  test('package.json engines and @types/node agree with it', () => {
    expect(pkg.engines.node).toBe(`>=${PIN}`);
    expect(pkg.devDependencies['@types/node']).toMatch(new RegExp(`^\\^${MAJOR}\\.`));
    expect(lock.packages['node_modules/@types/node'].version).toMatch(new RegExp(`^${MAJOR}\\.`));
  });

  test('the GitHub workflow reads it', () => {
    for (const f of fs.readdirSync(path.join(ROOT, '.github/workflows'))) {
      const wf = fs.readFileSync(path.join(ROOT, '.github/workflows', f), 'utf8');
      if (!wf.includes('actions/setup-node')) continue;
      expect(wf).toContain('node-version-file: .node-version');
      expect(wf).not.toMatch(/node-version: /);
      expect(wf).toContain('npm ci');
    }
  });
});

describe('scripts/lib/node-runtime.sh', () => {
  const lib = path.join(ROOT, 'scripts/lib/node-runtime.sh');
  const common = path.join(ROOT, 'scripts/lib/common.sh');
  function use(env: NodeJS.ProcessEnv) {
    return spawnSync('bash', ['-c', `set -euo pipefail; source ${JSON.stringify(common)}; source ${JSON.stringify(lib)}; node_runtime_use; command -v node; echo "\${NODE:-}"`], { encoding: 'utf8', env: { ...process.env, ...env } });
  }

  test('with an older node first on PATH it switches to the cached pinned runtime and exports NODE for npm scripts', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'volwatch-node-'));
    try {
      const old = path.join(dir, 'old');
      fs.mkdirSync(old);
      fs.writeFileSync(path.join(old, 'node'), '#!/bin/sh\necho 20.20.2\n', { mode: 0o755 });
      const cached = path.join(dir, 'cache/node', PIN, 'bin');
      fs.mkdirSync(cached, { recursive: true });
      fs.symlinkSync(process.execPath, path.join(cached, 'node'));
      const r = use({ PATH: `${old}:${process.env.PATH}`, VOLWATCH_CACHE_DIR: path.join(dir, 'cache') });
      expect(r.stderr).toBe('');
      expect(r.stdout.split('\n').slice(0, 2)).toEqual([path.join(cached, 'node'), path.join(cached, 'node')]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a node at least as new as the pin is used as it is', () => {
    // A stand-in that reports the pin, so the test holds whichever node runs jest, and an empty
    // cache of its own: nothing may be fetched into it.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'volwatch-node-'));
    try {
      const current = path.join(dir, 'current');
      fs.mkdirSync(current);
      fs.writeFileSync(path.join(current, 'node'), `#!/bin/sh\necho ${PIN}\n`, { mode: 0o755 });
      const r = use({ PATH: `${current}:${process.env.PATH}`, VOLWATCH_CACHE_DIR: path.join(dir, 'cache') });
      expect(r.status).toBe(0);
      expect(r.stdout.split('\n')[0]).toBe(path.join(current, 'node'));
      expect(fs.existsSync(path.join(dir, 'cache'))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
