# syntax=docker/dockerfile:1.7
# One image for the API, the consumer and the producer.
#   docker build --build-arg NODE_VERSION="$(cat .node-version)" -t ghcr.io/volwatch/volwatch:0.1.0 .
#   docker run --rm ghcr.io/volwatch/volwatch:0.1.0 api|consumer|producer [producer flags]
# Kubernetes runs `node dist/services/<service>/main.js` directly (see cdk8s/).
# The Node version is pinned once, in .node-version; there is no default here so that an
# image can never be built on another one by accident (scripts/kind-up.sh passes it).
ARG NODE_VERSION

# The Prometheus JMX exporter java agent for the Kafka broker: cdk8s/kafka-broker.ts copies it
# from this image into the broker pod. Version: JMX_EXPORTER_VERSION in cdk8s/kafka-metrics.ts.
FROM maven:3.9.11-eclipse-temurin-17 AS jmx-exporter
RUN mvn -q -B org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
      -Dartifact=io.prometheus.jmx:jmx_prometheus_javaagent:1.0.1 -DoutputDirectory=/out \
 && mv /out/jmx_prometheus_javaagent-1.0.1.jar /out/jmx_prometheus_javaagent.jar

FROM node:${NODE_VERSION}-trixie-slim AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY services ./services
# onnxruntime-node ships binaries for every OS and CPU (~290 MB); keep this platform's (~70 MB).
RUN npm run build \
 && test -f services/model/artifacts/model.onnx \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/.cache \
 && arch="$(node -p process.arch)" \
 && find node_modules/onnxruntime-node/bin/napi-v*/ -mindepth 1 -maxdepth 1 ! -name linux -exec rm -rf {} + \
 && find node_modules/onnxruntime-node/bin/napi-v*/linux -mindepth 1 -maxdepth 1 ! -name "$arch" -exec rm -rf {} + \
 && test -f "$(echo node_modules/onnxruntime-node/bin/napi-v*/linux/"$arch"/onnxruntime_binding.node)"

FROM node:${NODE_VERSION}-trixie-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# UID/GID 10001: above every distribution's system and login ranges; cdk8s/ runs pods as this user.
RUN groupadd --system --gid 10001 volwatch \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin volwatch
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/services/model/artifacts ./services/model/artifacts
COPY --from=jmx-exporter /out/jmx_prometheus_javaagent.jar /opt/jmx-exporter/jmx_prometheus_javaagent.jar
COPY <<'SH' /usr/local/bin/volwatch
#!/bin/sh
set -eu
case "${1:-}" in
  api) shift; exec node dist/services/api/main.js "$@" ;;
  consumer) shift; exec node dist/services/consumer/main.js "$@" ;;
  producer) shift; exec node dist/services/producer/main.js "$@" ;;
  *) echo "usage: volwatch api|consumer|producer [args]" >&2; exit 64 ;;
esac
SH
RUN chmod 0755 /usr/local/bin/volwatch
USER 10001:10001
EXPOSE 8080 9464 9465
ENTRYPOINT ["/usr/local/bin/volwatch"]
CMD ["api"]
