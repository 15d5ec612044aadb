import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tickFromWire } from '../../services/core/ticks';
import { barePath, indexOf, ROOT, runScript, shellcheck } from './kind-support';

describe('scripts/cluster-smoke.sh', () => {
  test('passes shellcheck', () => {
    const r = shellcheck(['scripts/cluster-smoke.sh']);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  });

  test('--dry-run prints the four checks in order: targets up, rule groups loaded, a prediction, a tick flowing to a prediction', () => {
    const r = runScript('scripts/cluster-smoke.sh', ['--dry-run']);
    expect(r.status).toBe(0);
    const c = r.commands;
    const order = [
      indexOf(c, 'kubectl --context kind-volwatch -n monitoring port-forward --address 127.0.0.1 svc/kube-prometheus-stack-prometheus 19090:9090'),
      indexOf(c, 'kubectl --context kind-volwatch -n volwatch port-forward --address 127.0.0.1 svc/volwatch-api 18080:8080'),
      indexOf(c, "curl -fsS 'http://127.0.0.1:19090/api/v1/targets?state=active'"),
      indexOf(c, 'curl -fsS http://127.0.0.1:19090/api/v1/rules'),
      indexOf(c, "curl -sS -H 'content-type: application/json' --data-binary"),
      indexOf(c, "node -e '<150 one-second ticks as JSON lines>' | kubectl --context kind-volwatch -n volwatch exec -i kafka-0"),
      c.length - 1 - [...c].reverse().findIndex((x) => x.includes('kafka-get-offsets.sh') && x.includes('--topic predictions')),
    ];
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(r.stdout).toContain('every job of volwatch-api volwatch-consumer must have a target with health "up"');
    // The group names come from the synthesized PrometheusRules.
    expect(r.stdout).toContain('groups volwatch-api.rules volwatch-consumer.rules must be loaded');
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
    const js = /^gen_ticks='([\s\S]*?)'$/m.exec(script)?.[1];
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
