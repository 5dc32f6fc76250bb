# One image for the API and the workers (the compose `command` picks which one runs).
# No build step: tsx runs the TypeScript sources directly.
FROM node:20-bookworm-slim

WORKDIR /app

# Manifests first, so the dependency layer is cached until they change.
COPY package.json package-lock.json ./
COPY apps/api/package.json apps/api/
COPY apps/workers/package.json apps/workers/
COPY packages/shared/package.json packages/shared/
COPY packages/inventory/package.json packages/inventory/
COPY migrations/package.json migrations/

# Dev dependencies are included on purpose: tsx (a devDependency) runs the sources.
RUN npm ci --no-audit --no-fund && npm cache clean --force

COPY . .

ENV NODE_ENV=production
ENV PORT=5003
EXPOSE 5003

USER node

CMD ["npx", "tsx", "apps/api/src/main.ts"]
