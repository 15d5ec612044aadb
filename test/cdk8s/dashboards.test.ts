import { parser } from '@prometheus-io/lezer-promql';
import type { Registry } from 'prom-client';
import { synthesize } from '../../cdk8s/app';
import { API_DRIFT_METRICS, CONSUMER_DRIFT_METRICS } from '../../cdk8s/alerts';
import { DASHBOARD_UIDS } from '../../cdk8s/dashboards';
import { BROKER_METRICS } from '../../cdk8s/kafka-metrics';
import { DASHBOARD_LABEL, DATASOURCE_UID } from '../../cdk8s/service-monitoring';
import { createApiMetrics } from '../../services/api/metrics';
import { createConsumerMetrics } from '../../services/consumer/metrics';
import { BUILD_TIMEOUT_MS, monitoringTool } from '../support/monitoring-tools';
import { allRules, promtoolCheckRules } from './promtool';

type Obj = Record<string, any>;
const objects = [...synthesize().objects.values()].flat();
const configMaps = objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.labels?.[DASHBOARD_LABEL] === '1');
const dashboards: Obj[] = configMaps.flatMap((cm) => Object.values(cm.data as Record<string, string>).map((j) => JSON.parse(j) as Obj));
const panels = (d: Obj): Obj[] => (d.panels as Obj[]).flatMap((p) => [p, ...((p.panels as Obj[]) ?? [])]);
const queries = dashboards.flatMap((d) => panels(d).flatMap((p) => ((p.targets as Obj[]) ?? []).map((t) => ({ dashboard: d.uid as string, panel: p.title as string, expr: t.expr as string }))));

/** The template variables as one value each, as Grafana would interpolate them. */
function concrete(expr: string): string {
  return expr.replace(/\$namespace/g, 'volwatch').replace(/\$job/g, 'volwatch-api').replace(/\$pod/g, '.*').replace(/\$__rate_interval/g, '1m');
}

function metricNames(expr: string): string[] {
  const names: string[] = [];
  const c = parser.parse(expr).cursor();
  do {
    if (c.name === 'VectorSelector') {
      const id = c.node.getChild('Identifier');
      if (id) names.push(expr.slice(id.from, id.to));
    }
  } while (c.next());
  return names;
}

async function exposed(registry: Registry): Promise<string[]> {
  return (await registry.getMetricsAsJSON()).flatMap((m) => (m.type === ('histogram' as never) ? [`${m.name}_bucket`, `${m.name}_count`, `${m.name}_sum`] : [m.name]));
}

let promtool = '';
beforeAll(() => {
  promtool = monitoringTool('promtool');
}, BUILD_TIMEOUT_MS);

describe('dashboards (grafana-foundation-sdk)', () => {
  test('Overview, Model, Consumer and broker, and SLOs ship as sidecar ConfigMaps on the Prometheus datasource uid', () => {
    expect(dashboards.map((d) => d.uid).sort()).toEqual(Object.values(DASHBOARD_UIDS).sort());
    for (const d of dashboards) {
      const sources = new Set<string>();
      JSON.stringify(d, (k, v) => {
        if (k === 'datasource' && v && typeof v === 'object') sources.add(JSON.stringify(v));
        return v;
      });
      expect({ uid: d.uid, sources: [...sources] }).toEqual({ uid: d.uid, sources: [JSON.stringify({ type: 'prometheus', uid: DATASOURCE_UID })] });
      expect(panels(d).filter((p) => p.type !== 'row').length).toBeGreaterThanOrEqual(4);
    }
  });

  test('the service dashboards have namespace, job and pod variables and every query filters on them', () => {
    for (const d of dashboards) {
      const names = (d.templating.list as Obj[]).map((v) => v.name);
      expect({ uid: d.uid, names }).toEqual({ uid: d.uid, names: d.uid === DASHBOARD_UIDS.slo ? ['namespace', 'job'] : ['namespace', 'job', 'pod'] });
    }
    for (const q of queries) expect({ ...q, namespaced: q.expr.includes('namespace="$namespace"') }).toEqual({ ...q, namespaced: true });
  });

  test('every query parses with the Prometheus 3.14 parser (promtool check rules)', () => {
    expect(queries.length).toBeGreaterThan(30);
    const groups = [{ name: 'dashboards', rules: queries.map((q, i) => ({ record: `dashboard:query_${i}:check`, expr: concrete(q.expr) })) }];
    const r = promtoolCheckRules(promtool, groups);
    expect(r).toEqual({ status: 0, out: expect.stringContaining('SUCCESS') });
    // And the check can fail:
    expect(promtoolCheckRules(promtool, [{ name: 'x', rules: [{ record: 'x:y:z', expr: 'sum(rate(up[5m]) by' }] }]).status).not.toBe(0);
  });

  test('every query reads only metrics the services, the broker exporter, Prometheus or our rules produce', async () => {
    const known = new Set([
      ...(await exposed(createApiMetrics(true, undefined).registry)),
      ...(await exposed(createConsumerMetrics('volwatch-consumer').registry)),
      ...Object.values(API_DRIFT_METRICS),
      ...Object.values(CONSUMER_DRIFT_METRICS),
      ...Object.values(BROKER_METRICS),
      ...allRules(objects.filter((o) => o.kind === 'PrometheusRule').map((o) => o.spec.groups)).flatMap((r) => (r.record ? [r.record] : [])),
      'up',
      'ALERTS',
    ]);
    const unknown = queries.flatMap((q) => metricNames(q.expr).filter((m) => !known.has(m)).map((m) => `${q.dashboard} / ${q.panel}: ${m}`));
    expect(unknown).toEqual([]);
    expect(metricNames('rate(no_such_metric{a="b"}[5m]) / up')).toEqual(['no_such_metric', 'up']);
  });
});
