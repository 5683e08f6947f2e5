#!/usr/bin/env bash
# The deploy tests validate deploy/docker-compose.yml with Compose's own parser. Install
# Debian's docker-compose (1.29.2) when neither the Compose plugin (`docker compose`) nor the
# standalone `docker-compose` is there (needs root). Idempotent: exits at once when one works.
set -euo pipefail
if docker compose version >/dev/null 2>&1; then exit 0; fi
if docker-compose version >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "ERROR: Docker Compose is needed for the deploy tests; install the compose plugin" \
       "or Debian's docker-compose (apt-get install docker-compose) and retry." >&2
  exit 1
fi
echo "Installing docker-compose (Debian package)"
export DEBIAN_FRONTEND=noninteractive
# The package lists may be stale or missing (a fresh container): refresh them once on failure.
apt-get install -y -q --no-install-recommends docker-compose >/dev/null 2>&1 || {
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends docker-compose >/dev/null
}
docker-compose version >/dev/null
