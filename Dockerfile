# One image for the API, the workers, the autoscaler and the migration step; the compose
# or Kubernetes `command` picks which built file runs (the default: the API).
#
# Three stages: `manifests` holds the workspace's package manifests only; `build` installs
# every dependency on them and bundles the TypeScript into dist/ (npm run build); the
# final stage installs production dependencies on the same manifests, adds dist/, runs as
# the non-root user `node` (uid 1000) under tini, which as PID 1 forwards signals and
# reaps the worker processes the autoscaler spawns.

FROM node:20-bookworm-slim AS manifests
WORKDIR /app
# The manifests alone, so the dependency layers are cached until they change.
COPY package.json package-lock.json ./
COPY apps/api/package.json apps/api/
COPY apps/workers/package.json apps/workers/
COPY packages/shared/package.json packages/shared/
COPY packages/inventory/package.json packages/inventory/
COPY migrations/package.json migrations/

FROM manifests AS build
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20-bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# Demo seeding belongs to `npm start`'s local demo (dist/start.js), never to a production image.
ENV NODE_ENV=production SEED_ON_START=false
# The workspace manifests: npm installs the dependencies each package declares.
COPY --from=manifests /app ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist

ENV PORT=5003
EXPOSE 5003
USER node

# -s: also correct under an outer init (compose `init: true`), as a subreaper.
ENTRYPOINT ["/usr/bin/tini", "-s", "--"]
CMD ["node", "--enable-source-maps", "dist/api.js"]
