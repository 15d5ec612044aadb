import { apiAlertGroups, brokerAlertGroups, consumerAlertGroups, type AlertThresholds, type BrokerTargets } from './alerts';
import { volwatchDashboards, type DashboardTargets } from './dashboards';
import type { Dashboard, RuleGroup } from './service-monitoring';
import { sloRuleGroups, type SloTargets } from './slo';

/**
 * What each component's PrometheusRule and dashboards hold: Sloth's SLO rules (generated,
 * cdk8s/generated/slo-rules.yaml), the symptom alerts (cdk8s/alerts.ts) and the dashboards.
 * Metric names come from the services' own constants so a rename cannot silently break
 * an alert.
 */
export interface MonitoringContentProps {
  /** Jobs and namespace of both services (the SLO rules are generated for both at once). */
  readonly targets: SloTargets;
  readonly thresholds: AlertThresholds;
}

export function apiRuleGroups(p: MonitoringContentProps): RuleGroup[] {
  return [...sloRuleGroups(p.targets, 'api', p.thresholds.runbookBaseUrl), ...apiAlertGroups(p.targets, p.thresholds)];
}

export function consumerRuleGroups(p: MonitoringContentProps): RuleGroup[] {
  return [...sloRuleGroups(p.targets, 'consumer', p.thresholds.runbookBaseUrl), ...consumerAlertGroups(p.targets, p.thresholds)];
}

export function brokerRuleGroups(b: BrokerTargets, thresholds: AlertThresholds): RuleGroup[] {
  return brokerAlertGroups(b, thresholds);
}

/** Overview, model and SLO dashboards go with the API; the consumer-and-broker one with the consumer. */
export function apiDashboards(t: DashboardTargets): Dashboard[] {
  const d = volwatchDashboards(t);
  return [d.overview, d.model, d.slo];
}

export function consumerDashboards(t: DashboardTargets): Dashboard[] {
  return [volwatchDashboards(t).consumer];
}
