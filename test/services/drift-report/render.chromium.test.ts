import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FEATURE_NAMES } from '../../../services/core/features';
import { readFeatureData, readReference } from '../../../services/drift-report/input';
import { renderHtml } from '../../../services/drift-report/render';
import { buildReport } from '../../../services/drift-report/report';

/**
 * Renders the report in headless Chromium (Debian package `chromium`) and checks
 * what a reader sees: the verdict, one SVG plot per feature with bars, and a
 * full-size screenshot. CI must install chromium; without it this test fails.
 */
const FIX = join(__dirname, 'fixtures');
const CHROMIUM = ['chromium', 'chromium-browser', 'google-chrome'].find((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);

function chromium(args: string[]): { stdout: string; stderr: string; status: number | null } {
  const profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
  try {
    const r = spawnSync(
      CHROMIUM!,
      ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, ...args],
      { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
    );
    return { stdout: r.stdout, stderr: r.stderr, status: r.status };
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

describe('drift report rendered in headless Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drift-render-'));
  const htmlPath = join(dir, 'report.html');
  writeFileSync(htmlPath, renderHtml(buildReport(readReference(join(FIX, 'reference.csv')), readFeatureData(join(FIX, 'current.csv'), 'current'))));

  test('chromium is installed (apt-get install -y chromium)', () => {
    if (!CHROMIUM) throw new Error('headless Chromium is required for the report rendering test: install the Debian package with `apt-get install -y chromium`');
  });

  test('the rendered DOM has the verdict, the summary table and a bar chart per feature', () => {
    if (!CHROMIUM) throw new Error('chromium is missing (apt-get install -y chromium)');
    const r = chromium(['--dump-dom', `file://${htmlPath}`]);
    expect(r.status).toBe(0);
    const dom = r.stdout;
    expect(dom).toMatch(/<div id="verdict" class="verdict ok" data-dataset-drift="false">No dataset drift: 2 of 9 features drifted \(share 0\.222, threshold 0\.5\)<\/div>/);
    for (const f of FEATURE_NAMES) {
      const svg = new RegExp(`<svg class="dist" data-feature="${f}"[^>]*>([\\s\\S]*?)</svg>`).exec(dom);
      expect([f, svg !== null]).toEqual([f, true]);
      const bars = svg![1]!.match(/<rect class="bar (ref|cur)"/g) ?? [];
      expect([f, bars.length >= 10]).toEqual([f, true]);
      expect(dom).toContain(`<tr class="${f === 'spread_bps' || f === 'log_volume_30s' ? 'drift' : 'ok'}" data-feature="${f}">`);
    }
  });

  test('a 1200x2000 screenshot is produced and is not blank', () => {
    if (!CHROMIUM) throw new Error('chromium is missing (apt-get install -y chromium)');
    const png = join(dir, 'report.png');
    const r = chromium([`--screenshot=${png}`, '--window-size=1200,2000', '--hide-scrollbars', `file://${htmlPath}`]);
    expect(r.status).toBe(0);
    const buf = readFileSync(png);
    expect(buf.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect([buf.readUInt32BE(16), buf.readUInt32BE(20)]).toEqual([1200, 2000]);
    // A white page compresses to a few KB; text, tables and 9 charts do not.
    expect(buf.length).toBeGreaterThan(50_000);
  });
});
