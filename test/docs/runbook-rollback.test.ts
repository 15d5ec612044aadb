import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROLLBACK_RULES, USAGE } from '../../services/rollback/options';

const ROOT = join(__dirname, '../..');
/** The lines from `heading` up to the next heading of the same or a higher level (outside code fences). */
const section = (file: string, heading: string): string => {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`${file} has no "${heading}" section`);
  const level = heading.indexOf(' ');
  let fenced = false;
  let end = start + 1;
  for (; end < lines.length; end++) {
    if (lines[end]!.startsWith('```')) fenced = !fenced;
    const m = /^(#+) /.exec(lines[end]!);
    if (!fenced && m && m[1]!.length <= level) break;
  }
  return lines.slice(start, end).join('\n');
};

describe('the rollback docs match the CLI', () => {
  const runbook = section('docs/runbook.md', '## Roll back the model');
  const deploy = section('docs/deploy.md', '### Roll back with the CLI');
  const options = [...USAGE.matchAll(/^\s+(--[a-z-]+)/gm)].map((m) => m[1]!);

  test.each([
    ['docs/runbook.md', runbook],
    ['docs/deploy.md', deploy],
  ])('%s names every option of --help and every exit code', (file, text) => {
    expect(options).toEqual(['--to', '--namespace', '--context', '--kubeconfig', '--configmap', '--timeout', '--dry-run']);
    for (const option of options) expect({ file, option, documented: text.includes(option) }).toEqual({ file, option, documented: true });
    for (const code of ['0', '1', '2', '3']) expect(text).toMatch(new RegExp(`\\b${code} (done|nothing changed|the cluster|bad arguments|\\*\\*the ConfigMap|patched)`));
    expect(text).toContain('npm run rollback -- --to baseline');
    expect(text).toContain('npm run rollback -- --to ml');
  });

  test('the runbook gives the kubectl equivalent and the pod-proxy checks on the shipped ports', () => {
    expect(runbook).toContain(`patch configmap volwatch-model-variant \\\n  --type merge -p '{"data":{"variant":"baseline"}}'`);
    // Both through ports the shipped NetworkPolicies open to the pod proxy, never the metrics port.
    expect(runbook).toContain(':8080/proxy/version');
    expect(runbook).not.toContain(':9465/proxy/version');
    expect(runbook).toContain("app.kubernetes.io/part-of=volwatch,app.kubernetes.io/component=api'");
    expect(runbook).toContain("app.kubernetes.io/part-of=volwatch,app.kubernetes.io/component=consumer'");
  });

  test.each([
    ['docs/runbook.md', runbook],
    ['docs/deploy.md', deploy],
  ])('%s names the Role volwatch-rollback, how to bind it, and every permission the CLI uses', (file, text) => {
    expect(text).toContain('kubectl -n volwatch create rolebinding volwatch-rollback --role volwatch-rollback');
    for (const r of ROLLBACK_RULES) {
      for (const verb of r.verbs) expect({ file, verb, resource: r.resource, documented: text.includes(`\`${verb}\``) && text.includes(`\`${r.resource}\``) }).toEqual({ file, verb, resource: r.resource, documented: true });
    }
  });
});
