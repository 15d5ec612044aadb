import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { tickFromWire } from '../../services/core/ticks';
import { barePath, indexOf, ROOT, runScript, shellcheck } from './kind-support';

describe('scripts/cluster-smoke.sh', () => {
  test('passes shellcheck', () => {
    const r = shellcheck(['scripts/cluster-smoke.sh']);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  });

  test('--dry-run prints the checks in order: pods Ready, targets, rules, a prediction, the stream, then the down alert with port-forward.sh and the rollback under load meanwhile', () => {
    const r = runScript('scripts/cluster-smoke.sh', ['--dry-run']);
    expect(r.status).toBe(0);
    const c = r.commands;
    const k = 'kubectl --context kind-volwatch';
    const rollback = (to: string) => `${ROOT}/node_modules/.bin/tsx services/rollback/main.ts --to ${to} --context kind-volwatch --timeout 90`;
    const order = [
      indexOf(c, `${k} -n monitoring port-forward --address 127.0.0.1 svc/kube-prometheus-stack-prometheus 19090:9090`),
      indexOf(c, `${k} -n monitoring port-forward --address 127.0.0.1 svc/kube-prometheus-stack-alertmanager 18093:9093`),
      indexOf(c, `${k} -n volwatch port-forward --address 127.0.0.1 svc/volwatch-api 18080:8080`),
      indexOf(c, `${k} -n volwatch get pods -o json`),
      indexOf(c, "curl -fsS 'http://127.0.0.1:19090/api/v1/targets?state=active'"),
      indexOf(c, 'curl -fsS http://127.0.0.1:19090/api/v1/rules'),
      indexOf(c, "curl -sS -H 'content-type: application/json' --data-binary"),
      indexOf(c, `node -e '<150 one-second ticks as JSON lines>' | ${k} -n volwatch exec -i kafka-0 -- java -Xmx96m -cp '/opt/kafka/libs/*' org.apache.kafka.tools.ConsoleProducer`),
      c.length - 1 - [...c].reverse().findIndex((x) => x.includes('GetOffsetShell') && x.includes('--topic predictions')),
      // The producer as users run it in the cluster: its own SCRAM user, the label the broker admits.
      indexOf(c, `${k} -n volwatch run volwatch-producer-smoke --restart=Never`),
      indexOf(c, `${k} -n volwatch wait '--for=jsonpath={.status.phase}=Succeeded' pod/volwatch-producer-smoke`),
      indexOf(c, `${k} -n volwatch scale deployment/volwatch-consumer --replicas 0`),
      indexOf(c, 'bash ' + ROOT + '/scripts/port-forward.sh --context kind-volwatch --offset 50000 --only prometheus,alertmanager'),
      indexOf(c, `${k} -n volwatch-smoke run client --restart=Never`),
      indexOf(c, rollback('baseline')),
      indexOf(c, "curl -fsS 'http://127.0.0.1:18093/api/v2/alerts?filter=alertname=\"VolwatchConsumerDown\"&active=true'"),
      indexOf(c, `${k} -n volwatch scale deployment/volwatch-consumer --replicas 2`),
      indexOf(c, rollback('ml')),
    ];
    expect(order).toEqual([...order].sort((a, b) => a - b));
    // Jobs and rule groups come from the synthesized ServiceMonitors and PrometheusRules.
    expect(r.stdout).toMatch(/every job of volwatch-api volwatch-consumer( \S+)* must have a target with health "up"/);
    const groups = fs
      .readdirSync(path.join(ROOT, 'manifests'))
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .flatMap((f) => parseAllDocuments(fs.readFileSync(path.join(ROOT, 'manifests', f), 'utf8')).map((d) => d.toJS()))
      .filter((o) => o?.kind === 'PrometheusRule')
      .flatMap((o) => o.spec.groups.map((g: { name: string }) => g.name));
    expect(groups).toEqual(expect.arrayContaining(['volwatch-api.alerts', 'volwatch-consumer.alerts']));
    expect(r.stdout).toContain(`groups ${groups.join(' ')} must be loaded`);
    expect(r.stdout).toContain('the client summary must show 0 failed requests');
  });

  test('--kubeconfig and --context select the cluster for every kubectl and the rollback', () => {
    const r = runScript('scripts/cluster-smoke.sh', ['--dry-run', '--kubeconfig', '/tmp/kc', '--context', 'volwatch-node']);
    expect(r.status).toBe(0);
    const kubectl = r.commands.filter((c) => c.includes('kubectl '));
    expect(kubectl.length).toBeGreaterThan(5);
    for (const c of kubectl) expect(c).toContain('kubectl --kubeconfig /tmp/kc --context volwatch-node ');
    for (const c of r.commands.filter((x) => x.includes('services/rollback/main.ts'))) expect(c).toContain('--context volwatch-node --timeout 90 --kubeconfig /tmp/kc');
  });

  test('a bad --timeout and missing tools are clear errors', () => {
    const t = runScript('scripts/cluster-smoke.sh', ['--dry-run', '--timeout', 'soon']);
    expect(t.status).toBe(1);
    expect(t.stderr).toContain('--timeout must be a positive number of seconds, got soon');
    const r = runScript('scripts/cluster-smoke.sh', [], { ...process.env, PATH: barePath() });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error: missing required tools: kubectl curl node');
  });

  test('the ticks it writes to Kafka are valid, keyed by product and one second apart ending now', () => {
    const script = fs.readFileSync(path.join(ROOT, 'scripts/cluster-smoke.sh'), 'utf8');
    const js = /^\s*gen_ticks='([\s\S]*?)'$/m.exec(script)?.[1];
    expect(js).toBeDefined();
    const r = spawnSync('node', ['-e', js!], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(150);
    const ticks = lines.map((l) => {
      const [key, json] = [l.slice(0, l.indexOf('|')), l.slice(l.indexOf('|') + 1)];
      const tick = tickFromWire(JSON.parse(json));
      expect(key).toBe(tick.productId);
      return tick;
    });
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]!.timeMs - ticks[i - 1]!.timeMs).toBe(1000);
    expect(Date.now() - ticks[ticks.length - 1]!.timeMs).toBeLessThan(10_000);
  });
});
