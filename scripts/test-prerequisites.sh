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
declare -A why # package -> what the tests use it for (said while it installs)
need() { # need PACKAGE WHY PROGRAM...: the package when any of the programs is missing
  local pkg=$1 prog
  why[$pkg]=$2
  shift 2
  for prog in "$@"; do
    case $prog in
      /*) [ -x "$prog" ] && continue ;;
      *) command -v "$prog" >/dev/null 2>&1 && continue ;;
    esac
    missing+=("$pkg")
    return
  done
}
need redis-server 'Redis, for every test and the Sentinel and Cluster rigs' redis-server redis-cli
need prometheus 'Prometheus and promtool, for the dashboard and alert-rule tests' prometheus promtool
need chromium 'a headless browser for the live-page and job-board tests (the largest download, most of the wait)' /usr/bin/chromium
need systemd 'systemd-analyze, to check the unit files' systemd-analyze
need openssl 'openssl, for the certificates of the TLS tests' openssl
need iproute2 'ip, for the network namespaces that play hosts in the fleet tests' ip
need python3 'python3, which plays systemd in the sd_notify test' python3

[ ${#missing[@]} -eq 0 ] && exit 0

say() { echo "test prerequisites: $*" >&2; }

if [ "$EUID" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  # One line per step, with what and why, so a first `npm test` does not look stuck for minutes.
  log=$(mktemp "${TMPDIR:-/tmp}/worker-pool-apt-XXXXXX.log")
  run() { # run STEP COMMAND...: apt-get quietly into the log; its tail on failure
    local step=$1 started=$SECONDS
    shift
    if ! "$@" >"$log" 2>&1; then
      say "$step failed; the last lines of apt-get:"
      tail -n 20 "$log" >&2
      rm -f "$log"
      exit 1
    fi
    say "  done in $((SECONDS - started)) s"
  }
  total=$SECONDS
  say "${#missing[@]} missing (${missing[*]}); installing them with apt-get, as root; this can take a few minutes"
  export DEBIAN_FRONTEND=noninteractive
  say "updating the package lists (apt-get update)"
  run 'apt-get update' apt-get update -q
  i=0
  for pkg in "${missing[@]}"; do
    i=$((i + 1))
    say "[$i/${#missing[@]}] installing $pkg: ${why[$pkg]}"
    run "apt-get install $pkg" apt-get install -y -q "$pkg"
  done
  rm -f "$log"
  say "all installed in $((SECONDS - total)) s"
  exit 0
fi

echo "npm test needs ${missing[*]}: install them (Debian/Ubuntu: sudo apt-get install -y ${missing[*]}), or run npm test as root to have them installed" >&2
exit 1
