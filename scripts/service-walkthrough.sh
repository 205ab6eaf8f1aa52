#!/usr/bin/env bash
# Follows docs/service.md ("Run as a service", linked from the README), step by step, under a real systemd.
#
#   npm run walkthrough:systemd          (as root; or: bash scripts/service-walkthrough.sh)
#
# It boots a minimal Debian (debootstrap, cached) as a systemd-nspawn container, with systemd as
# PID 1, and runs every ```sh block of that README section in order, as written: the first on
# this host (it builds the tarball), the rest as root inside the container. Only what the README
# leaves to the reader is supplied: a jobs module at /srv/app/jobs.js, a Redis with a password
# (port 6390, so that it never meets a Redis on this host), and an $EDITOR that sets `processor:`
# and `redis-url:` in the files it is given. A load runs from the first start to the end, and the
# script then checks that every job completed and none failed, that the reload took effect, and
# that `systemctl stop worker-pool.target` waited for the instances; that a job finds what common
# processors need under the unit's sandbox; and that the watchdog restarts a frozen supervisor.
#
# Needs root, network access to the Debian mirror and the npm registry, and about 3 minutes
# (plus a minute for the first debootstrap). The transcript goes to stdout and to
# ${WALKTHROUGH_LOG:-/tmp/worker-pool-walkthrough.log}. KEEP=1 leaves the container running.
set -euo pipefail

ROOT_DIR=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${WALKTHROUGH_CACHE:-/var/cache/worker-pool-walkthrough}
MACHINE=worker-pool-walkthrough
FS=/var/lib/machines/$MACHINE
LOG=${WALKTHROUGH_LOG:-/tmp/worker-pool-walkthrough.log}
REDIS_PORT=6390
REDIS_PASSWORD=the-redis-password

exec > >(tee "$LOG") 2>&1
say() { printf '\n=== %s\n' "$*"; }
fail() { printf '\nWALKTHROUGH FAILED: %s\n' "$*"; exit 1; }

[ "$(id -u)" = 0 ] || fail "run as root (it boots a container)"
if ! command -v systemd-nspawn >/dev/null || ! command -v debootstrap >/dev/null; then
  say "installing systemd-container and debootstrap"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd-container debootstrap >/dev/null
fi

# --- the machine -------------------------------------------------------------------------------
if [ ! -x "$CACHE/base/usr/bin/redis-server" ]; then
  say "debootstrap bookworm into $CACHE/base (once)"
  rm -rf "$CACHE/base.tmp" && mkdir -p "$CACHE"
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,procps,redis-server,curl,ca-certificates \
    bookworm "$CACHE/base.tmp" http://deb.debian.org/debian >/dev/null
  mv "$CACHE/base.tmp" "$CACHE/base"
fi

stop_machine() {
  local pid
  pid=$(pgrep -f "systemd-nspawn .*--machine=$MACHINE" || true)
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
}
cleanup() { if [ "${KEEP:-}" != 1 ]; then stop_machine; rm -rf "$FS"; fi; }
stop_machine
rm -rf "$FS" && mkdir -p /var/lib/machines && cp -a "$CACHE/base" "$FS"
trap cleanup EXIT

# Node.js and npm as this host has them (a host with a private CA or registry settings passes them on).
NODE=$(readlink -f "$(command -v node)")
NPM_DIR=$(npm root -g 2>/dev/null)/npm
cp "$NODE" "$FS/usr/bin/node"
mkdir -p "$FS/usr/lib/node_modules" && cp -a "$NPM_DIR" "$FS/usr/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$FS/usr/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$FS/usr/bin/npx"
GLOBAL_NPMRC=$(npm config get globalconfig 2>/dev/null || true)
if [ -f "$GLOBAL_NPMRC" ]; then mkdir -p "$FS/usr/etc" && cp "$GLOBAL_NPMRC" "$FS/usr/etc/npmrc"; fi
cp /etc/ssl/certs/ca-certificates.crt "$FS/etc/ssl/certs/ca-certificates.crt"

# What the README leaves to the reader.
sed -i "s/^port .*/port $REDIS_PORT/; s/^# requirepass .*/requirepass $REDIS_PASSWORD/" "$FS/etc/redis/redis.conf"
mkdir -p "$FS/srv/app"
cat > "$FS/srv/app/jobs.js" <<'EOF'
// The application's jobs, for the walkthrough: each waits job.data.ms (default 200 ms). A job
// named "sandbox" reports what common processors need from the unit's sandbox instead.
import { chownSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function sandbox() {
  const tried = (f) => { try { return f(); } catch (err) { return `error: ${err.message}`; } };
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'sandbox-')), 'owned');
  writeFileSync(file, '');
  return {
    interfaces: tried(() => Object.keys(os.networkInterfaces()).length),
    cpus: tried(() => os.cpus().length),
    chown: tried(() => (chownSync(file, process.getuid(), process.getgid()), 'ok')),
  };
}

export default async function (job) {
  if (job.name === 'sandbox') return sandbox();
  await new Promise((resolve) => setTimeout(resolve, job.data?.ms ?? 200));
  return { pid: process.pid };
}
EOF
cat > "$FS/usr/local/bin/edit-instance" <<EOF
#!/bin/sh
# \$EDITOR for the walkthrough: what a person sets in each instance file.
sed -i 's|^processor: .*|processor: /srv/app/jobs.js|; s|^redis-url: .*|redis-url: redis://127.0.0.1:$REDIS_PORT|' "\$@"
EOF
chmod 755 "$FS/usr/local/bin/edit-instance" && chmod 644 "$FS/srv/app/jobs.js"
echo "$MACHINE" > "$FS/etc/hostname"

# The walkthrough's own checks, run inside the container.
cat > "$FS/usr/local/bin/walk-redis" <<EOF
#!/bin/sh
exec redis-cli -p $REDIS_PORT -a $REDIS_PASSWORD --no-auth-warning "\$@"
EOF
cat > "$FS/usr/local/bin/walk-wait-idle" <<'EOF'
#!/bin/bash
# Until the enqueue commands have ended and no job is waiting, active or delayed (at most 2 min).
for _ in $(seq 240); do
  left=0
  for q in default remote_execution orchestrator; do
    left=$((left + $(walk-redis llen bull:$q:wait) + $(walk-redis llen bull:$q:active) + $(walk-redis zcard bull:$q:delayed)))
  done
  if [ "$left" = 0 ] && ! pgrep -f 'worker-pool enqueue' >/dev/null; then exit 0; fi
  sleep 0.5
done
echo "jobs still unfinished: $left"; exit 1
EOF
cat > "$FS/usr/local/bin/walk-all-done" <<'EOF'
#!/bin/sh
# Every job ever added to queue $1 completed, none failed.
added=$(walk-redis get bull:$1:id); completed=$(walk-redis zcard bull:$1:completed); failed=$(walk-redis zcard bull:$1:failed)
echo "     queue $1: added ${added:-0}, completed $completed, failed $failed"
[ "${added:-0}" = "$completed" ] && [ "$failed" = 0 ] && [ "$completed" -gt 0 ]
EOF
cat > "$FS/usr/local/bin/walk-status-is" <<'EOF'
#!/bin/sh
# /status on port $1 shows concurrency $2 and exactly the queues $3 (comma-separated).
curl -fsS "http://127.0.0.1:$1/status" | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const j = JSON.parse(s);
    console.log(`     concurrency ${j.concurrency}, queues ${j.queues.join(",")}`);
    process.exit(j.concurrency === Number(process.argv[1]) && j.queues.join(",") === process.argv[2] ? 0 : 1);
  });' "$2" "$3"
EOF
cat > "$FS/usr/local/bin/walk-stop-waits" <<'EOF'
#!/bin/sh
# With a 3 s job running on the orchestrator, `systemctl stop worker-pool.target` returns only
# after it has finished (the instance drains), and every instance is inactive by then.
set -e
url="redis://:$(cat /etc/worker-pool/redis-password)@127.0.0.1:$(walk-redis config get port | tail -1)"
worker-pool enqueue --redis-url "$url" --queue orchestrator --data '{"ms":3000}' >/dev/null
for i in $(seq 100); do [ "$(walk-redis llen bull:orchestrator:active)" = 1 ] && break; sleep 0.1; done
before=$(date +%s%N); systemctl stop worker-pool.target; after=$(date +%s%N)
states=$(systemctl is-active worker-pool@orchestrator worker-pool@worker worker-pool@rex | sort -u | tr '\n' ' ')
ms=$(( (after - before) / 1000000 ))
echo "     stop took $ms ms with a 3 s job running; then: $states; orchestrator completed $(walk-redis zcard bull:orchestrator:completed)"
systemctl start worker-pool.target
[ "$states" = "inactive " ] && [ "$ms" -ge 1500 ]
EOF
cat > "$FS/usr/local/bin/walk-sandbox" <<'EOF'
#!/bin/sh
# A job run under the unit's sandbox finds network interfaces (AF_NETLINK), CPUs (all of /proc)
# and may chown its own file (@chown).
set -e
url="redis://:$(cat /etc/worker-pool/redis-password)@127.0.0.1:$(walk-redis config get port | tail -1)"
worker-pool enqueue --redis-url "$url" --queue default --name sandbox >/dev/null
id=$(walk-redis get bull:default:id)
for i in $(seq 100); do [ "$(walk-redis zscore bull:default:completed "$id")" != "" ] && break; sleep 0.1; done
result=$(walk-redis hget "bull:default:$id" returnvalue)
echo "     sandbox job $id: $result"
echo "$result" | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const r = JSON.parse(s);
    process.exit(r.interfaces > 0 && r.cpus > 0 && r.chown === "ok" ? 0 : 1);
  });'
EOF
cat > "$FS/usr/local/bin/walk-watchdog" <<'EOF'
#!/bin/sh
# Type=notify with a watchdog: a supervisor frozen (SIGSTOP) longer than WatchdogSec is killed
# and restarted. Shortened to 4 s for rex here (a drop-in, as `systemctl edit` would write).
set -e
[ "$(systemctl show -p Type --value worker-pool@rex)" = notify ] || { echo "     not Type=notify"; exit 1; }
echo "     worker-pool@worker: WatchdogUSec=$(systemctl show -p WatchdogUSec --value worker-pool@worker)"
mkdir -p /run/systemd/system/worker-pool@rex.service.d
printf '[Service]\nWatchdogSec=4\n' > /run/systemd/system/worker-pool@rex.service.d/watchdog.conf
systemctl daemon-reload && systemctl restart worker-pool@rex
for i in $(seq 100); do systemctl is-active --quiet worker-pool@rex && break; sleep 0.2; done
before=$(systemctl show -p NRestarts --value worker-pool@rex); frozen=$(systemctl show -p MainPID --value worker-pool@rex)
sleep 6  # fed while healthy: no restart
[ "$(systemctl show -p NRestarts --value worker-pool@rex)" = "$before" ] || { echo "     restarted while healthy"; exit 1; }
kill -STOP "$frozen"
now=$frozen
for i in $(seq 150); do
  now=$(systemctl show -p MainPID --value worker-pool@rex)
  [ "$(systemctl show -p NRestarts --value worker-pool@rex)" -gt "$before" ] && [ "$now" != 0 ] && [ "$now" != "$frozen" ] && systemctl is-active --quiet worker-pool@rex && break
  sleep 0.2
done
echo "     frozen supervisor $frozen; now MainPID $now, restarts $before -> $(systemctl show -p NRestarts --value worker-pool@rex)"
journalctl -u worker-pool@rex --no-pager -n 50 | grep -i watchdog | tail -2 | sed 's/^/     /'
rm -rf /run/systemd/system/worker-pool@rex.service.d && systemctl daemon-reload
[ "$now" != "$frozen" ] && [ "$(systemctl show -p NRestarts --value worker-pool@rex)" -gt "$before" ]
EOF
chmod 755 "$FS"/usr/local/bin/walk-*

# systemd-nspawn refuses to clean up a non-tmpfs /run, and expects the inaccessible nodes that a
# host booted with systemd has; provide both when this host has no systemd as PID 1.
if [ "$(stat -f -c %T /run/systemd/nspawn 2>/dev/null)" != tmpfs ]; then
  mkdir -p /run/systemd/nspawn && mount -t tmpfs tmpfs /run/systemd/nspawn
fi
if [ ! -e /run/systemd/inaccessible/reg ]; then
  mkdir -p /run/systemd/inaccessible && (cd /run/systemd/inaccessible && touch reg && mkdir -p dir && chmod 000 reg dir)
fi

say "booting $MACHINE (systemd as PID 1)"
setsid systemd-nspawn -D "$FS" -b --machine="$MACHINE" --register=no --keep-unit --console=pipe \
  </dev/null >"$CACHE/console.log" 2>&1 &
INIT=""
for _ in $(seq 150); do
  INIT=$(pgrep -f "^/usr/lib/systemd/systemd" -P "$(pgrep -f "systemd-nspawn .*--machine=$MACHINE" | head -1)" 2>/dev/null || true)
  [ -n "$INIT" ] && break
  sleep 0.2
done
[ -n "$INIT" ] || { cat "$CACHE/console.log"; fail "the container did not boot"; }

# Run a shell script as root inside the container, from /root, with a login-like environment.
inside() {
  nsenter -t "$INIT" -a /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 SYSTEMD_PAGER= SYSTEMD_COLORS=0 EDITOR=edit-instance /bin/bash -c "cd /root && $1"
}
# Until its system bus is up, systemctl cannot ask; then --wait returns once boot has finished.
state=""
for _ in $(seq 100); do
  state=$(inside 'systemctl is-system-running --wait 2>/dev/null' || true)
  case "$state" in running | degraded) break ;; esac
  sleep 0.3
done
echo "systemd in the container: $(inside 'systemctl --version | head -1'), PID 1 is $(inside 'ps -p 1 -o comm=') , system $state"
[ "$state" = running ] || { inside 'systemctl --failed --no-legend'; fail "system state is $state"; }

# --- the README's blocks -------------------------------------------------------------------------
BLOCKS=$(mktemp -d)
trap 'cleanup; rm -rf "$BLOCKS"' EXIT
awk -v dir="$BLOCKS" '
  /^## / { on = ($0 == "## Run as a service") }
  on && /^```sh$/ { n++; file = sprintf("%s/%02d.sh", dir, n); inblock = 1; next }
  inblock && /^```$/ { inblock = 0; close(file); next }
  inblock { print > file }
' "$ROOT_DIR/docs/service.md"
COUNT=$(ls "$BLOCKS" | wc -l)
[ "$COUNT" -ge 8 ] || fail "found only $COUNT sh blocks in docs/service.md's \"Run as a service\""

# Wait until every enabled instance is active and answers /readyz on its own port (a person
# would look before going on; under load, systemd's sandbox set-up alone can take a second).
settle() {
  inside '
    for f in /etc/worker-pool/*.yml; do
      name=$(basename "$f" .yml)
      systemctl is-enabled --quiet "worker-pool@$name" || continue
      port=$(sed -n "s/^metrics-port: *//p" "$f")
      for i in $(seq 150); do
        systemctl is-active --quiet "worker-pool@$name" && curl -fs -o /dev/null "http://127.0.0.1:$port/readyz" && break
        sleep 0.2
      done
    done'
}

LOAD_STARTED=0
for block in "$BLOCKS"/*.sh; do
  n=$(basename "$block" .sh)
  say "README block $n"
  sed 's/^/    /' "$block"
  if [ "$n" = 01 ]; then
    # Built on this host, in the checkout: the tarball, then into the container.
    (cd "$ROOT_DIR" && set -x && bash -euo pipefail "$block")
    cp "$ROOT_DIR"/bullmq-worker-pool-*.tgz "$FS/root/" && rm -f "$ROOT_DIR"/bullmq-worker-pool-*.tgz
    continue
  fi
  # One shell for all container blocks, as a person at one terminal: variables such as PKG carry over.
  { echo 'set -euxo pipefail'; [ -f "$FS/root/env.sh" ] && echo '. /root/env.sh'; cat "$block"; echo 'declare -p PKG > /root/env.sh 2>/dev/null || true'; } > "$FS/root/run-$n.sh"
  inside "bash /root/run-$n.sh" || fail "README block $n failed"
  settle
  if [ "$LOAD_STARTED" = 0 ] && inside 'systemctl is-active --quiet worker-pool@worker'; then
    say "load: 40 jobs/s on default and 10/s on remote_execution (0.3 s each) for 40 s, 20 on orchestrator"
    inside "R=redis://:$REDIS_PASSWORD@127.0.0.1:$REDIS_PORT
      (worker-pool enqueue --redis-url \$R --queue default --rate 40 --count 1600 --data '{\"ms\":300}' >/root/load-default.log 2>&1 &)
      (worker-pool enqueue --redis-url \$R --queue remote_execution --rate 10 --count 400 --data '{\"ms\":300}' >/root/load-rex.log 2>&1 &)
      worker-pool enqueue --redis-url \$R --queue orchestrator --count 20 --data '{\"ms\":50}'"
    LOAD_STARTED=1
  fi
done

# --- what must hold afterwards -------------------------------------------------------------------
say "the process titles (ps -fp MAINPID; ps -f --ppid MAINPID)"
inside 'MAIN=$(systemctl show -p MainPID --value worker-pool@worker); ps -fp $MAIN; ps -f --ppid $MAIN'

say "checks"
problems=0
check() { if inside "$2"; then echo "ok   $1"; else echo "FAIL $1"; problems=$((problems + 1)); fi; }
check "the shipped instances and rex are active" 'systemctl is-active --quiet worker-pool@orchestrator worker-pool@worker worker-pool@rex'
check "worker-1 was removed" '! systemctl is-enabled --quiet worker-pool@worker-1'
check "the reloads applied concurrency 10 and queues [default] to worker" 'walk-status-is 9465 10 default'
check "systemctl stop worker-pool.target returned only after the instances had drained" 'walk-stop-waits'
settle
check "the load has finished (nothing waiting, active or delayed)" 'walk-wait-idle'
check "a job finds network interfaces, CPUs and may chown under the unit's sandbox" 'walk-sandbox'
for q in default remote_execution orchestrator; do
  check "every $q job completed, none failed" "walk-all-done $q"
done
check "Type=notify: a frozen supervisor is restarted by the watchdog" 'walk-watchdog'

if [ "$problems" != 0 ]; then
  inside 'systemctl list-units --all --no-pager "worker-pool*"; for p in 9464 9465 9466; do worker-pool status --url http://127.0.0.1:$p || true; done'
  fail "$problems check(s) failed"
fi
say "WALKTHROUGH OK: every step of \"Run as a service\" ran under systemd as PID 1"
