#!/usr/bin/env bash
# Creates the certificates for member-to-member TLS (docs/tls.md) with openssl:
#   - ca.key / ca.crt           the cluster's CA (EC P-256). ca.key signs member certificates: keep it
#                               off the members (only ca.crt is mounted into them);
#   - <member>.key / .crt       one certificate per member, SAN = DNS:<member> (the host the others
#                               dial, the compose service name) plus $VSLS_TLS_EXTRA_SAN, usable as TLS
#                               server and client certificate (members authenticate each other);
#   - <member>.pfx              the same key and certificate as PKCS#12, protected by $VSLS_TLS_PASSWORD.
# usage: VSLS_TLS_PASSWORD=... docker/make-certs.sh [out-dir] [member...]
#        defaults: docker/certs, member-1 member-2 member-3. An existing CA in out-dir is reused, so a
#        member added later gets a certificate from the same CA.
# Environment: VSLS_TLS_EXTRA_SAN (default "DNS:localhost,IP:127.0.0.1", for members on one machine;
# set it empty for certificates that name their member only), VSLS_TLS_DAYS (default 397).
set -euo pipefail
out="${1:-$(dirname "$0")/certs}"
[ $# -gt 0 ] && shift
members=("$@")
[ ${#members[@]} -eq 0 ] && members=(member-1 member-2 member-3)
: "${VSLS_TLS_PASSWORD:?set VSLS_TLS_PASSWORD: it protects the .pfx files (members read it from the same variable)}"
extra_san="${VSLS_TLS_EXTRA_SAN-DNS:localhost,IP:127.0.0.1}"
days="${VSLS_TLS_DAYS:-397}"

mkdir -p "$out"
cd "$out"
umask 077
if [ ! -f ca.key ]; then
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 1825 \
    -subj "/CN=VSLS cluster CA" -keyout ca.key -out ca.crt \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  echo "created CA $out/ca.crt"
fi
for m in "${members[@]}"; do
  san="DNS:$m${extra_san:+,$extra_san}"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$m" \
    -keyout "$m.key" -out "$m.csr" 2>/dev/null
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=$san" > "$m.ext"
  openssl x509 -req -in "$m.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days "$days" -sha256 \
    -extfile "$m.ext" -out "$m.crt" 2>/dev/null
  openssl pkcs12 -export -inkey "$m.key" -in "$m.crt" -certfile ca.crt -name "$m" \
    -passout env:VSLS_TLS_PASSWORD -out "$m.pfx"
  rm -f "$m.csr" "$m.ext"
  echo "created $out/$m.pfx ($san)"
done
# The container's user (UID 1654) must read what is mounted: the CA certificate, the certificates and
# the password-protected .pfx files. The unencrypted .key files and ca.key stay readable by you only.
chmod 644 ca.crt ./*.crt ./*.pfx
