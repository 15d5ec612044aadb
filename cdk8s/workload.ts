import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  check,
  checkAppUid,
  checkImage,
  checkOrtThreads,
  resources,
  restrictedContainerSecurity,
  restrictedPodSecurity,
  topologySpread,
  namespaceSelector,
  type ResourceProps,
} from './common';
import { componentLabels, type Component, type ComponentLabels } from './labels';
import { ModelVariantConfig } from './model-variant';

/**
 * Props shared by the API and the consumer: both run our image with the ONNX model.
 * Requests and limits default to MODEL_SERVICE_RESOURCES (cpu 100m / 1, memory 192Mi / 512Mi);
 * whole CPUs in cpuLimit bound the onnxruntime threads.
 */
export interface ModelServiceProps extends Partial<ResourceProps> {
  readonly namespace: string;
  readonly instance: string;
  /** `app.kubernetes.io/version` of the objects. */
  readonly version: string;
  /** Image with an explicit tag, never `latest`. */
  readonly image: string;
  readonly modelVariant: ModelVariantConfig;
  /** @default 2 */
  readonly replicas?: number;
  /** @default 10001 (the `volwatch` user of the Dockerfile) */
  readonly runAsUser?: number;
  /** onnxruntime intra-op threads; must not exceed whole CPUs in cpuLimit. @default 1 */
  readonly ortIntraOpThreads?: number;
  /** onnxruntime inter-op threads; must not exceed whole CPUs in cpuLimit. @default 1 */
  readonly ortInterOpThreads?: number;
  /** Seconds the pod keeps serving after it is marked terminating, so endpoints drop it before SIGTERM. @default 5 */
  readonly preStopSleepSeconds?: number;
  /** Namespace Prometheus scrapes from; the only source allowed on the metrics port. @default 'monitoring' */
  readonly monitoringNamespace?: string;
  /** @default 'info' */
  readonly logLevel?: string;
}

export const MODEL_DIR = '/app/services/model/artifacts';
/** Requests and limits of a model service unless its props say otherwise. */
export const MODEL_SERVICE_RESOURCES: ResourceProps = { cpuRequest: '100m', cpuLimit: '1', memoryRequest: '192Mi', memoryLimit: '512Mi' };
export const DEFAULT_APP_UID = 10001;
/** Slack between the end of the drain budget and SIGKILL. */
export const GRACE_MARGIN_SECONDS = 5;

export interface ModelPodInput {
  readonly owner: string;
  readonly props: ModelServiceProps;
  readonly selector: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccountName: string;
  readonly containerName: string;
  readonly command: string[];
  readonly env: Record<string, string>;
  readonly ports: k8s.ContainerPort[];
  readonly livenessPath: string;
  readonly readinessPath: string;
  readonly probePort: string;
  /** The service's own graceful-drain budget (SHUTDOWN_TIMEOUT_MS). */
  readonly shutdownTimeoutMs: number;
  /** More read-only volumes (for example a Secret's file), each mounted at its path. */
  readonly extraVolumes?: readonly { readonly volume: k8s.Volume; readonly mountPath: string }[];
}

/** Checks the shared props and builds the Deployment spec both model services use. */
export function modelDeploymentSpec(i: ModelPodInput): k8s.DeploymentSpec {
  const p = i.props;
  const replicas = p.replicas ?? 2;
  const uid = p.runAsUser ?? DEFAULT_APP_UID;
  const intra = p.ortIntraOpThreads ?? 1;
  const inter = p.ortInterOpThreads ?? 1;
  const preStop = p.preStopSleepSeconds ?? 5;
  const res: ResourceProps = {
    cpuRequest: p.cpuRequest ?? MODEL_SERVICE_RESOURCES.cpuRequest,
    cpuLimit: p.cpuLimit ?? MODEL_SERVICE_RESOURCES.cpuLimit,
    memoryRequest: p.memoryRequest ?? MODEL_SERVICE_RESOURCES.memoryRequest,
    memoryLimit: p.memoryLimit ?? MODEL_SERVICE_RESOURCES.memoryLimit,
  };
  check(Number.isInteger(replicas) && replicas >= 1, `${i.owner}: replicas ${replicas} must be an integer >= 1`);
  checkAppUid(i.owner, uid);
  checkImage(i.owner, p.image);
  checkOrtThreads(i.owner, res.cpuLimit, intra, inter);
  check(Number.isInteger(preStop) && preStop >= 0 && preStop <= 30, `${i.owner}: preStopSleepSeconds ${preStop} must be an integer in 0..30`);
  check(
    Number.isInteger(i.shutdownTimeoutMs) && i.shutdownTimeoutMs >= 1000,
    `${i.owner}: shutdownTimeoutMs ${i.shutdownTimeoutMs} must be an integer >= 1000 (milliseconds)`,
  );

  // SIGKILL must come only after preStop and the whole drain budget have elapsed.
  const terminationGracePeriodSeconds = preStop + Math.ceil(i.shutdownTimeoutMs / 1000) + GRACE_MARGIN_SECONDS;

  const env: Record<string, string> = {
    HOST: '0.0.0.0',
    MODEL_DIR,
    MODEL_VARIANT_FILE: p.modelVariant.filePath,
    ORT_INTRA_OP_THREADS: String(intra),
    ORT_INTER_OP_THREADS: String(inter),
    SHUTDOWN_TIMEOUT_MS: String(i.shutdownTimeoutMs),
    LOG_LEVEL: p.logLevel ?? 'info',
    ...i.env,
  };

  const probe = (path: string, periodSeconds: number, failureThreshold: number): k8s.Probe => ({
    httpGet: { path, port: k8s.IntOrString.fromString(i.probePort) },
    periodSeconds,
    timeoutSeconds: 2,
    failureThreshold,
  });

  return {
    replicas,
    revisionHistoryLimit: 5,
    selector: { matchLabels: { ...i.selector } },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(0), maxSurge: k8s.IntOrString.fromNumber(1) } },
    template: {
      metadata: { labels: { ...i.labels } },
      spec: {
        serviceAccountName: i.serviceAccountName,
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        terminationGracePeriodSeconds,
        securityContext: restrictedPodSecurity(uid),
        topologySpreadConstraints: topologySpread(i.selector),
        containers: [
          {
            name: i.containerName,
            image: p.image,
            imagePullPolicy: 'IfNotPresent',
            command: i.command,
            ports: i.ports,
            env: Object.keys(env)
              .sort()
              .map((name) => ({ name, value: env[name] })),
            resources: resources(i.owner, res),
            securityContext: restrictedContainerSecurity(uid),
            // The model load happens before /health answers; give it a minute.
            startupProbe: probe(i.livenessPath, 2, 30),
            livenessProbe: probe(i.livenessPath, 10, 3),
            readinessProbe: probe(i.readinessPath, 5, 2),
            lifecycle: { preStop: { exec: { command: ['sleep', String(preStop)] } } },
            volumeMounts: [
              // The whole directory, never subPath: the kubelet does not refresh subPath mounts.
              { name: 'model-variant', mountPath: ModelVariantConfig.MOUNT_DIR, readOnly: true },
              { name: 'tmp', mountPath: '/tmp' },
              ...(i.extraVolumes ?? []).map((v) => ({ name: v.volume.name, mountPath: v.mountPath, readOnly: true })),
            ],
          },
        ],
        volumes: [
          p.modelVariant.volume('model-variant'),
          { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } },
          ...(i.extraVolumes ?? []).map((v) => v.volume),
        ],
      },
    },
  };
}

/**
 * A model service construct: its name, labels and the metrics port Prometheus scrapes (a
 * ScrapeTarget for ServiceMonitoring). Subclasses create their objects with modelWorkload.
 */
export abstract class ModelService extends Construct {
  readonly namespace: string;
  readonly labels: ComponentLabels;
  readonly metricsPort: number;
  readonly metricsPortName = 'metrics';
  readonly metricsPath = '/metrics';

  protected constructor(scope: Construct, id: string, readonly name: string, component: Component, props: ModelServiceProps, metricsPort: number) {
    super(scope, id);
    this.namespace = props.namespace;
    this.metricsPort = metricsPort;
    this.labels = componentLabels({ name, component, instance: props.instance, version: props.version });
  }
}

export interface ModelWorkloadInput {
  /** The Deployment's pod; its service account is the workload's own. */
  readonly pod: Omit<ModelPodInput, 'selector' | 'labels' | 'serviceAccountName' | 'ports'>;
  /** Container ports, each also exposed by the Service under its name; the scope's metrics port among them. */
  readonly ports: readonly { readonly name: string; readonly port: number }[];
  readonly disruptionBudget: { readonly minAvailable: number } | { readonly maxUnavailable: number };
  /** Ingress rules besides Prometheus's scrape. */
  readonly ingress?: k8s.NetworkPolicyIngressRule[];
  /** Egress rules; without any, all egress is denied. */
  readonly egress?: k8s.NetworkPolicyEgressRule[];
}

/**
 * The objects every model service owns, under `scope`: ServiceAccount (no token), Deployment,
 * a ClusterIP Service with Prometheus scrape annotations, a PodDisruptionBudget, and a
 * NetworkPolicy that admits the scrape from the monitoring namespace only.
 */
export function modelWorkload(scope: ModelService, w: ModelWorkloadInput): void {
  const metadata = { name: scope.name, namespace: scope.namespace, labels: { ...scope.labels.labels } };
  const selector = { matchLabels: { ...scope.labels.selector } };
  const port = (p: number) => k8s.IntOrString.fromNumber(p);

  new k8s.KubeServiceAccount(scope, 'sa', { metadata, automountServiceAccountToken: false });

  new k8s.KubeDeployment(scope, 'deployment', {
    metadata,
    spec: modelDeploymentSpec({
      ...w.pod,
      selector: scope.labels.selector,
      labels: scope.labels.labels,
      serviceAccountName: scope.name,
      ports: w.ports.map((p) => ({ name: p.name, containerPort: p.port, protocol: 'TCP' })),
    }),
  });

  new k8s.KubeService(scope, 'service', {
    metadata: {
      ...metadata,
      annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(scope.metricsPort), 'prometheus.io/path': scope.metricsPath },
    },
    spec: {
      type: 'ClusterIP',
      selector: { ...scope.labels.selector },
      ports: w.ports.map((p) => ({ name: p.name, port: p.port, targetPort: k8s.IntOrString.fromString(p.name), protocol: 'TCP' })),
    },
  });

  const budget = 'minAvailable' in w.disruptionBudget ? { minAvailable: port(w.disruptionBudget.minAvailable) } : { maxUnavailable: port(w.disruptionBudget.maxUnavailable) };
  new k8s.KubePodDisruptionBudget(scope, 'pdb', { metadata, spec: { ...budget, selector } });

  const scrape: k8s.NetworkPolicyIngressRule = {
    from: [{ namespaceSelector: namespaceSelector(w.pod.props.monitoringNamespace ?? 'monitoring') }],
    ports: [{ protocol: 'TCP', port: port(scope.metricsPort) }],
  };
  new k8s.KubeNetworkPolicy(scope, 'netpol', {
    metadata,
    spec: {
      podSelector: selector,
      policyTypes: ['Ingress', 'Egress'],
      ingress: [...(w.ingress ?? []), scrape],
      // Egress listed with no rules denies all egress. `egress: []` would be stored as absent
      // and make every server-side re-apply a change, so it is left out instead.
      ...(w.egress ? { egress: w.egress } : {}),
    },
  });
}
