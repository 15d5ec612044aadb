import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { checkDnsLabel } from './common';
import { PART_OF, MANAGED_BY } from './labels';

export interface VolwatchNamespaceProps {
  /** @default 'volwatch' */
  readonly name?: string;
}

/**
 * The namespace, with Pod Security Standards `restricted` enforced (and audited/warned) by label,
 * and a default-deny NetworkPolicy: a pod talks to nothing and nothing talks to it unless its
 * component's own policy says so.
 */
export class VolwatchNamespace extends Construct {
  readonly name: string;

  constructor(scope: Construct, id: string, props: VolwatchNamespaceProps = {}) {
    super(scope, id);
    this.name = props.name ?? 'volwatch';
    checkDnsLabel('VolwatchNamespace', 'name', this.name);
    new k8s.KubeNamespace(this, 'ns', {
      metadata: {
        name: this.name,
        labels: {
          'app.kubernetes.io/part-of': PART_OF,
          'app.kubernetes.io/managed-by': MANAGED_BY,
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'latest',
          'pod-security.kubernetes.io/audit': 'restricted',
          'pod-security.kubernetes.io/warn': 'restricted',
        },
      },
    });
    new k8s.KubeNetworkPolicy(this, 'default-deny', {
      metadata: { name: 'default-deny', namespace: this.name, labels: { 'app.kubernetes.io/part-of': PART_OF, 'app.kubernetes.io/managed-by': MANAGED_BY } },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
  }
}
