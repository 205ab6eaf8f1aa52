# The worker-pool daemon as a container image (docs/container.md):
#
#   docker build -t bullmq-worker-pool .
#   docker run --rm -v ./jobs.js:/app/jobs/jobs.js:ro -e WORKER_POOL_REDIS_URL=redis://redis:6379 \
#     bullmq-worker-pool --queues default --processor /app/jobs/jobs.js
#
# BASE is any Debian 12 image with Node 20 and npm in /usr/local/bin, as the official node image
# is. `npm run image` (scripts/image.sh) builds one from Debian packages and the npm registry where
# no image can be pulled, and passes it here.
ARG BASE=node:20-bookworm-slim

# ---- build: compile the TypeScript with the dev dependencies, then drop them.
FROM ${BASE} AS build
# Marks this stage's images, so that `npm run image` can drop the ones older builds left behind.
LABEL io.github.bullmq-worker-pool.stage=build
WORKDIR /src
COPY package.json package-lock.json ./
# npm settings of the machine that builds (a registry mirror, its CA, a token) come in as build
# secrets, which are mounted for this one command and never stored in a layer:
#   docker build --secret id=npmrc,src=$HOME/.npmrc [--secret id=npm-ca,src=CA.pem] .
# Without them npm uses the public registry. --ignore-scripts: nothing needs an install script
# (msgpackr-extract's only looks for the prebuilt binary npm already installed), and `prepare`
# would build before the sources are here.
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc \
    --mount=type=secret,id=npm-ca,target=/run/secrets/npm-ca \
    npm ci --ignore-scripts --no-audit --no-fund --no-update-notifier
COPY tsconfig.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# ---- the image: Node, tini, the built daemon and its production dependencies; nothing else.
FROM ${BASE}
# tini is PID 1: it reaps every orphan that ends up with PID 1 (a tool a job started in the
# background), which Node cannot do, and hands SIGTERM to the daemon alone, which drains its
# workers (as systemd's KillMode=mixed). The base of `npm run image` already has it.
RUN command -v tini >/dev/null 2>&1 \
    || (apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*)
RUN groupadd --gid 10001 worker-pool \
    && useradd --uid 10001 --gid worker-pool --home-dir /app --no-create-home --shell /usr/sbin/nologin worker-pool
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY bin ./bin
COPY config ./config

# HTTP (/metrics /healthz /readyz /status /scaler …) on every address of the container, so that
# probes and Prometheus reach it. Without credentials, as an exporter: only where the port is
# published or the network shared. Give --http-config to ask for them (every path but /healthz and
# /readyz); the Kubernetes manifests do. docs/container.md, "HTTP and its access".
ENV WORKER_POOL_METRICS_HOST=0.0.0.0 \
    WORKER_POOL_METRICS_PORT=9464 \
    WORKER_POOL_HTTP_INSECURE=true \
    NODE_ENV=production
# Docker and podman stop with SIGTERM and SIGKILL 10 s later: the daemon's stop fits in that budget
# (running jobs until 6 s, handed back by 8 s, exited by 9 s, even with Redis not answering).
# `docker stop -t N` / `docker run --stop-timeout N` change the platform's side: give the daemon the
# same N (WORKER_POOL_STOP_BUDGET=N). docs/container.md, "Stopping within the platform's budget".
ENV WORKER_POOL_STOP_BUDGET=10
EXPOSE 9464
USER 10001:10001
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.WORKER_POOL_METRICS_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "-s", "--", "node", "/app/bin/worker-pool"]
