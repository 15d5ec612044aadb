import * as fs from 'node:fs';
import * as path from 'node:path';
import { synthesize } from '../cdk8s/app';
import { DEFAULT_APP_UID } from '../cdk8s/workload';
import { JMX_AGENT_PATH } from '../cdk8s/kafka-broker';
import { JMX_EXPORTER_ARTIFACT } from '../cdk8s/kafka-metrics';

const ROOT = path.resolve(__dirname, '..');
const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const dockerignore = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());

describe('Dockerfile', () => {
  test('is multi-stage on Debian trixie slim Node images of the version .node-version pins, never latest', () => {
    const froms = [...dockerfile.matchAll(/^FROM (\S+)(?: AS (\S+))?/gm)];
    expect(froms.map((m) => m[2])).toEqual(['jmx-exporter', 'build', 'runtime']);
    // The first stage only fetches the JMX exporter agent for the Kafka broker pod.
    expect(froms[0]![1]).toMatch(/^maven:\d+\.\d+\.\d+-eclipse-temurin-17$/);
    for (const m of froms.slice(1)) expect(m[1]).toBe('node:${NODE_VERSION}-trixie-slim');
    // No default: the version comes from .node-version (scripts/kind-up.sh passes it), so it is pinned once.
    expect(dockerfile).toMatch(/^ARG NODE_VERSION$/m);
    expect(dockerfile).toContain('--build-arg NODE_VERSION="$(cat .node-version)"');
  });

  test('carries the JMX exporter agent the Kafka broker pod copies, at the pinned version', () => {
    expect(dockerfile).toContain(`-Dartifact=${JMX_EXPORTER_ARTIFACT} `);
    expect(dockerfile).toContain(`COPY --from=jmx-exporter /out/jmx_prometheus_javaagent.jar ${JMX_AGENT_PATH}`);
  });

  test('installs exactly the locked packages', () => {
    expect(dockerfile).toMatch(/^RUN npm ci --no-audit --no-fund$/m);
    expect(dockerfile).not.toMatch(/npm install/);
  });

  test('runs as the non-root UID the manifests declare', () => {
    const user = /^USER (\d+):(\d+)$/m.exec(dockerfile);
    expect(user?.[1]).toBe(String(DEFAULT_APP_UID));
    const objs = [...synthesize().objects.values()].flat();
    for (const d of objs.filter((o) => o.kind === 'Deployment')) {
      expect(d.spec.template.spec.securityContext.runAsUser).toBe(Number(user?.[1]));
    }
  });

  test('has entrypoints for api, consumer and producer matching the commands in the manifests and real source files', () => {
    const objs = [...synthesize().objects.values()].flat();
    const commands = objs.filter((o) => o.kind === 'Deployment').map((d) => d.spec.template.spec.containers[0].command.join(' '));
    for (const service of ['api', 'consumer', 'producer']) {
      const line = new RegExp(`^  ${service}\\) shift; exec node (dist/services/${service}/main\\.js) "\\$@" ;;$`, 'm').exec(dockerfile);
      expect(line).not.toBeNull();
    }
    expect(commands.sort()).toEqual(['node dist/services/api/main.js', 'node dist/services/consumer/main.js']);
    expect(fs.existsSync(path.join(ROOT, 'services/api/main.ts'))).toBe(true);
    expect(dockerfile).toContain('COPY --from=build /src/services/model/artifacts ./services/model/artifacts');
  });

  test('.dockerignore keeps local state out of the build context but not the sources the build needs', () => {
    for (const ignored of ['node_modules', '.git', 'dist', '.work']) expect(dockerignore).toContain(ignored);
    for (const needed of ['services', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', '.npmrc', '.node-version']) expect(dockerignore).not.toContain(needed);
  });
});
