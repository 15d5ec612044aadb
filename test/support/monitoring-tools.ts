import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

export type MonitoringTool = 'prometheus' | 'promtool' | 'alertmanager' | 'amtool' | 'sloth';

/**
 * Absolute path of a Go-module build of scripts/monitoring-tools.sh (Prometheus 3.14,
 * Alertmanager 0.34, Sloth 0.16). Builds it when it is not cached: on a cold machine
 * scripts/test.sh has started that build in the background, and this waits on its lock.
 * Call it from beforeAll with BUILD_TIMEOUT_MS.
 */
export function monitoringTool(tool: MonitoringTool): string {
  const r = spawnSync('bash', [path.join(ROOT, 'scripts/monitoring-tools.sh'), 'path', tool], { cwd: ROOT, encoding: 'utf8', timeout: BUILD_TIMEOUT_MS - 5_000 });
  if (r.status !== 0) throw new Error(`scripts/monitoring-tools.sh path ${tool} failed (status ${r.status}${r.error ? `, ${r.error.message}` : ''}):\n${r.stderr}`);
  return r.stdout.trim();
}

/** A cold build of Prometheus takes about 5 minutes on 2 cores, longer beside other builds. */
export const BUILD_TIMEOUT_MS = 25 * 60_000;
