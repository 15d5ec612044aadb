#!/usr/bin/env bash
# End-to-end check of a running volwatch deployment (kind or scripts/node-up.sh), through
# real endpoints only:
#  1. every pod of the restricted-PSS namespace is Ready;
#  2. Prometheus has every ServiceMonitor target of manifests/ up (API, consumer, broker);
#  3. Prometheus has loaded every rule group of manifests/;
#  4. POST /predict answers 200 with a prediction;
#  5. ticks written to Kafka turn into messages on the predictions topic (the consumer logs in
#     as its SCRAM user); the tick producer, run as a pod labelled volwatch-producer with its
#     own SCRAM user, sends its ticks;
#  6. with the consumer scaled to zero, its down alert fires and reaches Alertmanager; while
#     that alert waits out its `for:`, scripts/port-forward.sh reaches Prometheus and
#     Alertmanager, and `npm run rollback -- --to baseline` switches every API pod within 90 s
#     while a client pod calls the API through its Service without one failed request;
#  7. the consumer, scaled back, serves baseline too; then everything goes back to ml.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

usage() {
  cat <<USAGE
usage: scripts/cluster-smoke.sh [--dry-run] [--name CLUSTER] [--context CTX] [--kubeconfig FILE] [--timeout SECONDS]
  --name CLUSTER     kind cluster (default: volwatch); uses context kind-CLUSTER
  --context CTX      kubeconfig context to use instead (scripts/node-up.sh's: volwatch-node)
  --kubeconfig FILE  kubeconfig file (default: \$KUBECONFIG, then ~/.kube/config)
  --timeout SECONDS  how long each check may wait (default: 240; the alert check adds its rule's for:)
  --dry-run          print the commands instead of running them
USAGE
}

CLUSTER=volwatch
CTX=''
KCFG=''
TIMEOUT=240
parse_args '--name=CLUSTER --timeout=TIMEOUT --context=CTX --kubeconfig=KCFG' "$@"
[[ "$TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a positive number of seconds, got $TIMEOUT"

need_tools kubectl curl node
load_chart_env
[[ -n "$CTX" ]] || CTX="kind-$CLUSTER"
KUBECTL=(kubectl)
[[ -n "$KCFG" ]] && KUBECTL+=(--kubeconfig "$KCFG")
KUBECTL+=(--context "$CTX")
NS=volwatch
SMOKE_NS=volwatch-smoke
# The machine is shared (other engineers' brokers and forwards): a preferred local port that
# is taken gives way to the next free one above it. A dry run prints the preferred ones.
port_in_use() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
free_port() { # PREFERRED: PREFERRED, or the next free port above it
  local p="$1"
  if ! is_dry_run && command -v ss >/dev/null 2>&1; then
    while port_in_use "$p"; do
      ((++p < $1 + 2000)) || die "no free local port from $1 to $p"
    done
  fi
  printf '%s\n' "$p"
}
PROM_PORT=${SMOKE_PROM_PORT:-$(free_port 19090)}
AM_PORT=${SMOKE_AM_PORT:-$(free_port 18093)}
API_PORT=${SMOKE_API_PORT:-$(free_port 18080)}
PROM="http://127.0.0.1:$PROM_PORT"
AM="http://127.0.0.1:$AM_PORT"
API="http://127.0.0.1:$API_PORT"
NODE_TSX="$VOLWATCH_ROOT/node_modules/.bin/tsx"
KEYED=(--reader-property parse.key=true --reader-property 'key.separator=|')
# The Kafka tools through the jars of whichever image runs the broker (apache/kafka or ours),
# inside the broker pod, on its loopback listener (clients elsewhere authenticate with SCRAM).
KAFKA_JAVA=("${KUBECTL[@]}" -n "$NS" exec -i kafka-0 -- java -Xmx96m -cp '/opt/kafka/libs/*')
KAFKA_LOCAL=127.0.0.1:9095
ALERT=VolwatchConsumerDown
WORK=$(mktemp -d)
pids=()
restore_consumer=''
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [[ -n "$restore_consumer" ]]; then "${KUBECTL[@]}" -n "$NS" scale deployment/volwatch-consumer --replicas "$restore_consumer" >/dev/null 2>&1 || true; fi
  is_dry_run || "${KUBECTL[@]}" delete namespace "$SMOKE_NS" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  is_dry_run || "${KUBECTL[@]}" -n "$NS" delete pod "$PRODUCER_POD" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
PRODUCER_POD=volwatch-producer-smoke
PRODUCER_TICKS=200
trap cleanup EXIT

k() { run "${KUBECTL[@]}" "$@"; }

forward() { # NAMESPACE TARGET LOCAL:REMOTE
  if is_dry_run; then
    printf '%s &\n' "$(print_cmd "${KUBECTL[@]}" -n "$1" port-forward --address 127.0.0.1 "$2" "$3")"
  else
    "${KUBECTL[@]}" -n "$1" port-forward --address 127.0.0.1 "$2" "$3" >"$WORK/pf-${3%%:*}.log" 2>&1 &
    pids+=("$!")
  fi
}

# retry SECONDS DESCRIPTION CMD...: runs CMD every 5 s until it succeeds.
retry() {
  local deadline=$((SECONDS + $1)) what=$2 limit=$1
  shift 2
  if is_dry_run; then
    if declare -F "$1" >/dev/null; then "$@"; else print_cmd "$@"; fi
    printf '  # repeated every 5 s for up to %s s until: %s\n' "$limit" "$what"
    return 0
  fi
  until "$@"; do
    ((SECONDS < deadline)) || die "timed out after $limit s: $what"
    sleep 5
  done
}

# What manifests/ promises, read from the synthesized YAML: jobs (one per ServiceMonitor: the
# name of the Service it selects) and rule groups.
manifest_facts() { # jobs|groups|for ALERT
  node -e '
    const yaml = require(process.argv[1] + "/node_modules/yaml");
    const fs = require("fs"), path = require("path");
    const dir = path.join(process.argv[1], "manifests");
    const objs = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort()
      .flatMap((f) => yaml.parseAllDocuments(fs.readFileSync(path.join(dir, f), "utf8")).map((d) => d.toJS()).filter(Boolean));
    const out = [];
    if (process.argv[2] === "jobs") {
      // A Service is a target only if it has a port the ServiceMonitor names.
      for (const sm of objs.filter((o) => o.kind === "ServiceMonitor")) {
        const sel = sm.spec.selector.matchLabels || {};
        const ports = sm.spec.endpoints.map((e) => e.port);
        for (const svc of objs.filter((o) => o.kind === "Service" && o.metadata.namespace === sm.metadata.namespace))
          if (Object.entries(sel).every(([k, v]) => (svc.metadata.labels || {})[k] === v) && svc.spec.ports.some((p) => ports.includes(p.name)))
            out.push((sm.spec.jobLabel && svc.metadata.labels[sm.spec.jobLabel]) || svc.metadata.name);
      }
    } else {
      for (const o of objs.filter((o) => o.kind === "PrometheusRule"))
        for (const g of o.spec.groups) {
          if (process.argv[2] === "groups") out.push(g.name);
          else for (const r of g.rules) if (r.alert === process.argv[3]) out.push(r.for || "0s");
        }
    }
    console.log([...new Set(out)].join(" "));' "$VOLWATCH_ROOT" "$@"
}

seconds_of() { # 5m, 30s, 1h -> seconds
  local d=$1
  case "$d" in
    *h) echo $((${d%h} * 3600)) ;;
    *m) echo $((${d%m} * 60)) ;;
    *s) echo "${d%s}" ;;
    *) echo 0 ;;
  esac
}

pods_ready() {
  if is_dry_run; then
    print_cmd "${KUBECTL[@]}" -n "$NS" get pods -o json
    printf '  # every pod that has not completed must be Ready\n'
    return 0
  fi
  "${KUBECTL[@]}" -n "$NS" get pods -o json >"$WORK/pods.json" || return 1
  node -e '
    const pods = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).items.filter((p) => p.status.phase !== "Succeeded");
    const notReady = pods.filter((p) => !(p.status.conditions || []).some((c) => c.type === "Ready" && c.status === "True"));
    if (pods.length === 0 || notReady.length) { console.error("  not Ready yet: " + (notReady.map((p) => p.metadata.name).join(", ") || "no pods")); process.exit(1); }' "$WORK/pods.json"
}

targets_up() { # JOB...
  if is_dry_run; then
    print_cmd curl -fsS "$PROM/api/v1/targets?state=active"
    printf '  # every job of %s must have a target with health "up"\n' "$*"
    return 0
  fi
  curl -fsS "$PROM/api/v1/targets?state=active" >"$WORK/targets.json" || return 1
  node -e '
    const t = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).data.activeTargets;
    const missing = process.argv.slice(2).filter((j) => !t.some((x) => x.labels.job === j && x.labels.namespace === "volwatch" && x.health === "up"));
    if (missing.length) { console.error("  targets not up yet: " + missing.join(", ")); process.exit(1); }' "$WORK/targets.json" "$@"
}

rules_loaded() { # GROUP...
  if is_dry_run; then
    print_cmd curl -fsS "$PROM/api/v1/rules"
    printf '  # groups %s must be loaded\n' "$*"
    return 0
  fi
  curl -fsS "$PROM/api/v1/rules" >"$WORK/rules.json" || return 1
  node -e '
    const g = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).data.groups.map((x) => x.name);
    const missing = process.argv.slice(2).filter((n) => !g.includes(n));
    if (missing.length) { console.error("  rule groups not loaded yet: " + missing.join(", ")); process.exit(1); }' "$WORK/rules.json" "$@"
}

predict_ok() {
  local code
  if is_dry_run; then
    print_cmd curl -sS -H 'content-type: application/json' --data-binary "@$WORK/body.json" "$API/predict"
    printf '  # must answer 200\n'
    return 0
  fi
  code=$(curl -sS -o "$WORK/predict.json" -w '%{http_code}' -H 'content-type: application/json' \
    --data-binary "@$WORK/body.json" "$API/predict") || return 1
  [[ "$code" == 200 ]] || {
    printf '  POST /predict answered %s: %s\n' "$code" "$(head -c 300 "$WORK/predict.json")" >&2
    return 1
  }
}

alert_in_alertmanager() {
  if is_dry_run; then
    print_cmd curl -fsS "$AM/api/v2/alerts?filter=alertname=\"$ALERT\"&active=true"
    printf '  # must list %s\n' "$ALERT"
    return 0
  fi
  curl -fsS -G "$AM/api/v2/alerts" --data-urlencode "filter=alertname=\"$ALERT\"" --data-urlencode active=true >"$WORK/alerts.json" || return 1
  node -e '
    const a = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    if (!a.some((x) => x.labels.alertname === process.argv[2] && x.labels.namespace === "volwatch")) { console.error("  " + process.argv[2] + " not in Alertmanager yet"); process.exit(1); }' "$WORK/alerts.json" "$ALERT"
}

predictions_offset() {
  "${KAFKA_JAVA[@]}" org.apache.kafka.tools.GetOffsetShell --bootstrap-server "$KAFKA_LOCAL" --topic predictions 2>/dev/null |
    awk -F: '{ s += $3 } END { print s + 0 }'
}

predictions_grew() { # BEFORE
  local now
  if is_dry_run; then
    print_cmd "${KAFKA_JAVA[@]}" org.apache.kafka.tools.GetOffsetShell --bootstrap-server "$KAFKA_LOCAL" --topic predictions
    printf '  # summed end offsets must exceed the value before the ticks were sent\n'
    return 0
  fi
  now=$(predictions_offset) || return 1
  ((now > $1)) || {
    printf '  predictions topic end offset still %s\n' "$now" >&2
    return 1
  }
}

# The largest --offset of port-forward.sh (at most 50000) whose Prometheus and Alertmanager
# ports (9090 and 9093 plus the offset) nobody listens on.
free_offset() {
  local o=50000
  if ! is_dry_run && command -v ss >/dev/null 2>&1; then
    while port_in_use $((o + 9090)) || port_in_use $((o + 9093)); do
      ((--o > 40000)) || die "no free port pair for port-forward.sh from $((o + 9090))"
    done
  fi
  printf '%s\n' "$o"
}

# scripts/port-forward.sh on shifted local ports, so it cannot collide with a local stack or
# another engineer's broker.
port_forward_script_works() {
  local offset
  offset=$(free_offset)
  local prom=$((offset + 9090)) am=$((offset + 9093))
  # shellcheck disable=SC2054 # the comma belongs to the --only value
  local pf=(bash "$VOLWATCH_ROOT/scripts/port-forward.sh" --context "$CTX" --offset "$offset" --only prometheus,alertmanager)
  [[ -n "$KCFG" ]] && pf+=(--kubeconfig "$KCFG")
  if is_dry_run; then
    printf '%s &\n' "$(print_cmd "${pf[@]}")"
    print_cmd curl -fsS "http://127.0.0.1:$prom/-/ready"
    print_cmd curl -fsS "http://127.0.0.1:$am/-/ready"
    return 0
  fi
  "${pf[@]}" >"$WORK/port-forward.log" 2>&1 &
  local pf_pid=$! ok=0 i
  for ((i = 0; i < 30; i++)); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$prom/-/ready" && curl -fsS -o /dev/null "http://127.0.0.1:$am/-/ready"; then
      ok=1
      break
    fi
    sleep 1
  done
  kill "$pf_pid" 2>/dev/null || true
  wait "$pf_pid" 2>/dev/null || true
  ((ok)) || die "scripts/port-forward.sh did not reach Prometheus and Alertmanager on $prom/$am; its output: $(cat "$WORK/port-forward.log")"
}

# A client pod calling POST /predict through the API's Service until SIGTERM, then printing a summary.
client_js='const { FEATURE_NAMES } = require("/app/dist/services/core/features.js");
const body = JSON.stringify({ features: Object.fromEntries(FEATURE_NAMES.map((n) => [n, 0.01])) });
const url = "http://volwatch-api.volwatch.svc.cluster.local:8080/predict";
const s = { ok: 0, failed: 0, errors: {} }; let stop = false;
process.on("SIGTERM", () => { stop = true; });
(async () => { while (!stop) { try { const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
  await r.arrayBuffer(); if (r.status === 200) s.ok++; else { s.failed++; s.errors[r.status] = (s.errors[r.status] || 0) + 1; } }
  catch (e) { s.failed++; const k = String(e.cause?.code || e.message); s.errors[k] = (s.errors[k] || 0) + 1; }
  if (s.ok + s.failed === 20) console.log("started"); await new Promise((r) => setTimeout(r, 50)); }
  console.log("SUMMARY " + JSON.stringify(s)); })();'

# The --overrides of a one-off pod on the API's image, under the restricted Pod Security Standard:
# pod_overrides EXPR ARG..., where the JavaScript EXPR sees image, sc (the container's security
# context), podSc (the pod's) and args (the ARGs), and is the override object.
pod_overrides() {
  local expr="$1" image
  shift
  image=$("${KUBECTL[@]}" -n "$NS" get deployment volwatch-api -o jsonpath='{.spec.template.spec.containers[0].image}')
  node -e '
    const [image, expr, ...args] = process.argv.slice(1);
    const sc = { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } };
    const podSc = { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } };
    console.log(JSON.stringify(eval(expr)));' "$image" "$expr" "$@"
}

client_overrides() {
  pod_overrides '({ spec: { automountServiceAccountToken: false, securityContext: podSc,
    containers: [{ name: "client", image, imagePullPolicy: "IfNotPresent", command: ["node", "-e", args[0]], securityContext: sc,
      resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "128Mi" } } }] } })' "$client_js"
}

# The tick producer as a user runs it in the cluster (docs/deploy.md, "Kafka credentials"):
# labelled volwatch-producer, logging in as its own SCRAM user with the password from the Secret.
producer_overrides() {
  pod_overrides '({ metadata: { labels: { "app.kubernetes.io/name": "volwatch-producer", "app.kubernetes.io/instance": "volwatch" } },
    spec: { automountServiceAccountToken: false, enableServiceLinks: false, securityContext: podSc,
      containers: [{ name: "producer", image, imagePullPolicy: "IfNotPresent", securityContext: sc,
        command: ["node", "dist/services/producer/main.js", "--count", args[0], "--rate", "max", "--brokers", "kafka:9092"],
        env: Object.entries({ KAFKA_SASL_MECHANISM: "scram-sha-512", KAFKA_SASL_USERNAME: "volwatch-producer", KAFKA_SASL_PASSWORD_FILE: "/var/run/secrets/volwatch/kafka/password", LOG_LEVEL: "warn" }).map(([name, value]) => ({ name, value })),
        volumeMounts: [{ name: "kafka-password", mountPath: "/var/run/secrets/volwatch/kafka", readOnly: true }, { name: "tmp", mountPath: "/tmp" }],
        resources: { requests: { cpu: "50m", memory: "96Mi" }, limits: { memory: "256Mi" } } }],
      volumes: [{ name: "kafka-password", secret: { secretName: "kafka-credentials", items: [{ key: "producer", path: "password" }] } }, { name: "tmp", emptyDir: { sizeLimit: "16Mi" } }] } })' "$PRODUCER_TICKS"
}

producer_in_cluster() {
  if is_dry_run; then
    print_cmd "${KUBECTL[@]}" -n "$NS" run "$PRODUCER_POD" --restart=Never --image='<the API image>' --overrides='<the producer: --count '"$PRODUCER_TICKS"' --rate max, SCRAM user volwatch-producer from Secret kafka-credentials>'
    print_cmd "${KUBECTL[@]}" -n "$NS" wait --for=jsonpath='{.status.phase}'=Succeeded "pod/$PRODUCER_POD" --timeout "${TIMEOUT}s"
    printf '  # its summary must show "sent":%s\n' "$PRODUCER_TICKS"
    return 0
  fi
  "${KUBECTL[@]}" -n "$NS" delete pod "$PRODUCER_POD" --ignore-not-found --wait=true >/dev/null
  "${KUBECTL[@]}" -n "$NS" run "$PRODUCER_POD" --restart=Never --image=unused --overrides="$(producer_overrides)" >/dev/null
  if ! "${KUBECTL[@]}" -n "$NS" wait --for=jsonpath='{.status.phase}'=Succeeded "pod/$PRODUCER_POD" --timeout "${TIMEOUT}s" >/dev/null; then
    die "the in-cluster producer did not succeed: $("${KUBECTL[@]}" -n "$NS" get pod "$PRODUCER_POD" -o jsonpath='{.status.phase}' 2>&1); its log: $("${KUBECTL[@]}" -n "$NS" logs "$PRODUCER_POD" 2>&1 | tail -n 20)"
  fi
  local summary
  summary=$("${KUBECTL[@]}" -n "$NS" logs "$PRODUCER_POD" 2>&1 | grep '"sent"' | tail -n 1)
  [[ "$summary" == *"\"sent\":$PRODUCER_TICKS,"* ]] || die "the in-cluster producer did not send $PRODUCER_TICKS ticks: ${summary:-no summary}"
  "${KUBECTL[@]}" -n "$NS" delete pod "$PRODUCER_POD" --wait=false >/dev/null
  log "the producer sent $PRODUCER_TICKS ticks as SCRAM user volwatch-producer: $summary"
}

# rollback VARIANT: npm run rollback, which waits until every API and consumer pod serves VARIANT.
rollback() {
  local rb=("$NODE_TSX" services/rollback/main.ts --to "$1" --context "$CTX" --timeout 90)
  [[ -n "$KCFG" ]] && rb+=(--kubeconfig "$KCFG")
  if is_dry_run; then
    print_cmd "${rb[@]}"
    return 0
  fi
  local start=$SECONDS out
  out=$(cd "$VOLWATCH_ROOT" && "${rb[@]}" 2>&1) || die "npm run rollback -- --to $1 failed: $out"
  log "rollback to $1 in $((SECONDS - start)) s: $(tail -n 1 <<<"$out")"
}

rollback_without_failures() {
  if is_dry_run; then
    print_cmd "${KUBECTL[@]}" create namespace "$SMOKE_NS"
    print_cmd "${KUBECTL[@]}" -n "$SMOKE_NS" run client --restart=Never --image='<the API image>' --overrides='<client pod: POST /predict through the Service until SIGTERM>'
    rollback baseline
    print_cmd "${KUBECTL[@]}" -n "$SMOKE_NS" exec client -- node -e 'process.kill(1, "SIGTERM")'
    printf '  # the client summary must show 0 failed requests\n'
    return 0
  fi
  "${KUBECTL[@]}" get namespace "$SMOKE_NS" >/dev/null 2>&1 || "${KUBECTL[@]}" create namespace "$SMOKE_NS" >/dev/null
  "${KUBECTL[@]}" label namespace "$SMOKE_NS" pod-security.kubernetes.io/enforce=restricted --overwrite >/dev/null
  "${KUBECTL[@]}" -n "$SMOKE_NS" delete pod client --ignore-not-found >/dev/null
  "${KUBECTL[@]}" -n "$SMOKE_NS" run client --restart=Never --image=unused --overrides="$(client_overrides)" >/dev/null
  retry 120 "the client pod sends requests" client_started
  rollback baseline
  sleep 5
  "${KUBECTL[@]}" -n "$SMOKE_NS" exec client -- node -e 'process.kill(1, "SIGTERM")' >/dev/null 2>&1 || true
  retry 60 "the client pod finishes" client_done
  local summary
  summary=$("${KUBECTL[@]}" -n "$SMOKE_NS" logs client | sed -n 's/^SUMMARY //p')
  log "client through the Service during the rollback: $summary"
  node -e 'const s = JSON.parse(process.argv[1]); if (s.failed !== 0 || s.ok < 20) { console.error("failed requests during the rollback: " + process.argv[1]); process.exit(1); }' "$summary" ||
    die "the API failed requests while the variant changed"
}
client_started() { "${KUBECTL[@]}" -n "$SMOKE_NS" logs client 2>/dev/null | grep -q '^started$'; }
client_done() { [[ "$("${KUBECTL[@]}" -n "$SMOKE_NS" get pod client -o jsonpath='{.status.phase}')" == Succeeded ]]; }

log "port-forwards to Prometheus, Alertmanager and the API"
forward "$RELEASE_NAMESPACE" "svc/$RELEASE_NAME-prometheus" "$PROM_PORT:9090"
forward "$RELEASE_NAMESPACE" "svc/$RELEASE_NAME-alertmanager" "$AM_PORT:9093"
forward "$NS" svc/volwatch-api "$API_PORT:8080"
retry 30 "port-forward to Prometheus" curl -fsS -o /dev/null "$PROM/-/ready"
retry 30 "port-forward to Alertmanager" curl -fsS -o /dev/null "$AM/-/ready"
retry 30 "port-forward to the API" curl -fsS -o /dev/null "$API/health"

log "1/7 every pod in namespace $NS Ready (restricted Pod Security Standards)"
retry "$TIMEOUT" "every pod Ready" pods_ready

jobs=$(manifest_facts jobs)
[[ -n "$jobs" ]] || die "no ServiceMonitor in manifests/: run npm run synth"
log "2/7 ServiceMonitor targets up: $jobs"
# shellcheck disable=SC2086 # one argument per job
retry "$TIMEOUT" "ServiceMonitor targets up" targets_up $jobs

groups=$(manifest_facts groups)
[[ -n "$groups" ]] || die "no PrometheusRule groups in manifests/: run npm run synth"
log "3/7 rule groups loaded: $groups"
# shellcheck disable=SC2086 # one argument per group name
retry "$TIMEOUT" "rule groups loaded" rules_loaded $groups

log "4/7 POST /predict"
body_js='import { FEATURE_NAMES } from "./services/core/features"; process.stdout.write(JSON.stringify({ features: Object.fromEntries(FEATURE_NAMES.map((n) => [n, 0.01])) }));'
if is_dry_run; then
  printf '%s > %s\n' "$(print_cmd "$NODE_TSX" -e "$body_js")" "$WORK/body.json"
else
  (cd "$VOLWATCH_ROOT" && "$NODE_TSX" -e "$body_js") >"$WORK/body.json"
fi
retry 60 "POST /predict answers 200" predict_ok
is_dry_run || log "prediction: $(head -c 300 "$WORK/predict.json")"

log "5/7 ticks flow to predictions"
if ! is_dry_run && ! "${KUBECTL[@]}" -n "$NS" get statefulset kafka >/dev/null 2>&1; then
  log "skipped: no in-cluster Kafka (external bootstrap); check your Kafka's predictions topic instead"
else
  before=0
  if is_dry_run; then
    print_cmd "${KAFKA_JAVA[@]}" org.apache.kafka.tools.GetOffsetShell --bootstrap-server "$KAFKA_LOCAL" --topic predictions
  else
    before=$(predictions_offset)
  fi
  # 150 one-second ticks ending now (enough history for every feature window), keyed by
  # product like the producer does, so they stay in order within one partition.
  gen_ticks='const now = Date.now(); let p = 60000;
for (let i = 150; i > 0; i--) { p *= 1 + (Math.random() - 0.5) * 0.001;
  console.log("BTC-USD|" + JSON.stringify({ product_id: "BTC-USD", price: p.toFixed(2), best_bid: (p - 0.5).toFixed(2), best_ask: (p + 0.5).toFixed(2),
    last_size: "0.01", time: new Date(now - i * 1000).toISOString(), sequence: 1e9 + 150 - i })); }'
  if is_dry_run; then
    printf "+ node -e '<150 one-second ticks as JSON lines>' | %s\n" \
      "$(print_cmd "${KAFKA_JAVA[@]}" org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$KAFKA_LOCAL" --topic ticks "${KEYED[@]}" | cut -c3-)"
  else
    node -e "$gen_ticks" | "${KAFKA_JAVA[@]}" org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$KAFKA_LOCAL" --topic ticks "${KEYED[@]}"
  fi
  retry "$TIMEOUT" "a prediction on the predictions topic" predictions_grew "$before"
  is_dry_run || log "ticks became predictions"
  producer_in_cluster
fi

# The consumer, not the API, goes down for the alert: its rule's for: is minutes long, and the
# API's rollback under load runs in the meantime.
alert_for=$(manifest_facts for "$ALERT")
[[ -n "$alert_for" ]] || die "no alert $ALERT in the PrometheusRules of manifests/"
alert_for=$(seconds_of "$alert_for")
log "6/7 consumer scaled to zero: $ALERT (for: ${alert_for}s) must reach Alertmanager; meanwhile port-forward.sh and the rollback under load"
replicas=2
is_dry_run || replicas=$("${KUBECTL[@]}" -n "$NS" get deployment volwatch-consumer -o jsonpath='{.spec.replicas}')
restore_consumer=$replicas
k -n "$NS" scale deployment/volwatch-consumer --replicas 0
alert_deadline=$((SECONDS + alert_for + TIMEOUT))
port_forward_script_works
is_dry_run || log "scripts/port-forward.sh reached Prometheus and Alertmanager"
rollback_without_failures
retry $((alert_deadline > SECONDS ? alert_deadline - SECONDS : 1)) "$ALERT in Alertmanager" alert_in_alertmanager
is_dry_run || log "$ALERT fired and reached Alertmanager"

log "7/7 consumer back: every pod serves baseline; then back to ml"
k -n "$NS" scale deployment/volwatch-consumer --replicas "$replicas"
restore_consumer=''
k -n "$NS" rollout status deployment/volwatch-consumer --timeout "${TIMEOUT}s"
rollback baseline
# Back to the shipped variant, so a second run starts where the first did.
rollback ml
retry 60 "POST /predict answers 200 again" predict_ok

if is_dry_run; then log "dry run complete"; else log "smoke test passed"; fi
