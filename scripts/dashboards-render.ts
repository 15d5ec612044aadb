/**
 * `npm run dashboards:render`: renders the committed dashboards (the ConfigMaps of
 * manifests/30-monitoring.yaml) from live data. Every panel's queries run against a running
 * Prometheus over a recent range; Apache ECharts draws each panel server-side as SVG, and
 * Debian's headless Chromium turns each dashboard page into a PNG. Grafana itself is not
 * used (AGPL): this is a faithful preview of the panels' queries, titles, units and layout.
 *
 *   npm run dashboards:render -- [--prometheus http://127.0.0.1:9090] [--out .work/dashboards]
 *                                [--range 30m] [--check]
 *
 * --check exits 1 naming every panel whose queries returned no data.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as echarts from 'echarts';
import { parseAllDocuments } from 'yaml';

type Obj = Record<string, any>;
const ROOT = path.resolve(__dirname, '..');
const COLUMN = 56;
const ROW = 34;
const COLORS = ['#7eb26d', '#eab839', '#6ed0e0', '#ef843c', '#e24d42', '#1f78c1', '#ba43a9', '#705da0', '#508642', '#cca300'];

export interface PanelResult {
  readonly dashboard: string;
  readonly panel: string;
  readonly series: number;
}

interface Series {
  readonly name: string;
  readonly points: [number, number][];
}

/** The dashboards as committed: the JSON in the sidecar ConfigMaps of the synthesized manifests. */
export function committedDashboards(manifest = path.join(ROOT, 'manifests/30-monitoring.yaml')): Obj[] {
  return parseAllDocuments(fs.readFileSync(manifest, 'utf8'))
    .map((d) => d.toJS() as Obj)
    .filter((o) => o?.kind === 'ConfigMap' && o.metadata?.labels?.grafana_dashboard === '1')
    .flatMap((cm) => Object.values(cm.data as Record<string, string>).map((j) => JSON.parse(j) as Obj));
}

/** Grafana's interpolation of the dashboard's template variables at their defaults. */
function interpolate(expr: string, d: Obj, rateInterval: string): string {
  let out = expr.replace(/\$__rate_interval/g, rateInterval);
  for (const v of (d.templating?.list ?? []) as Obj[]) {
    const current = v.current?.value;
    const value = current === undefined || current === '$__all' || current === '' ? (v.allValue ?? '.*') : String(current);
    out = out.replace(new RegExp(`\\$${v.name}\\b`, 'g'), value);
  }
  return out;
}

function legend(format: string | undefined, metric: Record<string, string>): string {
  if (!format || format === '__auto') return Object.entries(metric).map(([k, v]) => `${k}=${v}`).join(', ') || 'value';
  return format.replace(/\{\{\s*(\w+)\s*\}\}/g, (_m, k: string) => metric[k] ?? '');
}

async function query(prom: string, expr: string, start: number, end: number, step: number, instant: boolean): Promise<{ metric: Record<string, string>; values: [number, string][] }[]> {
  const params = new URLSearchParams(instant ? { query: expr, time: String(end) } : { query: expr, start: String(start), end: String(end), step: String(step) });
  const res = await fetch(`${prom}/api/v1/${instant ? 'query' : 'query_range'}?${params}`, { signal: AbortSignal.timeout(30_000) });
  const body = (await res.json()) as { status: string; error?: string; data?: { result: Obj[] } };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
  return (body.data?.result ?? []).map((r) => ({ metric: r.metric, values: instant ? [r.value] : r.values }));
}

function formatter(unit: string | undefined): (v: number) => string {
  switch (unit) {
    case 'percentunit':
      return (v) => `${(v * 100).toPrecision(3)}%`;
    case 's':
      return (v) => (Math.abs(v) < 1 ? `${(v * 1000).toPrecision(3)} ms` : `${v.toPrecision(3)} s`);
    case 'bytes':
      return (v) => `${(v / 2 ** 20).toPrecision(3)} MiB`;
    case 'reqps':
      return (v) => `${v.toPrecision(3)} req/s`;
    case 'ops':
      return (v) => `${v.toPrecision(3)}/s`;
    default:
      return (v) => `${Number(v.toPrecision(4))}`;
  }
}

function svgPanel(p: Obj, series: Series[], width: number, height: number): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  const fmt = formatter(p.fieldConfig?.defaults?.unit);
  const thresholds = ((p.fieldConfig?.defaults?.thresholds?.steps ?? []) as Obj[]).filter((s) => typeof s.value === 'number');
  if (p.type === 'heatmap') {
    const les = [...new Set(series.map((s) => s.name))].sort((a, b) => (a === '+Inf' ? 1 : b === '+Inf' ? -1 : Number(a) - Number(b)));
    const times = [...new Set(series.flatMap((s) => s.points.map(([t]) => t)))].sort((a, b) => a - b);
    // Prometheus buckets are cumulative: each cell is its bucket minus the one below (as Grafana's heatmap format does).
    const at = new Map(series.map((s) => [s.name, new Map(s.points)]));
    const data = times.flatMap((t, ti) => les.map((le, li) => [ti, li, Math.max(0, (at.get(le)?.get(t) ?? 0) - (li > 0 ? (at.get(les[li - 1]!)?.get(t) ?? 0) : 0))]));
    const max = Math.max(1e-9, ...data.map((d) => d[2]!));
    chart.setOption({
      animation: false,
      backgroundColor: '#181b1f',
      textStyle: { color: '#ccccdc' },
      grid: { left: 50, right: 16, top: 16, bottom: 28 },
      xAxis: { type: 'category', data: times.map((t) => new Date(t * 1000).toISOString().slice(11, 16)), axisLabel: { color: '#ccccdc' } },
      yAxis: { type: 'category', data: les.map((l) => `≤${l}`), axisLabel: { color: '#ccccdc' } },
      visualMap: { show: false, min: 0, max, inRange: { color: ['#1f1d3a', '#3b4cc0', '#e8c33b', '#e24d42'] } },
      series: [{ type: 'heatmap', data }],
    });
  } else {
    chart.setOption({
      animation: false,
      backgroundColor: '#181b1f',
      color: COLORS,
      textStyle: { color: '#ccccdc' },
      legend: { type: 'plain', bottom: 0, textStyle: { color: '#ccccdc', fontSize: 10 }, itemHeight: 6 },
      grid: { left: 64, right: 16, top: 14, bottom: 24 + Math.min(4, Math.ceil(series.length / 3)) * 16 },
      xAxis: { type: 'time', axisLabel: { color: '#ccccdc' }, splitLine: { show: false } },
      yAxis: { type: 'value', axisLabel: { color: '#ccccdc', formatter: fmt }, splitLine: { lineStyle: { color: '#2c3235' } } },
      series: series.slice(0, 12).map((s, i) => ({
        name: s.name,
        type: 'line',
        showSymbol: false,
        lineStyle: { width: 1.5 },
        areaStyle: { opacity: 0.08 },
        data: s.points.map(([t, v]) => [t * 1000, v]),
        ...(i === 0 && thresholds.length ? { markLine: { symbol: 'none', silent: true, lineStyle: { color: '#e24d42', type: 'dashed' }, label: { color: '#e24d42', formatter: (x: Obj) => fmt(x.value) }, data: thresholds.map((t) => ({ yAxis: t.value })) } } : {}),
      })),
    });
  }
  const svg = chart.renderToSVGString();
  chart.dispose();
  return svg;
}

function htmlEscape(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

export async function renderDashboards(o: { prometheus: string; out: string; rangeSeconds: number; chromium: string }): Promise<PanelResult[]> {
  const end = Math.floor(Date.now() / 1000);
  const start = end - o.rangeSeconds;
  const step = Math.max(5, Math.floor(o.rangeSeconds / 180));
  const results: PanelResult[] = [];
  const out = path.resolve(o.out);
  fs.mkdirSync(out, { recursive: true });
  for (const d of committedDashboards()) {
    let y = 0;
    const blocks: string[] = [];
    for (const p of d.panels as Obj[]) {
      const g = p.gridPos ?? { x: 0, y, w: 24, h: 8 };
      const top = g.y * ROW;
      y = Math.max(y, g.y + g.h);
      if (p.type === 'row') {
        blocks.push(`<div class="row" style="top:${top}px">${htmlEscape(p.title)}</div>`);
        continue;
      }
      const width = g.w * COLUMN - 8;
      const height = g.h * ROW - 8;
      const series: Series[] = [];
      const rows: string[] = [];
      for (const t of (p.targets ?? []) as Obj[]) {
        const instant = Boolean(t.instant) || p.type === 'table' || p.type === 'stat';
        for (const r of await query(o.prometheus, interpolate(t.expr, d, '1m'), start, end, step, instant)) {
          const name = legend(t.legendFormat, r.metric);
          const points = r.values.map(([ts, v]) => [Number(ts), Number(v)] as [number, number]).filter(([, v]) => Number.isFinite(v));
          if (points.length) series.push({ name, points });
          if (p.type === 'table') rows.push(`<tr><td>${htmlEscape(Object.entries(r.metric).map(([k, v]) => `${k}=${v}`).join(' '))}</td><td>${htmlEscape(r.values[0]?.[1] ?? '')}</td></tr>`);
        }
      }
      results.push({ dashboard: d.uid, panel: p.title, series: series.length });
      const fmt = formatter(p.fieldConfig?.defaults?.unit);
      let body: string;
      if (p.type === 'table') body = `<table>${rows.join('') || '<tr><td>no firing alert</td></tr>'}</table>`;
      else if (p.type === 'stat') body = `<div class="stats">${series.map((s) => `<div class="stat"><b>${htmlEscape(fmt(s.points[s.points.length - 1]![1]))}</b><span>${htmlEscape(s.name)}</span></div>`).join('')}</div>`;
      else body = series.length ? svgPanel(p, series, width, height - 26) : '<div class="nodata">No data</div>';
      blocks.push(`<div class="panel" style="left:${g.x * COLUMN}px;top:${top}px;width:${width}px;height:${height}px"><h3>${htmlEscape(p.title)}</h3>${body}</div>`);
    }
    const pageHeight = y * ROW + 60;
    const html = `<!doctype html><html><head><meta charset="utf-8"><style>
      body{margin:0;background:#111217;font-family:Inter,Helvetica,Arial,sans-serif;color:#ccccdc}
      header{height:44px;line-height:44px;padding:0 12px;font-size:18px;border-bottom:1px solid #2c3235}
      main{position:relative;margin:8px}
      .panel{position:absolute;background:#181b1f;border:1px solid #2c3235;border-radius:3px;overflow:hidden}
      .panel h3{margin:0;padding:4px 8px;font-size:13px;font-weight:500;height:18px}
      .row{position:absolute;left:0;right:0;height:${ROW - 4}px;line-height:${ROW - 4}px;font-size:15px;font-weight:600;padding-left:4px}
      .nodata{color:#8e8e8e;text-align:center;margin-top:60px}.stats{display:flex;flex-wrap:wrap;gap:10px;padding:8px}
      .stat{min-width:180px}.stat b{display:block;font-size:30px;color:#73bf69}.stat span{font-size:11px}
      table{font-size:11px;margin:6px;border-collapse:collapse}td{border-bottom:1px solid #2c3235;padding:2px 6px}
    </style></head><body><header>${htmlEscape(d.title)} <small style="color:#8e8e8e;font-size:12px">last ${Math.round(o.rangeSeconds / 60)} min · ${new Date(end * 1000).toISOString().slice(0, 16)}Z · namespace=volwatch</small></header><main>${blocks.join('\n')}</main></body></html>`;
    const htmlFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'volwatch-dashboard-')), `${d.uid}.html`);
    fs.writeFileSync(htmlFile, html);
    const png = path.join(out, `${d.uid}.png`);
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'chromium-profile-'));
    const r = spawnSync(
      o.chromium,
      ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--hide-scrollbars', `--window-size=${24 * COLUMN + 16},${pageHeight}`, `--screenshot=${png}`, `file://${htmlFile}`],
      { encoding: 'utf8', timeout: 120_000 },
    );
    fs.rmSync(profile, { recursive: true, force: true });
    fs.rmSync(path.dirname(htmlFile), { recursive: true, force: true });
    if (r.status !== 0 || !fs.existsSync(png)) throw new Error(`chromium could not render ${htmlFile}: ${r.stderr.split('\n').filter((l) => !/dbus/.test(l)).join('\n')}${r.error?.message ?? ''}`);
    process.stdout.write(`rendered ${path.relative(process.cwd(), png)}\n`);
  }
  return results;
}

if (require.main === module) {
  const { values } = parseArgs({
    options: { prometheus: { type: 'string', default: 'http://127.0.0.1:9090' }, out: { type: 'string', default: '.work/dashboards' }, range: { type: 'string', default: '30m' }, check: { type: 'boolean', default: false } },
  });
  const m = /^(\d+)([mh])$/.exec(values.range!);
  const chromium = ['chromium', 'chromium-browser'].map((c) => spawnSync('sh', ['-c', `command -v ${c}`], { encoding: 'utf8' }).stdout.trim()).find(Boolean);
  if (!m || !chromium) {
    process.stderr.write(!m ? `dashboards:render: --range must look like 30m or 2h, got ${values.range}\n` : 'dashboards:render: chromium is not installed (Debian: apt-get install chromium)\n');
    process.exit(2);
  }
  renderDashboards({ prometheus: values.prometheus!, out: values.out!, rangeSeconds: Number(m[1]) * (m[2] === 'h' ? 3600 : 60), chromium }).then(
    (results) => {
      const empty = results.filter((r) => r.series === 0 && !/firing alerts/i.test(r.panel));
      for (const e of empty) process.stderr.write(`no data: ${e.dashboard} / ${e.panel}\n`);
      if (values.check && empty.length) process.exit(1);
    },
    (err: Error) => {
      process.stderr.write(`dashboards:render: ${err.message}\n`);
      process.exit(1);
    },
  );
}
