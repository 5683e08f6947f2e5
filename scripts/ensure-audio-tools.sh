#!/usr/bin/env bash
# The speech tests synthesise answers with espeak-ng and convert them with sox and ffmpeg.
# Install the Debian packages when missing (needs root).
set -euo pipefail
if command -v espeak-ng >/dev/null && command -v sox >/dev/null && command -v ffmpeg >/dev/null; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ERROR: espeak-ng, sox and ffmpeg are needed for the speech tests;" \
       "install them (apt-get install espeak-ng sox ffmpeg) and retry." >&2
  exit 1
fi
echo "Installing espeak-ng, sox and ffmpeg (Debian packages)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q espeak-ng sox ffmpeg >/dev/null
