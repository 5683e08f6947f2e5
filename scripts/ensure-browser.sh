#!/usr/bin/env bash
# The web-chat tests drive Debian's headless Chromium. Install it when missing (needs root).
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "ERROR: chromium and chromium-driver are needed for the browser tests;" \
       "install them (apt-get install chromium chromium-driver) and retry." >&2
  exit 1
fi
echo "Installing chromium and chromium-driver (Debian packages)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q chromium chromium-driver >/dev/null
