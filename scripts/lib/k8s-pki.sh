# shellcheck shell=bash
# Certificates and kubeconfigs of the ephemeral clusters (scripts/control-plane.sh, scripts/node-up.sh):
# one EC P-256 CA per cluster directory, certificates signed by it, kubeconfigs with embedded data.
# Source it from a script that defines run (prints in a dry run) and die; DRY_RUN=1 prints only.
#
#   pki_ca DIR                                  DIR/ca.{key,crt}, unless present
#   pki_cert DIR NAME SUBJECT USAGE [SAN]       DIR/NAME.{key,crt} signed by DIR/ca, unless present;
#                                               USAGE is serverAuth, clientAuth or "serverAuth,clientAuth";
#                                               SAN like "IP:10.244.0.1,DNS:volwatch-node"
#   pki_kubeconfig FILE SERVER DIR NAME [CONTEXT]  kubeconfig for the certificate DIR/NAME; its
#                                               cluster and context are CONTEXT [volwatch-ephemeral]
#
# openssl's chatter goes to DIR/openssl.log, shown only when a command fails.

PKI_DAYS=3650

_pki_dry() { [[ "${DRY_RUN:-0}" == 1 ]]; }

_pki_ossl() {
  local dir="$1"
  shift
  if _pki_dry; then
    run openssl "$@"
  else
    openssl "$@" 2>>"$dir/openssl.log" || die "openssl $1 failed; see $dir/openssl.log"
  fi
}

pki_ca() {
  local dir="$1"
  [[ -f "$dir/ca.key" && -f "$dir/ca.crt" ]] && return 0
  run mkdir -p "$dir"
  _pki_ossl "$dir" req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days "$PKI_DAYS" \
    -subj "/CN=volwatch-ephemeral-ca" -keyout "$dir/ca.key" -out "$dir/ca.crt"
}

pki_cert() {
  local dir="$1" name="$2" subject="$3" usage="$4" san="${5:-}"
  [[ -f "$dir/$name.key" && -f "$dir/$name.crt" ]] && return 0
  local ext=("extendedKeyUsage=$usage" "keyUsage=critical,digitalSignature,keyEncipherment")
  [[ -n "$san" ]] && ext+=("subjectAltName=$san")
  _pki_ossl "$dir" req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "$subject" \
    -keyout "$dir/$name.key" -out "$dir/$name.csr"
  _pki_ossl "$dir" x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days "$PKI_DAYS" -out "$dir/$name.crt" -extfile <(printf '%s\n' "${ext[@]}")
}

pki_kubeconfig() {
  local file="$1" server="$2" dir="$3" name="$4" ctx="${5:-volwatch-ephemeral}"
  if _pki_dry; then
    printf '+ (write %s: cluster %s, user %s with the client certificate)\n' "$file" "$server" "$name"
    return 0
  fi
  (
    umask 077
    cat >"$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: $ctx
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 "$dir/ca.crt")
users:
- name: $name
  user:
    client-certificate-data: $(base64 -w0 "$dir/$name.crt")
    client-key-data: $(base64 -w0 "$dir/$name.key")
contexts:
- name: $ctx
  context:
    cluster: $ctx
    user: $name
current-context: $ctx
EOF
    mv "$file.tmp" "$file"
  )
}
