# One image for every Interchange process (the services, the subgraphs and the gateway). Each runs
# as `node --import tsx <entry>` from the repository root, exactly as scripts/system.ts starts them
# locally; docker-compose.yml picks the entry per container with `command`. Without one, the image
# runs the gateway.
FROM node:20-bookworm-slim

WORKDIR /app

# Dependencies first, so that changing the source does not reinstall them.
# Dev dependencies are installed too: tsx, which runs the TypeScript in production, is a
# devDependency in package.json. Once it moves to `dependencies`, add `--omit=dev` here.
# No install scripts: package.json's `allowScripts` denies all of them (esbuild, which tsx uses,
# finds its platform binary through its optional dependency without its postinstall script).
# NODE_ENV is deliberately left unset, as it is when the processes run locally.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm cache clean --force

# The source stays owned by root: the processes read it but never write to it (tsx keeps its
# transform cache under /tmp).
COPY . .

# Every process binds HOST; in a container it must listen on all interfaces.
ENV HOST=0.0.0.0

USER node

EXPOSE 4000
CMD ["node", "--import", "tsx", "gateway/src/main.ts"]
