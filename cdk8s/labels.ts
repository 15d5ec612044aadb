/**
 * The one place that decides the `app.kubernetes.io/*` labels of every object.
 * Selector labels are the common labels minus `version`: a selector must not
 * change when the image version does (Deployment selectors are immutable).
 */
export const PART_OF = 'volwatch';
export const MANAGED_BY = 'cdk8s';

export type Component = 'api' | 'consumer' | 'producer' | 'broker' | 'topics' | 'monitoring' | 'model-config' | 'namespace';

export interface LabelProps {
  /** `app.kubernetes.io/name`, e.g. `volwatch-api`. */
  readonly name: string;
  /** `app.kubernetes.io/component`. */
  readonly component: Component;
  /** `app.kubernetes.io/instance`. */
  readonly instance: string;
  /** `app.kubernetes.io/version`. */
  readonly version: string;
}

export interface ComponentLabels {
  /** Every object of the component carries these. */
  readonly labels: Readonly<Record<string, string>>;
  /** Selectors (Deployment, Service, PDB, NetworkPolicy, ServiceMonitor) use these. */
  readonly selector: Readonly<Record<string, string>>;
}

export function componentLabels(p: LabelProps): ComponentLabels {
  const selector = {
    'app.kubernetes.io/name': p.name,
    'app.kubernetes.io/instance': p.instance,
    'app.kubernetes.io/component': p.component,
    'app.kubernetes.io/part-of': PART_OF,
    'app.kubernetes.io/managed-by': MANAGED_BY,
  };
  return { labels: { ...selector, 'app.kubernetes.io/version': p.version }, selector };
}
