#!/usr/bin/env bash
# Makes sure the programs the tests drive are installed, before `npm test` runs them (its pretest).
#
# The tests use real parts: redis-server (every test, and Sentinel/Cluster rigs), Prometheus and
# promtool (dashboard and alert rules), Chromium (the live page, through playwright-core, which
# never downloads a browser), systemd-analyze (the unit files; it works without systemd as PID 1),
# openssl (a self-signed certificate for rediss://), iproute2 (network namespaces as hosts) and
# python3 (the sd_notify test plays systemd's side on a unix datagram socket, which Node lacks).
# Missing ones are installed from Debian/Ubuntu packages when this runs as root with apt-get;
# otherwise it prints one line naming exactly what to install, and fails.
# WORKER_POOL_TEST_PREREQUISITES=skip leaves the check out (a test then fails on what it lacks).
set -euo pipefail

[ "${WORKER_POOL_TEST_PREREQUISITES:-}" = skip ] && exit 0

missing=()   # Debian package names, one per missing program
need() { # need PACKAGE PROGRAM...: the package when any of the programs is missing
  local pkg=$1 prog
  shift
  for prog in "$@"; do
    case $prog in
      /*) [ -x "$prog" ] && continue ;;
      *) command -v "$prog" >/dev/null 2>&1 && continue ;;
    esac
    missing+=("$pkg")
    return
  done
}
need redis-server redis-server redis-cli
need prometheus prometheus promtool
need chromium /usr/bin/chromium
need systemd systemd-analyze
need openssl openssl
need iproute2 ip
need python3 python3

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$EUID" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test prerequisites: installing ${missing[*]} (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi

echo "npm test needs ${missing[*]}: install them (Debian/Ubuntu: sudo apt-get install -y ${missing[*]}), or run npm test as root to have them installed" >&2
exit 1
