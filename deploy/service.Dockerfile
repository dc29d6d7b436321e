# A service built on coord. Build context: the service's directory (package.json, its lockfile if
# any, and the code; a local etcd-coord-*.tgz may sit beside them). The image runs `npm start`'s
# command directly with node, so node is PID 1 and serve() gets SIGTERM (drain, deregister, exit).
#   docker build -f deploy/service.Dockerfile -t orders ./orders
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS install
WORKDIR /app
COPY package*.json *.tgz ./
RUN if [ -f package-lock.json ]; then npm ci --omit=dev --no-audit --no-fund; else npm install --omit=dev --no-audit --no-fund; fi \
 && npm cache clean --force
COPY . .

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=install /app /app
USER node
# serve() listens on PORT (grpc.health.v1 for the probes) and exports metrics on METRICS_PORT.
EXPOSE 50051 9464
STOPSIGNAL SIGTERM
CMD ["node", "main.mjs"]
