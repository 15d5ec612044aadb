import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { synthesize } from '../../cdk8s/app';
import { cpuCores } from '../../cdk8s/common';

type Obj = Record<string, any>;
const all: Obj[] = [...synthesize().objects.values()].flat();
const ofKind = (kind: string) => all.filter((o) => o.kind === kind);
const named = (kind: string, name: string) => {
  const o = all.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind}/${name} in the synthesized manifests`);
  return o;
};
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
const workloads = () => all.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind));
const podSpecs = () => workloads().map((w) => ({ id: `${w.kind}/${w.metadata.name}`, meta: w.spec.template.metadata, spec: w.spec.template.spec as Obj }));
const containersOf = (spec: Obj): Obj[] => [...(spec.initContainers ?? []), ...spec.containers];
const env = (c: Obj) => Object.fromEntries((c.env ?? []).map((e: Obj) => [e.name, e.value]));

describe('ServiceMonitors and Services', () => {
  test.each(['volwatch-api', 'volwatch-consumer'])('ServiceMonitor %s selects exactly its Service and a port that exists on it', (name) => {
    const sm = named('ServiceMonitor', name);
    const ns = sm.spec.namespaceSelector.matchNames as string[];
    const selected = ofKind('Service').filter((s) => ns.includes(s.metadata.namespace) && matches(sm.spec.selector.matchLabels, s.metadata.labels));
    expect(selected.map((s) => s.metadata.name)).toEqual([name]);
    const portNames = selected[0]!.spec.ports.map((p: Obj) => p.name);
    for (const ep of sm.spec.endpoints) expect(portNames).toContain(ep.port);
    expect(sm.spec.sampleLimit).toBeGreaterThan(0);
    expect(sm.spec.labelLimit).toBeGreaterThan(0);
  });

  test.each(['volwatch-api', 'volwatch-consumer'])('Service %s carries prometheus.io annotations that agree with its metrics port', (name) => {
    const svc = named('Service', name);
    const a = svc.metadata.annotations;
    const metrics = svc.spec.ports.find((p: Obj) => p.name === 'metrics');
    expect(a['prometheus.io/scrape']).toBe('true');
    expect(a['prometheus.io/path']).toBe('/metrics');
    expect(Number(a['prometheus.io/port'])).toBe(metrics.port);
  });

  test('every Service selects the pods of exactly one workload, and its target ports exist on the container', () => {
    for (const svc of ofKind('Service')) {
      const targets = workloads().filter((w) => w.kind !== 'Job' && matches(svc.spec.selector, w.spec.template.metadata.labels));
      expect({ svc: svc.metadata.name, targets: targets.length }).toEqual({ svc: svc.metadata.name, targets: 1 });
      const ports = targets[0]!.spec.template.spec.containers.flatMap((c: Obj) => c.ports ?? []);
      for (const p of svc.spec.ports) {
        const t = p.targetPort ?? p.port;
        expect(ports.some((cp: Obj) => cp.name === t || cp.containerPort === t)).toBe(true);
      }
    }
  });
});

describe('workloads', () => {
  test('Deployment and StatefulSet selectors match their pod labels and omit the version label', () => {
    for (const w of all.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')) {
      expect(matches(w.spec.selector.matchLabels, w.spec.template.metadata.labels)).toBe(true);
      expect(w.spec.selector.matchLabels['app.kubernetes.io/version']).toBeUndefined();
      expect(w.spec.template.metadata.labels['app.kubernetes.io/version']).toBeDefined();
    }
  });

  test('probe ports exist on their container', () => {
    for (const { id, spec } of podSpecs()) {
      for (const c of containersOf(spec)) {
        for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe].filter(Boolean)) {
          const port = (probe.httpGet ?? probe.tcpSocket).port;
          expect({ id, port, ok: (c.ports ?? []).some((p: Obj) => p.name === port || p.containerPort === port) }).toEqual({ id, port, ok: true });
        }
      }
    }
  });

  test('API and consumer probe their real health and readiness endpoints', () => {
    for (const name of ['volwatch-api', 'volwatch-consumer']) {
      const c = named('Deployment', name).spec.template.spec.containers[0];
      expect(c.livenessProbe.httpGet.path).toBe('/health');
      expect(c.readinessProbe.httpGet.path).toBe('/ready');
    }
  });

  test('every container has cpu and memory requests and limits, requests not above limits', () => {
    for (const { id, spec } of podSpecs()) {
      for (const c of containersOf(spec)) {
        const r = c.resources ?? {};
        for (const k of ['cpu', 'memory']) {
          expect({ id, c: c.name, k, req: r.requests?.[k] !== undefined, lim: r.limits?.[k] !== undefined }).toEqual({ id, c: c.name, k, req: true, lim: true });
        }
        expect(cpuCores(r.requests.cpu)).toBeLessThanOrEqual(cpuCores(r.limits.cpu));
      }
    }
  });

  test('no image is untagged or latest', () => {
    const images = podSpecs().flatMap(({ spec }) => containersOf(spec).map((c) => c.image as string));
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) {
      expect(image).toMatch(/:[A-Za-z0-9_][A-Za-z0-9_.-]*$/);
      expect(image).not.toMatch(/:latest$/);
    }
  });

  test('onnxruntime threads do not exceed whole CPUs in the container limit', () => {
    for (const name of ['volwatch-api', 'volwatch-consumer']) {
      const c = named('Deployment', name).spec.template.spec.containers[0];
      const cores = Math.max(1, Math.floor(cpuCores(c.resources.limits.cpu)));
      expect(Number(env(c).ORT_INTRA_OP_THREADS)).toBeLessThanOrEqual(cores);
      expect(Number(env(c).ORT_INTER_OP_THREADS)).toBeLessThanOrEqual(cores);
    }
  });

  test('terminationGracePeriodSeconds covers the preStop sleep plus the service drain budget', () => {
    for (const name of ['volwatch-api', 'volwatch-consumer']) {
      const spec = named('Deployment', name).spec.template.spec;
      const c = spec.containers[0];
      const preStop = Number(c.lifecycle.preStop.exec.command[1]);
      expect(preStop).toBeGreaterThan(0);
      expect(spec.terminationGracePeriodSeconds).toBeGreaterThan(preStop + Number(env(c).SHUTDOWN_TIMEOUT_MS) / 1000);
    }
  });

  test('the model variant comes from the ConfigMap mounted as a directory (no subPath, so edits reach running pods)', () => {
    const cm = named('ConfigMap', 'volwatch-model-variant');
    expect(cm.data.variant).toBe('ml');
    for (const name of ['volwatch-api', 'volwatch-consumer']) {
      const spec = named('Deployment', name).spec.template.spec;
      const c = spec.containers[0];
      const vol = spec.volumes.find((v: Obj) => v.configMap?.name === 'volwatch-model-variant');
      const mount = c.volumeMounts.find((m: Obj) => m.name === vol.name);
      expect(mount).toMatchObject({ mountPath: '/etc/volwatch/model', readOnly: true });
      expect(mount.subPath).toBeUndefined();
      expect(env(c).MODEL_VARIANT_FILE).toBe('/etc/volwatch/model/variant');
    }
  });

  test('topology spread constraints select the pods of their own Deployment', () => {
    for (const name of ['volwatch-api', 'volwatch-consumer']) {
      const d = named('Deployment', name);
      const tsc = d.spec.template.spec.topologySpreadConstraints;
      expect(tsc.length).toBeGreaterThan(0);
      for (const t of tsc) expect(t.labelSelector.matchLabels).toEqual(d.spec.selector.matchLabels);
    }
  });

  test('every Deployment and StatefulSet is covered by exactly one PodDisruptionBudget', () => {
    for (const w of all.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')) {
      const pdbs = ofKind('PodDisruptionBudget').filter((p) => matches(p.spec.selector.matchLabels, w.spec.template.metadata.labels));
      expect({ w: w.metadata.name, n: pdbs.length }).toEqual({ w: w.metadata.name, n: 1 });
    }
  });
});

describe('Pod Security Standards restricted', () => {
  test('the namespace enforces restricted by label', () => {
    expect(named('Namespace', 'volwatch').metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  test('every pod satisfies the restricted profile', () => {
    const allowedVolumes = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];
    for (const { id, spec } of podSpecs()) {
      expect({ id, host: [spec.hostNetwork, spec.hostPID, spec.hostIPC].some(Boolean) }).toEqual({ id, host: false });
      for (const v of spec.volumes ?? []) {
        expect({ id, volume: v.name, ok: Object.keys(v).filter((k) => k !== 'name').every((k) => allowedVolumes.includes(k)) }).toEqual({ id, volume: v.name, ok: true });
      }
      for (const c of containersOf(spec)) {
        const sc = c.securityContext ?? {};
        const runAsNonRoot = sc.runAsNonRoot ?? spec.securityContext?.runAsNonRoot;
        const uid = sc.runAsUser ?? spec.securityContext?.runAsUser;
        const seccomp = (sc.seccompProfile ?? spec.securityContext?.seccompProfile)?.type;
        expect({ id, c: c.name, runAsNonRoot, rootUid: uid === 0, priv: sc.privileged === true, ape: sc.allowPrivilegeEscalation, drop: sc.capabilities?.drop, add: sc.capabilities?.add ?? [], seccomp }).toEqual({
          id,
          c: c.name,
          runAsNonRoot: true,
          rootUid: false,
          priv: false,
          ape: false,
          drop: ['ALL'],
          add: [],
          seccomp: 'RuntimeDefault',
        });
        expect({ id, c: c.name, readOnlyRoot: sc.readOnlyRootFilesystem }).toEqual({ id, c: c.name, readOnlyRoot: true });
        expect(c.ports?.some((p: Obj) => p.hostPort) ?? false).toBe(false);
      }
    }
  });

  test('every container runs as a UID above 10000, the broker and the topic Job included', () => {
    for (const [kind, name] of [
      ['Deployment', 'volwatch-api'],
      ['Deployment', 'volwatch-consumer'],
      ['StatefulSet', 'kafka'],
      ['Job', 'kafka-topics'],
    ] as const) {
      const spec = named(kind, name).spec.template.spec;
      expect({ name, uid: spec.containers[0].securityContext.runAsUser > 10000 }).toEqual({ name, uid: true });
      expect({ name, uid: spec.securityContext.runAsUser > 10000 }).toEqual({ name, uid: true });
    }
  });

  test('no pod or ServiceAccount automounts an API token', () => {
    for (const sa of ofKind('ServiceAccount')) expect(sa.automountServiceAccountToken).toBe(false);
    for (const { spec } of podSpecs()) expect(spec.automountServiceAccountToken).toBe(false);
  });
});

describe('NetworkPolicies', () => {
  const policyFor = (name: string) => named('NetworkPolicy', name);
  const fromMonitoringOnly = (rule: Obj) =>
    rule.from?.length === 1 && rule.from[0].namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'monitoring' && rule.from[0].podSelector === undefined;

  test.each([
    ['volwatch-api', 9464],
    ['volwatch-consumer', 9465],
  ])('%s: metrics port %i is reachable only from the monitoring namespace', (name, port) => {
    const rules = policyFor(name).spec.ingress as Obj[];
    const opening = rules.filter((r) => (r.ports ?? []).some((p: Obj) => p.port === port) || !r.ports);
    expect(opening.length).toBe(1);
    expect(fromMonitoringOnly(opening[0]!)).toBe(true);
  });

  test('the API port is open to any client', () => {
    const rules = policyFor('volwatch-api').spec.ingress as Obj[];
    expect(rules.some((r) => r.from === undefined && r.ports.some((p: Obj) => p.port === 8080))).toBe(true);
  });

  test('the API may not open any connection (Egress policy with no rules)', () => {
    const np = policyFor('volwatch-api');
    expect(np.spec.policyTypes).toContain('Egress');
    expect(np.spec.egress).toBeUndefined();
  });

  test('the consumer may only talk to Kafka and DNS', () => {
    const np = policyFor('volwatch-consumer');
    expect(np.spec.policyTypes).toContain('Egress');
    const egress = np.spec.egress as Obj[];
    expect(egress).toHaveLength(2);
    const kafkaPods = named('StatefulSet', 'kafka').spec.template.metadata.labels;
    expect(egress[0]!.to).toHaveLength(1);
    expect(matches(egress[0]!.to[0].podSelector.matchLabels, kafkaPods)).toBe(true);
    expect(egress[0]!.ports).toEqual([{ protocol: 'TCP', port: 9092 }]);
    expect(egress[1]!.ports.map((p: Obj) => p.port)).toEqual([53, 53]);
    expect(egress[1]!.to[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name']).toBe('kube-system');
  });

  test('Kafka admits on its client port only the consumer, the producer and the topic Job, its metrics port only from monitoring, and reaches only itself and DNS', () => {
    const np = policyFor('kafka');
    const byName = (name: string) => ({ podSelector: { matchLabels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': 'volwatch' } } });
    expect(np.spec.ingress).toEqual([
      { from: [byName('volwatch-consumer'), byName('volwatch-producer'), byName('kafka-topics')], ports: [{ protocol: 'TCP', port: 9092 }] },
      { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], ports: [{ protocol: 'TCP', port: 9404 }] },
    ]);
    // The selectors name real pods: the consumer's and the Job's templates carry those labels.
    for (const [kind, name] of [['Deployment', 'volwatch-consumer'], ['Job', 'kafka-topics']] as const) {
      expect(np.spec.ingress[0].from.some((f: Obj) => matches(f.podSelector.matchLabels, named(kind, name).spec.template.metadata.labels))).toBe(true);
    }
    expect(np.spec.ingress[0].from.some((f: Obj) => matches(f.podSelector.matchLabels, named('Deployment', 'volwatch-api').spec.template.metadata.labels))).toBe(false);
    const self = named('StatefulSet', 'kafka').spec.template.metadata.labels;
    expect(matches(np.spec.egress[0].to[0].podSelector.matchLabels, self)).toBe(true);
    expect(np.spec.egress[1].to[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name']).toBe('kube-system');
  });

  test('the namespace denies every ingress and egress by default; each workload opens only its own', () => {
    const deny = policyFor('default-deny');
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    // Every pod template is selected by a policy of its own besides the default deny.
    for (const { id, meta } of podSpecs()) {
      const own = ofKind('NetworkPolicy').filter((p) => p.metadata.name !== 'default-deny' && matches(p.spec.podSelector.matchLabels ?? {}, meta.labels));
      expect({ id, policies: own.length }).toEqual({ id, policies: 1 });
    }
  });

  /** No ingress; egress to the broker's client port and to DNS, nothing else. */
  const expectOnlyBrokerAndDns = (np: Obj) => {
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(np.spec.ingress).toBeUndefined();
    expect(np.spec.egress).toHaveLength(2);
    expect(matches(np.spec.egress[0].to[0].podSelector.matchLabels, named('StatefulSet', 'kafka').spec.template.metadata.labels)).toBe(true);
    expect(np.spec.egress[0].ports).toEqual([{ protocol: 'TCP', port: 9092 }]);
    expect(np.spec.egress[1].ports.map((p: Obj) => p.port)).toEqual([53, 53]);
  };

  test('the topic Job has its own ServiceAccount without a token and may reach only the broker client port and DNS', () => {
    const job = named('Job', 'kafka-topics').spec.template.spec;
    expect(job.serviceAccountName).toBe('kafka-topics');
    expect(named('ServiceAccount', 'kafka-topics').automountServiceAccountToken).toBe(false);
    expectOnlyBrokerAndDns(policyFor('kafka-topics'));
  });

  test('a producer run in the cluster, labelled volwatch-producer as docs/deploy.md says, is let out to the broker client port and DNS under default-deny, and nothing else', () => {
    // Only the two labels the docs ask for: a pod the user writes, not one of ours.
    const producerPod = { 'app.kubernetes.io/name': 'volwatch-producer', 'app.kubernetes.io/instance': 'volwatch' };
    const own = ofKind('NetworkPolicy').filter((p) => p.metadata.name !== 'default-deny' && matches(p.spec.podSelector.matchLabels ?? {}, producerPod));
    expect(own.map((p) => p.metadata.name)).toEqual(['volwatch-producer']);
    expectOnlyBrokerAndDns(own[0]!);
    // And the broker admits it on that port.
    expect(policyFor('kafka').spec.ingress[0].from.some((f: Obj) => matches(f.podSelector.matchLabels, producerPod))).toBe(true);
  });

  test('with an existing Kafka nothing Kafka is deployed and the consumer egress opens only its port', () => {
    const ext = synthesize({ kafkaBootstrapServers: 'b1.kafka.example.com:9094,b2.kafka.example.com:9094' });
    const objs = [...ext.objects.values()].flat();
    expect(objs.filter((o) => o.metadata.name === 'kafka' || o.metadata.name === 'kafka-topics' || o.metadata.name === 'volwatch-producer')).toEqual([]);
    const dep = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'volwatch-consumer')!;
    expect(env(dep.spec.template.spec.containers[0]).KAFKA_BROKERS).toBe('b1.kafka.example.com:9094,b2.kafka.example.com:9094');
    const np = objs.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'volwatch-consumer')!;
    expect(np.spec.egress[0]).toEqual({ ports: [{ protocol: 'TCP', port: 9094 }] });
  });
});

describe('Kafka', () => {
  test('the broker JVM runs the JMX exporter agent, copied from the volwatch image, with the generated config, on a scraped metrics port', () => {
    const sts = named('StatefulSet', 'kafka');
    const pod = sts.spec.template.spec;
    const c = pod.containers[0];
    expect(env(c).KAFKA_OPTS).toBe('-javaagent:/opt/jmx-exporter/jmx_prometheus_javaagent.jar=9404:/etc/jmx-exporter/config.yaml');
    expect(c.command.join(' ')).toContain('${KAFKA_OPTS:-}');
    expect(c.ports).toContainEqual({ name: 'metrics', containerPort: 9404, protocol: 'TCP' });
    const init = pod.initContainers[0];
    expect(init.image).toBe(named('Deployment', 'volwatch-api').spec.template.spec.containers[0].image);
    // The init container copies from the image path into the volume the broker mounts at that path.
    expect(init.command[1]).toBe('/opt/jmx-exporter/jmx_prometheus_javaagent.jar');
    const copyTo = init.volumeMounts.find((m: Obj) => m.name === 'jmx-exporter').mountPath;
    expect(init.command).toEqual(['cp', '/opt/jmx-exporter/jmx_prometheus_javaagent.jar', `${copyTo}/`]);
    expect(c.volumeMounts).toContainEqual({ name: 'jmx-exporter', mountPath: '/opt/jmx-exporter', readOnly: true });
    const config = named('ConfigMap', 'kafka-jmx-exporter').data['config.yaml'];
    expect(config).toBe(fs.readFileSync(path.join(__dirname, '../../scripts/kafka/jmx-exporter.yaml'), 'utf8'));
    expect(named('Service', 'kafka').spec.ports).toContainEqual({ name: 'metrics', port: 9404, targetPort: 'metrics' });
    expect(named('Service', 'kafka-headless').spec.ports.map((p: Obj) => p.name)).not.toContain('metrics');
  });

  const brokerProperties = (): Record<string, string> =>
    Object.fromEntries(
      (named('ConfigMap', 'kafka-config').data['server.properties'] as string)
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );

  test('a single-node KRaft broker with a PVC, pinned apache/kafka image and an idempotent topic Job', () => {
    const sts = named('StatefulSet', 'kafka');
    const c = sts.spec.template.spec.containers[0];
    expect(c.image).toMatch(/^apache\/kafka:\d+\.\d+\.\d+$/);
    expect(brokerProperties()['process.roles']).toBe('broker,controller');
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBeDefined();
    expect(sts.spec.template.spec.enableServiceLinks).toBe(false);
    const script = named('Job', 'kafka-topics').spec.template.spec.containers[0].command.join(' ');
    for (const topic of ['ticks', 'predictions', 'ticks.dlq']) expect(script).toContain(`--create --if-not-exists --topic ${topic} `);
  });

  test('the broker runs from a rendered server.properties any image with the Kafka jars honours, not image-specific environment', () => {
    const c = named('StatefulSet', 'kafka').spec.template.spec.containers[0];
    // KAFKA_HEAP_OPTS and KAFKA_OPTS (the JMX exporter agent) are read by the broker script itself.
    expect(Object.keys(env(c)).filter((k) => k.startsWith('KAFKA_') && k !== 'KAFKA_HEAP_OPTS' && k !== 'KAFKA_OPTS')).toEqual([]);
    expect(c.command.join(' ')).toContain("-cp '/opt/kafka/libs/*' kafka.Kafka /etc/kafka-config/server.properties");
    expect(c.volumeMounts).toContainEqual({ name: 'config', mountPath: '/etc/kafka-config', readOnly: true });
  });

  test('the controller and internal listeners bind to the pod loopback and are neither container ports nor in a Service', () => {
    const props = brokerProperties();
    expect(props.listeners).toBe('CLIENT://:9092,INTERNAL://127.0.0.1:9095,CONTROLLER://127.0.0.1:9093');
    expect(props['controller.quorum.voters']).toBe('1@127.0.0.1:9093');
    expect(props['inter.broker.listener.name']).toBe('INTERNAL');
    const c = named('StatefulSet', 'kafka').spec.template.spec.containers[0];
    expect(c.ports.map((p: Obj) => p.containerPort)).not.toContain(9093);
    expect(c.ports.map((p: Obj) => p.containerPort)).not.toContain(9095);
    for (const svc of ofKind('Service').filter((s) => s.metadata.name.startsWith('kafka'))) {
      for (const p of svc.spec.ports) expect({ svc: svc.metadata.name, port: p.port }).not.toEqual({ svc: svc.metadata.name, port: 9093 });
    }
  });

  test('clients authenticate with SCRAM-SHA-512 on the client listener, each as its own user from the Secret the bootstrap scripts create', () => {
    const props = brokerProperties();
    expect(props['listener.security.protocol.map']).toBe('CLIENT:SASL_PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT');
    expect(props['listener.name.client.sasl.enabled.mechanisms']).toBe('SCRAM-SHA-512');
    // The broker registers every user when it formats its storage, passwords through a java @argfile.
    const broker = named('StatefulSet', 'kafka').spec.template.spec;
    const script = broker.containers[0].command[2] as string;
    for (const [key, user] of [['consumer', 'volwatch-consumer'], ['producer', 'volwatch-producer'], ['topics', 'kafka-topics']]) {
      expect(script).toContain(`pw=$(cat /etc/kafka-credentials/${key})\n`);
      expect(script).toContain(`--add-scram "SCRAM-SHA-512=[name=${user},password=$pw]"`);
    }
    // An empty or missing password, or one SCRAM's syntax would cut, stops the pod before formatting.
    for (const pw of ['', 'a,b', 'a]b', 'a=b']) expect(spawnSync('sh', ['-c', `set -eu; pw='${pw}'; ${/case "\$pw" in .*? esac/.exec(script)![0]}; echo ok`], { encoding: 'utf8' }).status).toBe(1);
    expect(spawnSync('sh', ['-c', `set -eu; pw=abcXYZ019; ${/case "\$pw" in .*? esac/.exec(script)![0]}; echo ok`], { encoding: 'utf8' }).stdout).toBe('ok\n');
    expect(script).toContain('java @/tmp/format.args');
    expect(script).not.toMatch(/java [^@\n]*--add-scram/);
    expect(broker.volumes).toContainEqual({ name: 'credentials', secret: { secretName: 'kafka-credentials', defaultMode: 0o440 } });
    // The consumer reads only its own password, from a file.
    const consumer = named('Deployment', 'volwatch-consumer').spec.template.spec;
    expect(env(consumer.containers[0])).toMatchObject({
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'volwatch-consumer',
      KAFKA_SASL_PASSWORD_FILE: '/var/run/secrets/volwatch/kafka/password',
    });
    expect(consumer.volumes).toContainEqual({ name: 'kafka-password', secret: { secretName: 'kafka-credentials', items: [{ key: 'consumer', path: 'password' }], defaultMode: 0o440 } });
    expect(consumer.containers[0].volumeMounts).toContainEqual({ name: 'kafka-password', mountPath: '/var/run/secrets/volwatch/kafka', readOnly: true });
    // The topic Job logs in as kafka-topics with a client config file.
    const job = named('Job', 'kafka-topics').spec.template.spec;
    expect(job.volumes).toContainEqual({ name: 'kafka-password', secret: { secretName: 'kafka-credentials', items: [{ key: 'topics', path: 'password' }], defaultMode: 0o440 } });
    expect(job.containers[0].command[2]).toContain('--command-config /tmp/client.properties');
    expect(job.containers[0].command[2]).toContain('username=\\"kafka-topics\\"');
  });

  test('the API holds no Kafka credentials', () => {
    const api = named('Deployment', 'volwatch-api').spec.template.spec;
    expect(Object.keys(env(api.containers[0])).filter((k) => k.startsWith('KAFKA_'))).toEqual([]);
    expect(api.volumes.some((v: Obj) => v.secret)).toBe(false);
  });

  test('with an existing Kafka the consumer gets no SASL settings of ours', () => {
    const ext = [...synthesize({ kafkaBootstrapServers: 'kafka.example.com:9092' }).objects.values()].flat();
    const dep = ext.find((o) => o.kind === 'Deployment' && o.metadata.name === 'volwatch-consumer')!;
    expect(env(dep.spec.template.spec.containers[0]).KAFKA_SASL_MECHANISM).toBeUndefined();
  });

  test('a changed broker configuration rolls the broker (the pod template carries its hash)', () => {
    const stsOf = (objs: Obj[]) => objs.find((o) => o.kind === 'StatefulSet')!;
    const hash = (o: Obj) => o.spec.template.metadata.annotations['volwatch.dev/config-sha256'];
    expect(hash(stsOf([...synthesize().objects.values()].flat()))).toBe(hash(named('StatefulSet', 'kafka')));
    // Another namespace changes advertised.listeners.
    const moved = stsOf([...synthesize({ namespace: 'volwatch-b' }).objects.values()].flat());
    expect(hash(moved)).toMatch(/^[0-9a-f]{64}$/);
    expect(hash(moved)).not.toBe(hash(named('StatefulSet', 'kafka')));
  });

  test('an init container copying a file out of its image never mounts a volume over the source (it would hide it)', () => {
    for (const { id, spec } of podSpecs()) {
      for (const init of spec.initContainers ?? []) {
        if (init.command?.[0] !== 'cp') continue;
        const source = init.command[1] as string;
        for (const m of init.volumeMounts ?? []) {
          expect({ id, init: init.name, source, hiddenBy: source.startsWith(`${m.mountPath}/`) ? m.mountPath : null }).toEqual({ id, init: init.name, source, hiddenBy: null });
        }
      }
    }
  });
});
