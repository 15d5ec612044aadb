import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FEATURE_NAMES } from '../../../services/core/features';
import { run } from '../../../services/drift-report/main';

const ROOT = resolve(__dirname, '../../..');
const FIX = join(__dirname, 'fixtures');

function cli(args: string[]): { code: number; out: string; err: string } {
  let out = '';
  let err = '';
  const code = run(args, (s) => (out += s), (s) => (err += s));
  return { code, out, err };
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'drift-cli-'));

describe('npm run drift-report', () => {
  test('writes report.html and report.json and prints the verdict (real process through npm)', () => {
    const out = tmp();
    const r = spawnSync('npm', ['run', '--silent', 'drift-report', '--', '--reference', join(FIX, 'reference.csv'), '--current', join(FIX, 'current.csv'), '--out', out], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr.replace(/^npm warn.*\n/gm, '')).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('No dataset drift: 2 of 9 features drifted');
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(json.dataset.drifted).toBe(2);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|<link|src=|href="http/); // self-contained
  });

  test('raw ticks as current input work end to end', () => {
    const out = tmp();
    const r = cli(['--reference', join(FIX, 'reference.csv'), '--current', join(FIX, 'current-ticks.jsonl'), `--out=${out}`]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')).current.input).toBe('ticks');
  });

  test('--fail-on-drift exits 3 when the dataset drifted', () => {
    const out = tmp();
    // Every feature scaled and shifted: all of them drift.
    const lines = readFileSync(join(FIX, 'current.csv'), 'utf8').trim().split('\n');
    const shifted = [lines[0], ...lines.slice(1).map((l) => l.split(',').map((x) => String(Number(x) * 3 + 1)).join(','))].join('\n');
    writeFileSync(join(out, 'shifted.csv'), shifted);
    const r = cli(['--reference', join(FIX, 'reference.csv'), '--current', join(out, 'shifted.csv'), '--out', out, '--fail-on-drift']);
    expect(r.out).toContain('Dataset drift detected');
    expect(r.code).toBe(3);
  });

  describe('bad input exits non-zero with a sentence', () => {
    test('missing current file', () => {
      const r = cli(['--reference', join(FIX, 'reference.csv'), '--current', '/nonexistent/cur.jsonl', '--out', tmp()]);
      expect(r.code).toBe(1);
      expect(r.err).toBe('drift-report: current file /nonexistent/cur.jsonl does not exist.\n');
    });

    test('missing reference', () => {
      const r = cli(['--reference', '/nonexistent/model', '--current', join(FIX, 'current.csv')]);
      expect(r.code).toBe(1);
      expect(r.err).toContain('reference /nonexistent/model does not exist');
    });

    test('wrong columns', () => {
      const dir = tmp();
      writeFileSync(join(dir, 'cur.csv'), 'a,b,c\n1,2,3\n');
      const r = cli(['--reference', join(FIX, 'reference.csv'), '--current', join(dir, 'cur.csv'), '--out', dir]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/current .*cur\.csv has the wrong columns: neither feature rows \(ret_1s, .*\) nor ticks \(product_id, .*\); missing/);
    });

    test('empty data: header only, and a blank JSONL file', () => {
      const dir = tmp();
      writeFileSync(join(dir, 'cur.csv'), FEATURE_NAMES.join(',') + '\n');
      writeFileSync(join(dir, 'cur.jsonl'), '\n\n');
      for (const f of ['cur.csv', 'cur.jsonl']) {
        const r = cli(['--reference', join(FIX, 'reference.csv'), '--current', join(dir, f), '--out', dir]);
        expect(r.code).toBe(1);
        expect(r.err).toMatch(/is empty: it has no data rows\.\n$/);
      }
    });

    test('a tick file too short to fill the feature window', () => {
      const dir = tmp();
      const ticks = readFileSync(join(FIX, 'current-ticks.jsonl'), 'utf8').split('\n').slice(0, 20).join('\n');
      writeFileSync(join(dir, 'ticks.jsonl'), ticks);
      const r = cli(['--reference', join(FIX, 'reference.csv'), '--current', join(dir, 'ticks.jsonl'), '--out', dir]);
      expect(r.code).toBe(1);
      expect(r.err).toContain('has 20 ticks but all fall in the first 60 s of their product');
    });

    test('an invalid tick names its line and field', () => {
      const dir = tmp();
      const lines = readFileSync(join(FIX, 'current-ticks.jsonl'), 'utf8').split('\n').slice(0, 3);
      lines[2] = lines[2]!.replace(/"price":[0-9.]+/, '"price":-1');
      writeFileSync(join(dir, 'ticks.jsonl'), lines.join('\n'));
      const r = cli(['--reference', join(FIX, 'reference.csv'), '--current', join(dir, 'ticks.jsonl'), '--out', dir]);
      expect(r.code).toBe(1);
      expect(r.err).toContain('line 3 is not a valid tick: price must be > 0, got -1');
    });

    test('a non-numeric feature value names its line and column', () => {
      const dir = tmp();
      writeFileSync(join(dir, 'cur.csv'), FEATURE_NAMES.join(',') + '\n' + FEATURE_NAMES.map((_, i) => (i === 3 ? 'abc' : '1')).join(',') + '\n');
      const r = cli(['--reference', join(FIX, 'reference.csv'), '--current', join(dir, 'cur.csv'), '--out', dir]);
      expect(r.code).toBe(1);
      expect(r.err).toContain('line 2: ret_60s is "abc", not a number');
    });

    test('a model trained before drift detection (no profile)', () => {
      const dir = tmp();
      writeFileSync(join(dir, 'metadata.json'), JSON.stringify({ name: 'old', version: '0.9.0', features: FEATURE_NAMES, featureStats: {} }));
      const r = cli(['--reference', dir, '--current', join(FIX, 'current.csv'), '--out', dir]);
      expect(r.code).toBe(1);
      expect(r.err).toContain('has no reference profile (it was trained before drift detection existed)');
      expect(existsSync(join(dir, 'report.html'))).toBe(false);
    });

    test('unknown file type', () => {
      const r = cli(['--reference', join(FIX, 'reference.csv'), '--current', join(FIX, 'make-fixtures.ts')]);
      expect(r.code).toBe(1);
      expect(r.err).toContain('cannot tell the format of');
    });
  });

  describe('bad usage exits 2 with the usage text', () => {
    test.each([
      [[], '--reference is required'],
      [['--reference', 'x'], '--current is required'],
      [['--reference', 'x', '--current'], '--current needs a value'],
      [['--reference', 'x', '--current', 'y', '--method', 'chi2'], '--method must be auto, ks, wasserstein or psi'],
      [['--bogus'], 'unknown argument "--bogus"'],
    ])('%j', (args, message) => {
      const r = cli(args as string[]);
      expect(r.code).toBe(2);
      expect(r.err).toContain(message);
      expect(r.err).toContain('usage: npm run drift-report');
    });
  });
});
