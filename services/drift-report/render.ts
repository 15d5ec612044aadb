import type { DriftReport, FeatureReport } from './report';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function fmt(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined) return '–';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a < 1e-3 || a >= 1e5) return x.toExponential(2);
  return Number(x.toPrecision(digits)).toString();
}

const METHOD_LABEL: Record<string, string> = { ks: 'KS p-value', wasserstein: 'Wasserstein (normed)', psi: 'PSI', z: 'z-test p-value', chisquare: 'chi-square p-value', jensenshannon: 'Jensen–Shannon' };
/** How the score is compared with the threshold (drift on that side). */
const METHOD_SIDE: Record<string, string> = { ks: '≤', z: '<', chisquare: '<' };

function decisionText(f: FeatureReport): string {
  if (f.status === 'no_reference') return 'no reference';
  if (f.status === 'too_few') return `too few values (${f.currentCount})`;
  if (f.status === 'warming_up') return `window warming up (${f.currentCount} values)`;
  return f.detected ? 'drift' : 'no drift';
}

const W = 520;
const H = 200;
const PAD = { l: 44, r: 12, t: 12, b: 34 };

/** Reference vs current shares per PSI bin, as grouped bars. */
function plot(f: FeatureReport): string {
  const h = f.histogram;
  const label = `${f.feature}: reference vs current distribution`;
  if (!h) {
    return `<svg class="dist empty" data-feature="${esc(f.feature)}" width="${W}" height="60" viewBox="0 0 ${W} 60" role="img" aria-label="${esc(label)}"><title>${esc(label)}</title><text x="${W / 2}" y="34" text-anchor="middle" class="note">${esc(decisionText(f))}: nothing to plot</text></svg>`;
  }
  const n = h.reference.length;
  const maxShare = Math.max(...h.reference, ...h.current, 1e-9);
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const slot = iw / n;
  const bw = Math.max(1, slot * 0.42);
  const y = (s: number): number => PAD.t + ih - (s / maxShare) * ih;
  const parts: string[] = [];
  parts.push(`<line class="axis" x1="${PAD.l}" y1="${PAD.t + ih}" x2="${W - PAD.r}" y2="${PAD.t + ih}"/>`);
  parts.push(`<line class="axis" x1="${PAD.l}" y1="${PAD.t}" x2="${PAD.l}" y2="${PAD.t + ih}"/>`);
  parts.push(`<text class="tick" x="${PAD.l - 4}" y="${PAD.t + 4}" text-anchor="end">${(maxShare * 100).toFixed(0)}%</text>`);
  parts.push(`<text class="tick" x="${PAD.l - 4}" y="${PAD.t + ih}" text-anchor="end">0</text>`);
  for (let i = 0; i < n; i++) {
    const x0 = PAD.l + i * slot + slot * 0.08;
    const rs = h.reference[i]!;
    const cs = h.current[i]!;
    const bin = h.binning === 'values' ? `value ${fmt(h.edges[i]!, 6)}` : `[${fmt(h.edges[i]!, 6)}, ${fmt(h.edges[i + 1]!, 6)}${i === n - 1 ? ']' : ')'}`;
    parts.push(`<rect class="bar ref" x="${x0.toFixed(2)}" y="${y(rs).toFixed(2)}" width="${bw.toFixed(2)}" height="${(PAD.t + ih - y(rs)).toFixed(2)}"><title>reference ${esc(bin)}: ${(rs * 100).toFixed(2)}%</title></rect>`);
    parts.push(`<rect class="bar cur" x="${(x0 + bw).toFixed(2)}" y="${y(cs).toFixed(2)}" width="${bw.toFixed(2)}" height="${(PAD.t + ih - y(cs)).toFixed(2)}"><title>current ${esc(bin)}: ${(cs * 100).toFixed(2)}%</title></rect>`);
    if (h.binning === 'values' && n <= 20) {
      parts.push(`<text class="tick" x="${(PAD.l + (i + 0.5) * slot).toFixed(2)}" y="${PAD.t + ih + 14}" text-anchor="middle">${esc(fmt(h.edges[i]!, 4))}</text>`);
    }
  }
  if (h.binning === 'histogram') {
    parts.push(`<text class="tick" x="${PAD.l}" y="${PAD.t + ih + 14}" text-anchor="start">${esc(fmt(h.edges[0]!, 4))}</text>`);
    parts.push(`<text class="tick" x="${W - PAD.r}" y="${PAD.t + ih + 14}" text-anchor="end">${esc(fmt(h.edges[n]!, 4))}</text>`);
  }
  const ly = H - 6;
  parts.push(`<rect class="bar ref" x="${PAD.l}" y="${ly - 9}" width="10" height="10"/><text class="legend" x="${PAD.l + 14}" y="${ly}">reference</text>`);
  parts.push(`<rect class="bar cur" x="${PAD.l + 100}" y="${ly - 9}" width="10" height="10"/><text class="legend" x="${PAD.l + 114}" y="${ly}">current</text>`);
  parts.push(`<text class="legend" x="${W - PAD.r}" y="${ly}" text-anchor="end">${n} ${h.binning === 'values' ? 'values' : 'equal-width bins (PSI binning)'}</text>`);
  return `<svg class="dist" data-feature="${esc(f.feature)}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(label)}"><title>${esc(label)}</title>${parts.join('')}</svg>`;
}

function row(f: FeatureReport): string {
  const cls = f.status !== 'ok' ? 'na' : f.detected ? 'drift' : 'ok';
  return `<tr class="${cls}" data-feature="${esc(f.feature)}">
<td><a href="#f-${esc(f.feature)}">${esc(f.feature)}</a></td>
<td>${f.method ? esc(METHOD_LABEL[f.method] ?? f.method) : '–'}</td>
<td class="num">${fmt(f.score)}</td>
<td class="num">${f.threshold === null ? '–' : `${METHOD_SIDE[f.method ?? ''] ?? '≥'} ${fmt(f.threshold)}`}</td>
<td class="flag">${esc(decisionText(f))}</td>
<td class="num">${fmt(f.psi)}${f.psiLevel && f.psiLevel !== 'none' ? ` <span class="lvl ${f.psiLevel}">${f.psiLevel}</span>` : ''}</td>
<td class="num">${fmt(f.ksStatistic)} / ${fmt(f.ksPValue)}</td>
<td class="num">${fmt(f.wasserstein)}</td>
<td class="num">${f.currentCount}</td>
</tr>`;
}

function card(f: FeatureReport): string {
  const cls = f.status !== 'ok' ? 'na' : f.detected ? 'drift' : 'ok';
  const s = (label: string, r: { count: number; mean: number | null; std: number | null; min: number | null; max: number | null }): string =>
    `<tr><th>${label}</th><td>${r.count}</td><td>${fmt(r.mean)}</td><td>${fmt(r.std)}</td><td>${fmt(r.min)}</td><td>${fmt(r.max)}</td></tr>`;
  return `<section class="feature ${cls}" id="f-${esc(f.feature)}" data-feature="${esc(f.feature)}" data-drift="${f.detected}">
<h3>${esc(f.feature)} <span class="badge ${cls}">${esc(decisionText(f))}</span></h3>
${plot(f)}
<table class="stats"><tr><th></th><th>n</th><th>mean</th><th>std</th><th>min</th><th>max</th></tr>${s('reference', f.reference)}${s('current', f.current)}</table>
</section>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1d2330;background:#fff}
h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:28px 0 8px}h3{font-size:15px;margin:0 0 6px}
.verdict{padding:12px 16px;border-radius:6px;font-size:16px;font-weight:600;margin:12px 0}
.verdict.drift{background:#fdecea;color:#8a1c12;border:1px solid #f5b7b1}.verdict.ok{background:#e8f6ee;color:#145a32;border:1px solid #a9dfbf}
.meta{color:#4a5365}.meta code{background:#f3f4f6;padding:1px 4px;border-radius:3px}
table{border-collapse:collapse}table.summary td,table.summary th{padding:4px 10px;border-bottom:1px solid #e5e7eb;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.drift td.flag{color:#b42318;font-weight:600}tr.ok td.flag{color:#1e7b45}tr.na td{color:#8a93a5}
.lvl{font-size:11px;padding:0 4px;border-radius:3px}.lvl.moderate{background:#fff4d6}.lvl.major{background:#fdecea;color:#8a1c12}
.grid{display:flex;flex-wrap:wrap;gap:16px}.feature{border:1px solid #e5e7eb;border-radius:6px;padding:10px 12px}
.feature.drift{border-color:#f5b7b1}.badge{font-size:12px;padding:1px 6px;border-radius:10px;font-weight:500}
.badge.drift{background:#fdecea;color:#8a1c12}.badge.ok{background:#e8f6ee;color:#145a32}.badge.na{background:#f3f4f6;color:#4a5365}
.bar.ref{fill:#4c78a8}.bar.cur{fill:#f58518;fill-opacity:.85}.axis{stroke:#9aa3b2}.tick,.legend,.note{font-size:11px;fill:#4a5365}
table.stats td,table.stats th{padding:1px 8px;font-size:12px;text-align:right}table.stats th:first-child{text-align:left}
footer{margin-top:28px;color:#4a5365;font-size:12px}
`;

export function verdictText(r: DriftReport): string {
  const d = r.dataset;
  if (d.evaluated === 0) return 'No verdict: no feature had enough values to be scored';
  const share = `${d.drifted} of ${d.evaluated} features drifted (share ${fmt(d.share, 3)}, threshold ${fmt(d.threshold)})`;
  return d.datasetDrift ? `Dataset drift detected: ${share}` : `No dataset drift: ${share}`;
}

/** One self-contained HTML page: inline CSS and SVG, no scripts, no external resources. */
export function renderHtml(r: DriftReport): string {
  const ref = r.reference.model ? `model ${r.reference.model.name}@${r.reference.model.version} (${r.reference.rows} training rows)` : `${r.reference.kind} ${r.reference.source} (${r.reference.rows} rows)`;
  const cur = `${r.current.source}: ${r.current.rows} feature rows${r.current.input === 'ticks' ? ` from ${r.current.ticks} ticks (${r.current.warmupTicks} warm-up ticks skipped)` : ''}`;
  const t = r.options.thresholds;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>volwatch data drift report</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${CSS}</style></head>
<body>
<h1>volwatch data drift report</h1>
<div id="verdict" class="verdict ${r.dataset.datasetDrift ? 'drift' : 'ok'}" data-dataset-drift="${r.dataset.datasetDrift}">${esc(verdictText(r))}</div>
<p class="meta">Reference: <code>${esc(ref)}</code><br>Current: <code>${esc(cur)}</code><br>
Method: <code>${esc(r.options.method)}</code> (auto = KS when the reference has ≤ ${t.smallReferenceRows} rows, normalized Wasserstein above; for features with at most 5 distinct values z-test (2 values) or chi-square, and Jensen–Shannon above ${t.smallReferenceRows} rows) ·
thresholds: KS p ≤ ${t.ksPValue}, Wasserstein ≥ ${t.wasserstein}, z / chi-square p &lt; ${t.categoricalPValue}, Jensen–Shannon ≥ ${t.jensenShannon}, PSI ≥ ${t.psi} (levels: ≥ ${t.psiModerate} moderate, ≥ ${t.psiMajor} major), dataset drift at share ≥ ${t.datasetShare}</p>
<h2>Features</h2>
<table class="summary"><thead><tr><th>feature</th><th>method</th><th>score</th><th>threshold</th><th>decision</th><th>PSI</th><th>KS D / p</th><th>Wasserstein (normed)</th><th>current n</th></tr></thead>
<tbody>${r.features.map(row).join('\n')}</tbody></table>
<h2>Distributions</h2>
<div class="grid">${r.features.map(card).join('\n')}</div>
<footer>Bars are shares of each sample per PSI bin (Evidently binning: equal-width bins over the combined range, or one bin per value when the reference has ≤ 20 distinct values). See docs/drift.md for how to read this report and what to do on drift.</footer>
</body></html>
`;
}
