#!/usr/bin/env bash
# Installs Debian's chromium for the report page's browser test and the
# demo's screenshot (make browser; make test depends on it). Idempotent:
# does nothing when /usr/bin/chromium runs. Needs apt-get and root (CI and
# the developers' machines are Debian, as root); elsewhere it says why and
# exits 0, and the browser test skips with that reason.
set -euo pipefail
if /usr/bin/chromium --version >/dev/null 2>&1; then
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-chromium: no apt-get on this machine; the browser test will skip" >&2
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-chromium: not root; run 'apt-get install -y chromium' as root, or the browser test will skip" >&2
	exit 0
fi
echo "installing Debian's chromium (browser test, demo screenshot): about a minute"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
/usr/bin/chromium --version
