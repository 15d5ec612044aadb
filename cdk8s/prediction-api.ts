import type { Construct } from 'constructs';
import { API_DEFAULTS } from '../services/api/config';
import { k8s } from 'cdk8s-plus-28';
import { ModelService, modelWorkload, type ModelServiceProps } from './workload';

export interface PredictionApiProps extends ModelServiceProps {
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
export class PredictionApi extends ModelService {
  static readonly NAME = 'volwatch-api';
  readonly httpPort: number;

  constructor(scope: Construct, id: string, props: PredictionApiProps) {
    super(scope, id, PredictionApi.NAME, 'api', props, props.metricsPort ?? API_DEFAULTS.metricsPort);
    this.httpPort = props.httpPort ?? API_DEFAULTS.port;
    const replicas = props.replicas ?? 2;

    modelWorkload(this, {
      pod: {
        owner: 'PredictionApi',
        props,
        containerName: 'api',
        command: ['node', 'dist/services/api/main.js'],
        env: {
          PORT: String(this.httpPort),
          METRICS_PORT: String(this.metricsPort),
          METRICS_ENABLED: 'true',
          INFERENCE_TIMEOUT_MS: String(props.inferenceTimeoutMs ?? API_DEFAULTS.inferenceTimeoutMs),
          MAX_IN_FLIGHT: String(props.maxInFlight ?? API_DEFAULTS.maxInFlight),
        },
        livenessPath: '/health',
        readinessPath: '/ready',
        probePort: 'http',
        shutdownTimeoutMs: props.shutdownTimeoutMs ?? API_DEFAULTS.shutdownTimeoutMs,
      },
      ports: [
        { name: 'http', port: this.httpPort },
        { name: this.metricsPortName, port: this.metricsPort },
      ],
      // Keep one replica serving during voluntary disruptions; a single replica must not block node drains.
      disruptionBudget: replicas > 1 ? { minAvailable: 1 } : { maxUnavailable: 1 },
      // Clients may come from anywhere in the cluster; the API calls nothing (model in the image,
      // variant file mounted), so all egress is denied.
      ingress: [{ ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(this.httpPort) }] }],
    });
  }

  /** In-cluster base URL. */
  get url(): string {
    return `http://${this.name}.${this.namespace}.svc:${this.httpPort}`;
  }
}
