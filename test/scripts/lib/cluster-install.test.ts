import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { ROOT } from '../kind-support';

/**
 * Runs a function of scripts/lib/cluster-install.sh against a kubectl that records each call's
 * arguments (what `ps` shows every user) and what it read on stdin, and finds no Secret.
 */
function withRecordingKubectl(fn: string): { status: number | null; stderr: string; argv: string[]; stdin: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'volwatch-kubectl-'));
  const kubectl = path.join(dir, 'kubectl');
  fs.writeFileSync(
    kubectl,
    `#!/usr/bin/env bash
printf '%s\\n' "$*" >>"${dir}/argv"
case " $* " in
  *" get secret "*) exit 1 ;;
  *" create -f - "* | *" apply -f - "*) { cat; printf '\\n---end---\\n'; } >>"${dir}/stdin" ;;
esac
exit 0
`,
    { mode: 0o755 },
  );
  const snippet = [
    'set -euo pipefail',
    `source ${JSON.stringify(path.join(ROOT, 'scripts/lib/common.sh'))}`,
    `source ${JSON.stringify(path.join(ROOT, 'scripts/lib/cluster-install.sh'))}`,
    'RELEASE_NAMESPACE=monitoring GRAFANA_ADMIN_SECRET=grafana-admin',
    `KUBECTL=(${JSON.stringify(kubectl)} --context test)`,
    fn,
  ].join('\n');
  const r = spawnSync('bash', ['-c', snippet], { encoding: 'utf8', env: { ...process.env, DRY_RUN: '0' } });
  const read = (f: string) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), 'utf8') : '');
  return { status: r.status, stderr: r.stderr, argv: read('argv').split('\n').filter(Boolean), stdin: read('stdin').split('\n---end---\n').filter((d) => d.trim() !== '') };
}

describe('scripts/lib/cluster-install.sh: passwords never on a command line', () => {
  test('install_grafana_secret sends a random 32-character admin password on stdin, never in kubectl arguments', () => {
    const r = withRecordingKubectl('install_grafana_secret');
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(r.stdin).toHaveLength(1);
    const secret = parse(r.stdin[0]!);
    expect(secret).toMatchObject({ kind: 'Secret', metadata: { name: 'grafana-admin', namespace: 'monitoring' }, stringData: { 'admin-user': 'admin' } });
    const password: string = secret.stringData['admin-password'];
    expect(password).toMatch(/^[A-Za-z0-9]{32}$/);
    for (const argv of r.argv) expect({ argv, hasPassword: argv.includes(password), literal: argv.includes('--from-literal') }).toEqual({ argv, hasPassword: false, literal: false });
    // Created, not applied: a client-side apply copies the whole input, password included, into
    // the kubectl.kubernetes.io/last-applied-configuration annotation that describe shows.
    expect(r.argv.filter((a) => a.includes('-f -'))).toEqual([expect.stringContaining(' create -f -')]);
    // A second install draws another password: nothing is fixed in the script.
    expect(parse(withRecordingKubectl('install_grafana_secret').stdin[0]!).stringData['admin-password']).not.toBe(password);
  });

  test('install_kafka_credentials sends one random password per SCRAM user on stdin, never in kubectl arguments', () => {
    const r = withRecordingKubectl('install_kafka_credentials');
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(r.stdin).toHaveLength(1);
    const secret = parse(r.stdin[0]!);
    expect(secret).toMatchObject({ kind: 'Secret', metadata: { name: 'kafka-credentials', namespace: 'volwatch' } });
    expect(Object.keys(secret.stringData).sort()).toEqual(['consumer', 'producer', 'topics']);
    const passwords = Object.values(secret.stringData) as string[];
    expect(new Set(passwords).size).toBe(3);
    expect(r.argv.filter((a) => a.includes('-f -'))).toEqual([expect.stringContaining(' create -f -')]);
    for (const p of passwords) {
      expect(p).toMatch(/^[A-Za-z0-9]{32}$/);
      for (const argv of r.argv) expect(argv.includes(p)).toBe(false);
    }
  });
});
