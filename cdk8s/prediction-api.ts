import { Construct } from 'constructs';
import { API_DEFAULTS } from '../services/api/config';
import { k8s } from 'cdk8s-plus-28';
import { namespaceSelector } from './common';
import { componentLabels, type ComponentLabels } from './labels';
import { modelDeploymentSpec, type ModelServiceProps } from './workload';

export interface PredictionApiProps extends ModelServiceProps {
  /** @default '100m' */
  readonly cpuRequest?: string;
  /** Whole CPUs in it bound the onnxruntime threads. @default '1' */
  readonly cpuLimit?: string;
  /** @default '192Mi' */
  readonly memoryRequest?: string;
  /** @default '512Mi' */
  readonly memoryLimit?: string;
  /** @default 8080 */
  readonly httpPort?: number;
  /** @default 9464 */
  readonly metricsPort?: number;
  /** Graceful drain budget passed as SHUTDOWN_TIMEOUT_MS. @default 15000 */
  readonly shutdownTimeoutMs?: number;
  /** Max concurrent requests before the API sheds load (MAX_IN_FLIGHT). @default 128 */
  readonly maxInFlight?: number;
  /** @default 250 */
  readonly inferenceTimeoutMs?: number;
}

/** The prediction API: ServiceAccount, Deployment, Service, PodDisruptionBudget, NetworkPolicy. */
export class PredictionApi extends Construct {
  static readonly NAME = 'volwatch-api';
  readonly name = PredictionApi.NAME;
  readonly namespace: string;
  readonly labels: ComponentLabels;
  readonly httpPort: number;
  readonly metricsPort: number;
  readonly metricsPortName = 'metrics';
  readonly metricsPath = '/metrics';

  constructor(scope: Construct, id: string, props: PredictionApiProps) {
    super(scope, id);
    this.namespace = props.namespace;
    this.httpPort = props.httpPort ?? API_DEFAULTS.port;
    this.metricsPort = props.metricsPort ?? API_DEFAULTS.metricsPort;
    this.labels = componentLabels({ name: this.name, component: 'api', instance: props.instance, version: props.version });
    const metadata = { name: this.name, namespace: this.namespace, labels: { ...this.labels.labels } };

    new k8s.KubeServiceAccount(this, 'sa', { metadata, automountServiceAccountToken: false });

    new k8s.KubeDeployment(this, 'deployment', {
      metadata,
      spec: modelDeploymentSpec({
        owner: 'PredictionApi',
        props,
        defaults: { cpuRequest: '100m', cpuLimit: '1', memoryRequest: '192Mi', memoryLimit: '512Mi' },
        selector: this.labels.selector,
        labels: this.labels.labels,
        serviceAccountName: this.name,
        containerName: 'api',
        command: ['node', 'dist/services/api/main.js'],
        env: {
          PORT: String(this.httpPort),
          METRICS_PORT: String(this.metricsPort),
          METRICS_ENABLED: 'true',
          INFERENCE_TIMEOUT_MS: String(props.inferenceTimeoutMs ?? API_DEFAULTS.inferenceTimeoutMs),
          MAX_IN_FLIGHT: String(props.maxInFlight ?? API_DEFAULTS.maxInFlight),
        },
        ports: [
          { name: 'http', containerPort: this.httpPort, protocol: 'TCP' },
          { name: this.metricsPortName, containerPort: this.metricsPort, protocol: 'TCP' },
        ],
        livenessPath: '/health',
        readinessPath: '/ready',
        probePort: 'http',
        shutdownTimeoutMs: props.shutdownTimeoutMs ?? API_DEFAULTS.shutdownTimeoutMs,
      }),
    });

    new k8s.KubeService(this, 'service', {
      metadata: {
        ...metadata,
        annotations: {
          'prometheus.io/scrape': 'true',
          'prometheus.io/port': String(this.metricsPort),
          'prometheus.io/path': this.metricsPath,
        },
      },
      spec: {
        type: 'ClusterIP',
        selector: { ...this.labels.selector },
        ports: [
          { name: 'http', port: this.httpPort, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP' },
          { name: this.metricsPortName, port: this.metricsPort, targetPort: k8s.IntOrString.fromString(this.metricsPortName), protocol: 'TCP' },
        ],
      },
    });

    new k8s.KubePodDisruptionBudget(this, 'pdb', {
      metadata,
      // Keep one replica serving during voluntary disruptions; a single replica must not block node drains.
      spec: {
        ...((props.replicas ?? 2) > 1 ? { minAvailable: k8s.IntOrString.fromNumber(1) } : { maxUnavailable: k8s.IntOrString.fromNumber(1) }),
        selector: { matchLabels: { ...this.labels.selector } },
      },
    });

    new k8s.KubeNetworkPolicy(this, 'netpol', {
      metadata,
      spec: {
        podSelector: { matchLabels: { ...this.labels.selector } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [
          { ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(this.httpPort) }] },
          {
            from: [{ namespaceSelector: namespaceSelector(props.monitoringNamespace ?? 'monitoring') }],
            ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(this.metricsPort) }],
          },
        ],
        // Egress listed with no rules denies all egress: the API calls nothing (model in the
        // image, variant file mounted). `egress: []` would be stored as absent and make every
        // server-side re-apply a change.
      },
    });
  }

  /** In-cluster base URL. */
  get url(): string {
    return `http://${this.name}.${this.namespace}.svc:${this.httpPort}`;
  }
}
