#!/usr/bin/env bash
# The end-to-end tests drive Debian's chromium (playwright cannot download a browser here).
# Installs it when missing and this is a root shell with apt-get; otherwise says what to do.
set -euo pipefail
browser="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$browser" ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium for the end-to-end tests (apt-get, about 30 s)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "The end-to-end tests need Chromium at $browser: install Debian's chromium package, or set CHROMIUM_PATH." >&2
exit 1
