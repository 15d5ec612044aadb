import { barePath, runScript, shellcheck } from './kind-support';

describe('scripts/kind-down.sh', () => {
  test('passes shellcheck', () => {
    const r = shellcheck(['scripts/kind-down.sh']);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  });

  test('--dry-run prints the cluster deletion', () => {
    expect(runScript('scripts/kind-down.sh', ['--dry-run']).commands).toEqual(['kind delete cluster --name volwatch']);
    expect(runScript('scripts/kind-down.sh', ['--dry-run', '--name', 'other']).commands).toEqual(['kind delete cluster --name other']);
  });

  test('without kind a real run fails naming it', () => {
    const r = runScript('scripts/kind-down.sh', [], { ...process.env, PATH: barePath() });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('error: missing required tools: kind');
  });
});
