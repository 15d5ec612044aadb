import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUILD_TIMEOUT_MS, monitoringTool } from '../support/monitoring-tools';
import { ROOT, shellcheck } from './kind-support';

const SCRIPT = path.join(ROOT, 'scripts/monitoring-tools.sh');
const run = (args: string[], env: NodeJS.ProcessEnv = process.env) => spawnSync('bash', [SCRIPT, ...args], { cwd: ROOT, encoding: 'utf8', env });

describe('scripts/monitoring-tools.sh', () => {
  test('passes shellcheck', () => {
    const r = shellcheck(['scripts/monitoring-tools.sh']);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  });

  test('--dry-run build prints the module-proxy builds of Prometheus 3.14, Alertmanager 0.34 and Sloth 0.16 into the gobuild cache', () => {
    const cache = path.join(os.tmpdir(), 'volwatch-empty-cache');
    const r = run(['--dry-run', 'build'], { ...process.env, VOLWATCH_CACHE_DIR: cache });
    expect(r.status).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('+ '));
    expect(lines).toEqual([
      '+ go get github.com/prometheus/prometheus@v0.314.0',
      `+ go build -trimpath -o ${cache}/go-build/prometheus-v0.314.0/bin/promtool github.com/prometheus/prometheus/cmd/promtool`,
      `+ go build -trimpath -o ${cache}/go-build/prometheus-v0.314.0/bin/prometheus github.com/prometheus/prometheus/cmd/prometheus`,
      '+ go get github.com/prometheus/alertmanager@v0.34.0',
      '+ alertmanager_placeholder_ui MODULE_DIR',
      `+ go build -trimpath -o ${cache}/go-build/alertmanager-v0.34.0/bin/alertmanager github.com/prometheus/alertmanager/cmd/alertmanager`,
      `+ go build -trimpath -o ${cache}/go-build/alertmanager-v0.34.0/bin/amtool github.com/prometheus/alertmanager/cmd/amtool`,
      '+ go get github.com/slok/sloth@v0.16.0',
      `+ go build -trimpath -o ${cache}/go-build/sloth-v0.16.0/bin/sloth github.com/slok/sloth/cmd/sloth`,
    ]);
  });

  test('rejects an unknown component or tool with a sentence', () => {
    const a = run(['build', 'grafana']);
    expect(a.status).toBe(1);
    expect(a.stderr).toContain("unknown component 'grafana': expected prometheus, alertmanager or sloth");
    const b = run(['path', 'kubectl']);
    expect(b.status).toBe(1);
    expect(b.stderr).toContain("unknown tool 'kubectl'");
    const c = run([]);
    expect(c.status).toBe(1);
    expect(c.stderr).toContain('missing command');
  });

  describe('the built binaries report the pinned versions', () => {
    const versions: Record<string, string> = {};
    beforeAll(() => {
      for (const [tool, args] of [
        ['promtool', ['--version']],
        ['prometheus', ['--version']],
        ['amtool', ['--version']],
        ['alertmanager', ['--version']],
        ['sloth', ['version']],
      ] as const) {
        const r = spawnSync(monitoringTool(tool), [...args], { encoding: 'utf8' });
        versions[tool] = `${r.stdout}${r.stderr}`;
      }
    }, BUILD_TIMEOUT_MS);

    test.each([
      ['promtool', /promtool, version 3\.14\.0/],
      ['prometheus', /prometheus, version 3\.14\.0/],
      ['amtool', /amtool, version 0\.34\.0/],
      ['alertmanager', /alertmanager, version 0\.34\.0/],
      ['sloth', /v0\.16\.0/],
    ])('%s', (tool, re) => {
      expect(versions[tool]).toMatch(re);
    });
  });
});
