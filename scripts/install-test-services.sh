#!/usr/bin/env bash
# Installs the real services the test suite needs (Debian packages): PostgreSQL and Chromium.
# The tests start their own PostgreSQL cluster in a temporary folder and stop it afterwards.
set -euo pipefail
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -qi dejavu || need+=(fonts-dejavu-core)
if [ ${#need[@]} -eq 0 ]; then
  echo "test services: PostgreSQL and Chromium present"
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "test services: missing ${need[*]} and not root; tests needing them will skip (or fail under CI)" >&2
  exit 0
fi
echo "test services: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts a default cluster on install; the tests use their own, so stop it again.
if command -v pg_ctlcluster >/dev/null 2>&1; then
  for c in $(pg_lsclusters -h 2>/dev/null | awk '{print $1"/"$2}'); do pg_ctlcluster ${c%/*} ${c#*/} stop || true; done
fi
