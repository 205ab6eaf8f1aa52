#!/usr/bin/env bash
# Runs the README's test command, `npm ci && npm test`, on a fresh machine: a minimal Debian
# (debootstrap, cached) with nothing but Node.js and npm added, in a systemd-nspawn container.
# It proves that the test command installs what the tests need (redis-server, Prometheus,
# Chromium, systemd-analyze, openssl, iproute2, python3) and that they then pass.
#
#   npm run test:fresh-machine                       (as root; the whole suite, ~10 minutes)
#   npm run test:fresh-machine -- test/e2e/x.test.ts (only these test files, after the same set-up)
#
# The checkout under test is this repository's HEAD (git archive: commit first). Needs root and
# network access to the Debian mirror and the npm registry. The transcript goes to stdout and to
# ${FRESH_LOG:-/tmp/worker-pool-fresh-machine.log}.
set -euo pipefail

ROOT_DIR=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${FRESH_CACHE:-/var/cache/worker-pool-fresh-machine}
FS=$(mktemp -d /var/tmp/worker-pool-fresh.XXXXXX)
LOG=${FRESH_LOG:-/tmp/worker-pool-fresh-machine.log}

exec > >(tee "$LOG") 2>&1
say() { printf '\n=== %s\n' "$*"; }
fail() { printf '\nFRESH MACHINE TEST FAILED: %s\n' "$*"; exit 1; }

[ "$(id -u)" = 0 ] || fail "run as root (it makes a container)"
if ! command -v systemd-nspawn >/dev/null || ! command -v debootstrap >/dev/null; then
  say "installing systemd-container and debootstrap"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd-container debootstrap >/dev/null
fi

if [ ! -d "$CACHE/base/usr" ]; then
  say "debootstrap bookworm into $CACHE/base (once): minbase, nothing of the tests' own"
  rm -rf "$CACHE/base.tmp" && mkdir -p "$CACHE"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$CACHE/base.tmp" http://deb.debian.org/debian >/dev/null
  mv "$CACHE/base.tmp" "$CACHE/base"
fi
trap 'rm -rf "$FS"' EXIT
cp -a "$CACHE/base/." "$FS/"

# Node.js and npm as this host has them ("a machine with Node"), and the host's npm settings.
NODE=$(readlink -f "$(command -v node)")
NPM_DIR=$(npm root -g 2>/dev/null)/npm
cp "$NODE" "$FS/usr/bin/node"
mkdir -p "$FS/usr/lib/node_modules" && cp -a "$NPM_DIR" "$FS/usr/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$FS/usr/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$FS/usr/bin/npx"
GLOBAL_NPMRC=$(npm config get globalconfig 2>/dev/null || true)
if [ -f "$GLOBAL_NPMRC" ]; then mkdir -p "$FS/usr/etc" && cp "$GLOBAL_NPMRC" "$FS/usr/etc/npmrc"; fi
cp /etc/ssl/certs/ca-certificates.crt "$FS/etc/ssl/certs/ca-certificates.crt"
cp /etc/resolv.conf "$FS/etc/resolv.conf"

mkdir -p "$FS/src/worker-pool"
git -C "$ROOT_DIR" archive HEAD | tar -x -C "$FS/src/worker-pool"

# (openssl comes with ca-certificates, which any machine that fetches from npm over https has.)
for prog in redis-server prometheus promtool chromium systemd-analyze ip python3; do
  if chroot "$FS" /bin/sh -c "command -v $prog" >/dev/null 2>&1; then fail "$prog is already in the fresh machine"; fi
done
echo "fresh machine: Debian $(cat "$FS/etc/debian_version"), node $("$FS/usr/bin/node" --version), no redis-server, prometheus, chromium, systemd-analyze, ip or python3"

# systemd-nspawn refuses to clean up a non-tmpfs /run, and expects the inaccessible nodes that a
# host booted with systemd has; provide both when this host has no systemd as PID 1.
if [ "$(stat -f -c %T /run/systemd/nspawn 2>/dev/null)" != tmpfs ]; then
  mkdir -p /run/systemd/nspawn && mount -t tmpfs tmpfs /run/systemd/nspawn
fi
if [ ! -e /run/systemd/inaccessible/reg ]; then
  mkdir -p /run/systemd/inaccessible && (cd /run/systemd/inaccessible && touch reg && mkdir -p dir && chmod 000 reg dir)
fi

ARGS=""
[ $# -gt 0 ] && ARGS=" -- $*"
say "in the container, as root: npm ci && npm test$ARGS"
start=$(date +%s)
set +e
systemd-nspawn -D "$FS" --register=no --keep-unit --pipe --chdir=/src/worker-pool \
  -E PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin -E HOME=/root -E LANG=C.UTF-8 -E CI=1 \
  /bin/bash -c "npm ci --no-audit --no-fund && npm test$ARGS" </dev/null
rc=$?
set -e
say "exit $rc after $(( $(date +%s) - start )) s"
[ $rc = 0 ] || fail "npm ci && npm test exited $rc"
echo "FRESH MACHINE TEST PASSED"
