# shellcheck shell=bash
# What scripts/kind-up.sh and scripts/node-up.sh both do once a cluster answers: install
# kube-prometheus-stack with Helm, then apply manifests/ the way users do and wait for the
# rollouts. Source after scripts/lib/common.sh and load_chart_env, set the arrays
#   KUBECTL=(kubectl --context CTX ...)   HELM=(helm --kube-context CTX ...)
# then call:
#   install_grafana_secret                 the admin Secret the chart's Grafana reads (random password,
#                                          kept when it exists; never on a command line)
#   install_chart CHART [helm args...]     helm upgrade --install of CHART (a repo/name or a .tgz)
#                                          with charts/kube-prometheus-stack/values.yaml and the
#                                          extra args (more --values, --version, ...)
#   apply_manifests DIR                    the namespace, the Kafka credentials Secret (when DIR has the
#                                          broker), core objects, then (after the CRDs) the
#                                          monitoring.coreos.com ones
#   wait_rollouts DIR [TIMEOUT]            broker, topic Job, API and consumer ready
CHART_VALUES="$VOLWATCH_ROOT/charts/kube-prometheus-stack/values.yaml"
APP_NAMESPACE=volwatch

k() { run "${KUBECTL[@]}" "$@"; }

ensure_namespace() {
  if is_dry_run; then
    print_cmd "${KUBECTL[@]}" create namespace "$1"
  elif ! "${KUBECTL[@]}" get namespace "$1" >/dev/null 2>&1; then
    "${KUBECTL[@]}" create namespace "$1" >/dev/null
  fi
}

# create_secret_once NS NAME WHAT KEY[=VALUE]...: creates Secret NAME in NS unless it exists (its
# values are then kept), each KEY with VALUE or, without one, a random 32-character password
# (WHAT names them in the plan). Through stdin, never a command line, where `ps` shows it to every
# user; and created, not applied: apply copies its input, passwords included, into the
# last-applied-configuration annotation that `kubectl describe` prints.
create_secret_once() {
  local ns="$1" name="$2" what="$3" spec key value doc
  shift 3
  if is_dry_run; then
    printf '+ (generate %s) | %s\n' "$what" "$(print_cmd "${KUBECTL[@]}" -n "$ns" create -f - | cut -c3-)"
    return 0
  fi
  if "${KUBECTL[@]}" -n "$ns" get secret "$name" >/dev/null 2>&1; then
    log "Secret $name exists: keeping its values"
    return 0
  fi
  doc=$(printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: %s\ntype: Opaque\nstringData:' "$name" "$ns")
  for spec in "$@"; do
    key="${spec%%=*}"
    if [[ "$spec" == *=* ]]; then
      value="${spec#*=}"
    else
      value=$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 || true)
      [[ ${#value} -eq 32 ]] || die "could not generate a password for $name/$key from /dev/urandom"
    fi
    doc+=$(printf '\n  %s: %s' "$key" "$value")
  done
  printf '%s\n' "$doc" | "${KUBECTL[@]}" create -f - >/dev/null
  unset value doc
}

install_grafana_secret() {
  ensure_namespace "$RELEASE_NAMESPACE"
  create_secret_once "$RELEASE_NAMESPACE" "$GRAFANA_ADMIN_SECRET" 'a random 32-character password' admin-user=admin admin-password
}

install_chart() {
  local chart="$1"
  shift
  run "${HELM[@]}" upgrade --install "$RELEASE_NAME" "$chart" --namespace "$RELEASE_NAMESPACE" --create-namespace \
    --values "$CHART_VALUES" "$@" --wait --timeout 15m
}

# The SCRAM passwords of the in-cluster broker's users (cdk8s/kafka-broker.ts KAFKA_USERS), one
# key each, random and kept when the Secret exists; through stdin, never a command line.
KAFKA_CREDENTIALS_SECRET=kafka-credentials
KAFKA_CREDENTIAL_KEYS=(consumer producer topics)
install_kafka_credentials() {
  create_secret_once "$APP_NAMESPACE" "$KAFKA_CREDENTIALS_SECRET" "a random 32-character password for each of ${KAFKA_CREDENTIAL_KEYS[*]}" "${KAFKA_CREDENTIAL_KEYS[@]}"
}

apply_manifests() {
  local dir="$1" f core=() crd=()
  # Anything of monitoring.coreos.com needs the chart's CRDs first.
  for f in "$dir"/*.yaml; do
    [[ -e "$f" ]] || die "no *.yaml in $dir: run npm run synth"
    if grep -q '^apiVersion: monitoring.coreos.com/' "$f"; then crd+=("$f"); else core+=("$f"); fi
  done
  for f in "${core[@]}"; do
    # --force-conflicts: the manifests are the source of truth; a re-run restores them.
    k apply --server-side --force-conflicts --field-manager=volwatch -f "$f"
    # The broker and its clients read their passwords from this Secret: it exists before they start.
    if grep -q '^kind: Namespace' "$f" && grep -q "secretName: $KAFKA_CREDENTIALS_SECRET" "$dir"/*.yaml; then
      install_kafka_credentials
    fi
  done
  k wait --for=condition=Established --timeout=180s \
    crd/servicemonitors.monitoring.coreos.com crd/prometheusrules.monitoring.coreos.com
  for f in "${crd[@]}"; do
    k apply --server-side --force-conflicts --field-manager=volwatch -f "$f"
  done
}

wait_rollouts() {
  local dir="$1" timeout="${2:-300s}"
  if grep -q '^kind: StatefulSet' "$dir"/*.yaml; then
    k -n "$APP_NAMESPACE" rollout status statefulset/kafka --timeout="$timeout"
    k -n "$APP_NAMESPACE" wait --for=condition=complete job/kafka-topics --timeout="$timeout"
  fi
  k -n "$APP_NAMESPACE" rollout status deployment/volwatch-api --timeout="$timeout"
  k -n "$APP_NAMESPACE" rollout status deployment/volwatch-consumer --timeout="$timeout"
}
