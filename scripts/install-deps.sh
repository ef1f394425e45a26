#!/usr/bin/env bash
# Installs the Debian packages brender needs to build, test and render, when they are missing.
# As root it installs them; otherwise it prints the command to run.
set -euo pipefail

missing=()
dpkg -s libsqlite3-dev >/dev/null 2>&1 || missing+=(libsqlite3-dev)
command -v blender >/dev/null 2>&1 || missing+=(blender)
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
# The chaos suite's real network partition: a network namespace and packets dropped in it.
[ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || missing+=(iproute2)
[ -x /usr/sbin/iptables ] || missing+=(iptables)
# The HTTPS tests make a certificate authority and a server certificate with it.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# The completions are checked in each shell, the manual pages under groff, the units by systemd-analyze.
command -v zsh >/dev/null 2>&1 || missing+=(zsh)
command -v fish >/dev/null 2>&1 || missing+=(fish)
command -v groff >/dev/null 2>&1 || missing+=(groff-base)
[ -x /usr/bin/systemd-analyze ] || missing+=(systemd)
# The package is made with dpkg-deb and tested in a Debian root made by debootstrap.
[ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
command -v strip >/dev/null 2>&1 || missing+=(binutils)
# The dashboard is tested in a real browser: Debian's chromium, driven through its chromium-driver.
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)

# The metrics test parses /metrics with the Prometheus project's own parser.
if ! python3 -c "import prometheus_client" >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check prometheus-client >&2 || echo "could not install prometheus-client from PyPI" >&2
fi
# ... and the dashboard's browser test drives chromium with selenium.
if ! python3 -c "import selenium" >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check selenium >&2 || echo "could not install selenium from PyPI" >&2
fi

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "brender needs these Debian packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "installing ${missing[*]} ..." >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
