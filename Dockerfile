# One image for every Interchange process (the services, the subgraphs and the gateway). Each runs
# as `node <entry>.ts` from the repository root, exactly as scripts/system.ts starts them locally:
# Node 24 strips the TypeScript types itself, so there is no build step and no transpiler at run
# time. docker-compose.yml picks the entry per container with `command`. Without one, the image
# runs the gateway. The tag is the Node release package.json pins (devDependencies.node).
FROM node:24.21.0-bookworm-slim

WORKDIR /app

# Dependencies first, so that changing the source does not reinstall them. Production dependencies
# only: the type checker, linters and test tools stay out of the image. No install scripts:
# package.json's `allowScripts` allows only the `node` devDependency's, which is omitted here.
# NODE_ENV is deliberately left unset, as it is when the processes run locally.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm cache clean --force

# The source stays owned by root: the processes read it but never write to it.
COPY . .

# Where a process keeps its data (DATA_DIR: the orders projection's snapshots and the embedded
# event log). A volume mounted here starts with this directory's owner, so the unprivileged user can
# write to it. It is the default: the project's own default (.data/ under /app) belongs to root here.
RUN mkdir -p /data && chown node:node /data
ENV DATA_DIR=/data

# Every process binds HOST; in a container it must listen on all interfaces.
ENV HOST=0.0.0.0

# An image is for deploying: the gateway runs in production mode (no introspection, suggestions or
# playground; undocumented subgraph error messages masked). Each GraphQL process keeps /metrics and
# its detailed /readyz on an ops listener at 9100, on the container's loopback (OPS_HOST=0.0.0.0 for
# a scraper on a private network); it is not exposed. The client port's /readyz is enough for probes.
ENV PRODUCTION=true
ENV OPS_PORT=9100

USER node

EXPOSE 4000
CMD ["node", "gateway/src/main.ts"]
