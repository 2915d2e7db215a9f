#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo need (openssl s_server, mosquitto, valgrind, socat).
# Runs apt-get only when something is missing, and only as root or through sudo; otherwise it names
# the packages to install by hand and fails, so that a missing tool never turns into a skipped test.
set -euo pipefail
need=()
command -v openssl >/dev/null || need+=(openssl)
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v valgrind >/dev/null || need+=(valgrind)
command -v socat >/dev/null || need+=(socat)
[ ${#need[@]} -eq 0 ] && exit 0
echo "system-deps: installing ${need[*]}" >&2
if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else
  echo "system-deps: missing ${need[*]}; install them with: apt-get install ${need[*]}" >&2; exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
