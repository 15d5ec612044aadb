import * as fs from 'node:fs';
import * as path from 'node:path';
import { chartEnv, ROOT, runScript } from '../scripts/kind-support';

const doc = fs.readFileSync(path.join(ROOT, 'docs/deploy.md'), 'utf8');
const scripts = ['scripts/kind-up.sh', 'scripts/kind-down.sh', 'scripts/port-forward.sh', 'scripts/cluster-smoke.sh'];

describe('docs/deploy.md matches the scripts', () => {
  test.each(scripts)('%s: the doc names it and every option its --help lists', (script) => {
    expect(doc).toContain(script);
    const help = runScript(script, ['--help']);
    expect(help.status).toBe(0);
    const options = [...help.stdout.matchAll(/^\s+(--[a-z-]+)/gm)].map((m) => m[1]!);
    expect(options.length).toBeGreaterThan(0);
    for (const o of options) expect({ script, option: o, documented: doc.includes(o) }).toEqual({ script, option: o, documented: true });
  });

  test('the forwarded URLs in the doc are the ones port-forward.sh opens', () => {
    const forwards = runScript('scripts/port-forward.sh', ['--dry-run']).commands.map((c) => /(\S+) (\d+):\d+ &$/.exec(c)!);
    expect(forwards).toHaveLength(4);
    for (const [, target, local] of forwards) {
      expect(doc).toContain(`http://127.0.0.1:${local}`);
      expect(doc).toContain(`\`${target}\``);
    }
  });

  test('the manifest files, commands and names the doc cites exist', () => {
    for (const f of ['00-namespace.yaml', '10-kafka.yaml', '20-volwatch.yaml', '30-monitoring.yaml']) {
      expect(doc).toContain(f);
      expect(fs.existsSync(path.join(ROOT, 'manifests', f))).toBe(true);
    }
    expect(doc).toContain(`get secret ${chartEnv().GRAFANA_ADMIN_SECRET}`);
    expect(doc).toContain('patch configmap volwatch-model-variant');
    expect(doc).toContain('npm run synth -- --kafka-bootstrap');
    const dry = runScript('scripts/kind-up.sh', ['--dry-run']).stdout;
    expect(dry).toContain(`get secret ${chartEnv().GRAFANA_ADMIN_SECRET} -o jsonpath='{.data.admin-password}' | base64 -d`);
  });
});
