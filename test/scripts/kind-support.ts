import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../..');

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The printed commands, without the `+ ` prefix. */
  readonly commands: string[];
}

export function runScript(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Run {
  const r = spawnSync('bash', [path.join(ROOT, script), ...args], { cwd: ROOT, encoding: 'utf8', env, timeout: 30_000 });
  const commands = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('+ '))
    .map((l) => l.slice(2));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, commands };
}

/** Index of the first command starting with `prefix`; fails the test when absent. */
export function indexOf(commands: string[], prefix: string): number {
  const i = commands.findIndex((c) => c.startsWith(prefix));
  if (i < 0) throw new Error(`no command starting with ${JSON.stringify(prefix)} in:\n${commands.join('\n')}`);
  return i;
}

export function chartEnv(): Record<string, string> {
  return Object.fromEntries(
    fs
      .readFileSync(path.join(ROOT, 'charts/kube-prometheus-stack/chart.env'), 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

/**
 * A PATH holding only the basic tools the scripts need, so kind/helm/kubectl/docker
 * are missing even on machines that have them.
 */
export function barePath(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'volwatch-bin-'));
  for (const tool of ['bash', 'dirname', 'sed', 'head', 'grep', 'cat', 'mktemp', 'rm', 'cut', 'tr', 'awk', 'sleep']) {
    const found = ['/usr/bin', '/bin', '/usr/local/bin'].map((d) => path.join(d, tool)).find((p) => fs.existsSync(p));
    if (found) fs.symlinkSync(found, path.join(dir, tool));
  }
  return dir;
}

export function shellcheck(files: string[]): { status: number | null; out: string } {
  const probe = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
  if (probe.error) throw new Error('shellcheck is not installed: install the Debian package "shellcheck" (apt-get install -y shellcheck)');
  const r = spawnSync('shellcheck', ['-x', ...files], { cwd: ROOT, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}
