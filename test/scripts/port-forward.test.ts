import { barePath, chartEnv, runScript, shellcheck } from './kind-support';

describe('scripts/port-forward.sh', () => {
  test('passes shellcheck', () => {
    const r = shellcheck(['scripts/port-forward.sh']);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  });

  test('--dry-run prints forwards for Prometheus 9090, Grafana 3000, Alertmanager 9093 and the API 8080 on 127.0.0.1', () => {
    const release = chartEnv().RELEASE_NAME;
    const r = runScript('scripts/port-forward.sh', ['--dry-run']);
    expect(r.status).toBe(0);
    const pf = (ns: string, target: string, ports: string) => `kubectl --context kind-volwatch -n ${ns} port-forward --address 127.0.0.1 ${target} ${ports} &`;
    expect(r.commands).toEqual([
      pf('monitoring', `svc/${release}-prometheus`, '9090:9090'),
      pf('monitoring', `svc/${release}-grafana`, '3000:80'),
      pf('monitoring', `svc/${release}-alertmanager`, '9093:9093'),
      pf('volwatch', 'svc/volwatch-api', '8080:8080'),
    ]);
  });

  test('without kubectl a real run fails naming it', () => {
    const r = runScript('scripts/port-forward.sh', [], { ...process.env, PATH: barePath() });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error: missing required tools: kubectl');
  });
});
