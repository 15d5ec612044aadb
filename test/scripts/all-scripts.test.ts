import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');

function shellScripts(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return shellScripts(rel);
    return e.name.endsWith('.sh') ? [rel] : [];
  });
}

const SCRIPTS = [...shellScripts('scripts'), '.ci/run'];

describe('every shell script', () => {
  it('passes shellcheck', () => {
    const probe = spawnSync('shellcheck', ['--version']);
    if (probe.error) throw new Error('shellcheck is not installed: apt-get install -y shellcheck');
    const r = spawnSync('shellcheck', ['-x', ...SCRIPTS], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.each(SCRIPTS.filter((s) => !s.startsWith('scripts/lib/')))('%s runs with set -euo pipefail', (script) => {
    expect(readFileSync(join(ROOT, script), 'utf8')).toMatch(/^set -euo pipefail$/m);
  });
});

describe('npm start (scripts/run-local.sh --dry-run)', () => {
  it('starts Kafka, creates topics, then the API and consumer before the producer', () => {
    const r = spawnSync('bash', ['scripts/run-local.sh', '--dry-run'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const cmds = r.stdout.split('\n').filter((l) => l.startsWith('+ '));
    const at = (re: RegExp) => cmds.findIndex((c) => re.test(c));
    const order = [/kafka-local\.sh start/, /create-topics\.ts/, /services\/api\/main\.ts/, /services\/consumer\/main\.ts/, /services\/producer\/main\.ts --rate natural/].map(at);
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('rejects a bad rate with a sentence', () => {
    const r = spawnSync('bash', ['scripts/run-local.sh', '--rate', 'fast'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('--rate needs "natural" or a positive whole number');
  });
});

describe('npm test (scripts/test.sh --dry-run)', () => {
  it('type-checks, provisions Kafka, runs jest, starts the node suite beside the serial suites, then the API-server suite', () => {
    const r = spawnSync('bash', ['scripts/test.sh', '--dry-run'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const cmds = r.stdout.split('\n').filter((l) => l.startsWith('+ '));
    const at = (re: RegExp) => cmds.findIndex((c) => re.test(c));
    const order = [/tsc -p tsconfig.json --noEmit/, /kafka-local\.sh start/, /jest --ci --testPathIgnorePatterns .*\/test\/node\//, /test-node\.sh/, /jest --ci --runInBand --testPathPatterns/, /test-k8s\.sh/].map(at);
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('leaves the running broker alone (the suite under way uses it)', () => {
    const status = () => spawnSync('bash', ['scripts/kafka-local.sh', 'status'], { cwd: ROOT }).status;
    const before = status();
    spawnSync('bash', ['scripts/test.sh', '--dry-run'], { cwd: ROOT });
    expect(status()).toBe(before);
  });
});
