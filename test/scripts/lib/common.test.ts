import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, shellcheck } from '../kind-support';

const LIB = path.join(ROOT, 'scripts/lib/common.sh');

function bash(snippet: string, env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('bash', ['-c', `set -euo pipefail; source ${JSON.stringify(LIB)}; ${snippet}`], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('scripts/lib/common.sh', () => {
  test('passes shellcheck', () => {
    const r = shellcheck(['scripts/lib/common.sh']);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  });

  test('run prints a paste-able command in a dry run and runs it otherwise', () => {
    const dry = bash(`run printf '%s|' plain "two words" "it's" '--opt=a,b'`, { DRY_RUN: '1' });
    expect(dry.stdout).toBe(`+ printf '%s|' plain 'two words' 'it'\\''s' --opt=a,b\n`);
    const real = bash(`run printf '%s|' plain "two words"`, { DRY_RUN: '0' });
    expect(real.stdout).toBe('plain|two words|');
  });

  test('the dry-run quoting round-trips through the shell', () => {
    const args = ["it's", 'a b', '$HOME', 'x;y', '"q"'];
    const printed = bash(`run printf '%s\\n' ${args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')}`, { DRY_RUN: '1' }).stdout.slice(2);
    const replayed = spawnSync('bash', ['-c', printed], { encoding: 'utf8' }).stdout;
    expect(replayed.split('\n').slice(0, -1)).toEqual(args);
  });

  test('need_tools names every missing tool: fatal in a real run, a warning in a dry run', () => {
    const real = bash('need_tools bash no-such-tool-a no-such-tool-b; echo after', { DRY_RUN: '0' });
    expect(real.status).toBe(1);
    expect(real.stderr).toContain('error: missing required tools: no-such-tool-a no-such-tool-b');
    expect(real.stdout).toBe('');
    const dry = bash('need_tools bash no-such-tool-a; echo after', { DRY_RUN: '1' });
    expect(dry.status).toBe(0);
    expect(dry.stderr).toContain('warning: missing tools (needed for a real run): no-such-tool-a');
    expect(dry.stdout).toBe('after\n');
  });

  test('load_chart_env exposes the pinned chart version; default_image follows package.json', () => {
    const r = bash('load_chart_env; echo "$CHART_NAME $CHART_VERSION"; default_image');
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const [chart, image] = r.stdout.trim().split('\n');
    expect(chart).toMatch(/^kube-prometheus-stack 88\.\d+\.\d+$/);
    expect(image).toBe(`ghcr.io/volwatch/volwatch:${version}`);
  });

  test('parse_args: value flags, switch flags, --dry-run and --help, and a sentence for anything else', () => {
    const parse = (args: string) => bash(`usage() { echo "usage: x [--name N] [--fast]"; }; NAME=default; FAST=0; parse_args '--name=NAME --fast:FAST=1' ${args}; echo "$NAME $FAST $DRY_RUN"`, { DRY_RUN: '0' });
    expect(parse('').stdout).toBe('default 0 0\n');
    expect(parse("--name 'a b' --fast --dry-run").stdout).toBe('a b 1 1\n');
    const help = parse('--fast --help');
    expect(help).toMatchObject({ status: 0, stdout: 'usage: x [--name N] [--fast]\n' });
    const missing = parse('--name');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe('error: --name needs a value\n');
    for (const bad of ['--nam x', '--fast=1', 'extra']) {
      const r = parse(bad);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`usage: x [--name N] [--fast]\nerror: unknown argument: ${bad.split(' ')[0]}\n`);
    }
  });

  test('parse_args: @ARRAY collects positional arguments in order, flags anywhere', () => {
    const r = bash(`usage() { :; }; ARGS=(); parse_args '--fast:FAST=1 @ARGS' build --dry-run 'a b' --fast c; printf '%s|' "\${ARGS[@]}" "$FAST" "$DRY_RUN"`, { DRY_RUN: '0' });
    expect(r).toMatchObject({ status: 0, stdout: 'build|a b|c|1|1|' });
  });
});
