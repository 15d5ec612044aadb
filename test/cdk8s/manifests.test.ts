import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { APP_FILE, KAFKA_FILE, MONITORING_FILE, NAMESPACE_FILE, REPO_ROOT, synthesize, writeManifests } from '../../cdk8s/app';

const MANIFESTS = path.join(REPO_ROOT, 'manifests');
const TSX = path.join(REPO_ROOT, 'node_modules/.bin/tsx');

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'volwatch-manifests-'));
}

function validate(dir: string): { status: number | null; reports: { file: string; kind: string; name: string; schema: string; errors: string[] }[]; stderr: string } {
  const r = spawnSync(TSX, ['cdk8s/validate.ts', '--json', dir], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return { status: r.status, reports: line.startsWith('[') ? JSON.parse(line) : [], stderr: r.stderr };
}

describe('npm run synth output', () => {
  test('committed manifests/ are byte-identical to a fresh synth (run `npm run synth` when this fails)', () => {
    const fresh = synthesize();
    const committed = fs.readdirSync(MANIFESTS).filter((f) => f.endsWith('.yaml')).sort();
    expect(committed).toEqual([...fresh.files.keys()].sort());
    for (const [file, text] of fresh.files) {
      expect({ file, text: fs.readFileSync(path.join(MANIFESTS, file), 'utf8') }).toEqual({ file, text });
    }
  });

  test('two synths produce identical files in apply order, CRD-backed objects only in the last file', () => {
    const a = synthesize();
    const b = synthesize();
    expect([...a.files.entries()]).toEqual([...b.files.entries()]);
    expect([...a.files.keys()]).toEqual([NAMESPACE_FILE, KAFKA_FILE, APP_FILE, MONITORING_FILE]);
    for (const [file, objs] of a.objects) {
      const crdBacked = objs.filter((o) => String(o.apiVersion).startsWith('monitoring.coreos.com/'));
      if (file === MONITORING_FILE) expect(crdBacked.length).toBeGreaterThanOrEqual(4);
      else expect(crdBacked).toEqual([]);
    }
  });

  test('synth into a directory removes generated files it no longer produces and keeps others', () => {
    const dir = tmpdir();
    fs.writeFileSync(path.join(dir, '15-old-component.yaml'), 'stale');
    fs.writeFileSync(path.join(dir, 'README.md'), 'keep');
    const result = writeManifests(dir, synthesize({ kafkaBootstrapServers: 'kafka.example.com:9092' }));
    expect(result.removed).toEqual(['15-old-component.yaml']);
    expect(fs.readdirSync(dir).sort()).toEqual([NAMESPACE_FILE, APP_FILE, MONITORING_FILE, 'README.md'].sort());
  });

  test('the synth CLI rejects an unknown flag with a usage message and exit code 2', () => {
    const r = spawnSync(TSX, ['cdk8s/main.ts', '--outdir', tmpdir(), '--bogus'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/synth: .*bogus[\s\S]*usage: npm run synth/);
  });

  test('the synth CLI writes manifests for another image and rejects an untagged one', () => {
    const dir = tmpdir();
    const ok = spawnSync(TSX, ['cdk8s/main.ts', '--outdir', dir, '--image', 'registry.example/volwatch:1.2.3'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(fs.readFileSync(path.join(dir, APP_FILE), 'utf8').match(/image: registry\.example\/volwatch:1\.2\.3$/gm)).toHaveLength(2);
    const bad = spawnSync(TSX, ['cdk8s/main.ts', '--outdir', tmpdir(), '--image', 'registry.example/volwatch'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('has no tag: pin a version');
  });

  test('the synth CLI rejects a malformed --kafka-bootstrap with a fix-it message', () => {
    const r = spawnSync(TSX, ['cdk8s/main.ts', '--outdir', tmpdir(), '--kafka-bootstrap', 'kafka'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('must be host:port, e.g. kafka.example.com:9092');
  });
});

describe('schema validation', () => {
  test('every synthesized object validates: core kinds via kubernetes-models, monitoring.coreos.com via the v0.93 CRD schemas', () => {
    const dir = tmpdir();
    const result = synthesize();
    writeManifests(dir, result);
    const { status, reports, stderr } = validate(dir);
    expect(stderr).toBe('');
    const total = [...result.objects.values()].reduce((n, objs) => n + objs.length, 0);
    expect(reports).toHaveLength(total);
    expect(reports.filter((r) => r.errors.length > 0)).toEqual([]);
    expect(status).toBe(0);
    const bySchema = (s: string) => reports.filter((r) => r.schema === s).map((r) => r.kind).sort();
    expect(bySchema('monitoring.coreos.com_servicemonitors.yaml')).toEqual(['ServiceMonitor', 'ServiceMonitor', 'ServiceMonitor']);
    expect(bySchema('monitoring.coreos.com_prometheusrules.yaml')).toEqual(['PrometheusRule', 'PrometheusRule', 'PrometheusRule']);
    expect(new Set(bySchema('kubernetes-models'))).toEqual(
      new Set(['Namespace', 'ServiceAccount', 'Service', 'StatefulSet', 'PodDisruptionBudget', 'NetworkPolicy', 'Job', 'ConfigMap', 'Deployment', 'Role']),
    );
  });

  test('the validator rejects a wrongly typed core field and an unknown CRD field, naming object and path', () => {
    const dir = tmpdir();
    fs.writeFileSync(
      path.join(dir, '20-bad.yaml'),
      [
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: bad-api}\nspec:\n  replicas: two\n  selector: {matchLabels: {a: b}}\n  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: "x:1"}]}}',
        'apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: bad-sm}\nspec:\n  selector: {}\n  endpoints: [{port: metrics, scrapeEvery: 15s}]',
        'apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: bad-rule}\nspec:\n  groups: [{name: g, rules: [{alert: A}]}]',
      ].join('\n---\n'),
    );
    const { status, reports } = validate(dir);
    expect(status).toBe(1);
    const errorsOf = (name: string) => reports.find((r) => r.name === name)?.errors.join('; ') ?? '';
    expect(errorsOf('bad-api')).toContain('/spec/replicas must be integer');
    expect(errorsOf('bad-sm')).toContain('scrapeEvery');
    expect(errorsOf('bad-rule')).toMatch(/expr/);
  });
});
