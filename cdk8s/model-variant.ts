import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { check } from './common';
import { ROLLBACK_ROLE, ROLLBACK_RULES } from '../services/rollback/options';
import { componentLabels } from './labels';

export type ModelVariant = 'ml' | 'baseline';

export interface ModelVariantConfigProps {
  readonly namespace: string;
  readonly instance: string;
  readonly version: string;
  /** Variant the services serve; a rollback edits the live ConfigMap, see docs/deploy.md. @default 'ml' */
  readonly variant?: ModelVariant;
  /**
   * Ship the Role `volwatch-rollback`: exactly what `npm run rollback` needs in the namespace
   * (get/patch on this ConfigMap only, list on pods, get on pods/proxy). It is bound to nobody;
   * bind it to whoever rolls back (docs/deploy.md). @default true
   */
  readonly rollbackRole?: boolean;
}

/**
 * The `volwatch-model-variant` ConfigMap. Services mount it as a directory
 * (never subPath, which the kubelet does not refresh) and poll the file, so
 * editing it switches the variant without a restart.
 */
export class ModelVariantConfig extends Construct {
  static readonly NAME = 'volwatch-model-variant';
  static readonly KEY = 'variant';
  static readonly MOUNT_DIR = '/etc/volwatch/model';
  static readonly ROLLBACK_ROLE = ROLLBACK_ROLE;
  readonly name = ModelVariantConfig.NAME;
  readonly variant: ModelVariant;

  constructor(scope: Construct, id: string, props: ModelVariantConfigProps) {
    super(scope, id);
    this.variant = props.variant ?? 'ml';
    check(
      this.variant === 'ml' || this.variant === 'baseline',
      `ModelVariantConfig: variant ${JSON.stringify(this.variant)} is not supported: use "ml" or "baseline"`,
    );
    new k8s.KubeConfigMap(this, 'cm', {
      metadata: {
        name: this.name,
        namespace: props.namespace,
        labels: { ...componentLabels({ name: 'volwatch', component: 'model-config', instance: props.instance, version: props.version }).labels },
      },
      data: { [ModelVariantConfig.KEY]: this.variant },
    });
    if (props.rollbackRole ?? true) {
      new k8s.KubeRole(this, 'rollback-role', {
        metadata: {
          name: ModelVariantConfig.ROLLBACK_ROLE,
          namespace: props.namespace,
          labels: { ...componentLabels({ name: 'volwatch', component: 'model-config', instance: props.instance, version: props.version }).labels },
        },
        rules: ROLLBACK_RULES.map((r) => ({
          apiGroups: [''],
          resources: [r.resource],
          ...(r.configMapOnly ? { resourceNames: [this.name] } : {}),
          verbs: [...r.verbs],
        })),
      });
    }
  }

  /** Path of the variant file inside a container that mounts {@link volume}. */
  get filePath(): string {
    return `${ModelVariantConfig.MOUNT_DIR}/${ModelVariantConfig.KEY}`;
  }

  volume(volumeName: string): k8s.Volume {
    return { name: volumeName, configMap: { name: this.name, items: [{ key: ModelVariantConfig.KEY, path: ModelVariantConfig.KEY }] } };
  }
}
