# syntax=docker/dockerfile:1
# poolscope as a standalone service: `docker build -t poolscope .` or `docker compose up`.
ARG NODE_VERSION=22

# 1. Build: all dependencies, compile src/ (the demo's wire simulators included, src/simulators) into dist/, then
#    drop the dev dependencies.
FROM node:${NODE_VERSION}-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# 2. The SDKs (Supabase, OpenAI, Pinecone, pg) are optional peer dependencies, kept in devDependencies, so the
#    prune above removes them; the service loads them with require() when it builds a client. Install the
#    lockfile's versions into a tree of their own, found through NODE_PATH.
FROM node:${NODE_VERSION}-slim AS sdks
WORKDIR /opt/sdks
COPY package.json package-lock.json /tmp/app/
RUN node -e "\
const app = require('/tmp/app/package.json'); \
const lock = require('/tmp/app/package-lock.json'); \
const dependencies = {}; \
for (const name of Object.keys(app.peerDependencies ?? {})) { \
  const locked = lock.packages?.['node_modules/' + name]?.version; \
  dependencies[name] = locked ?? app.peerDependencies[name]; \
} \
require('fs').writeFileSync('package.json', JSON.stringify({ name: 'poolscope-sdks', private: true, dependencies }));" \
 && npm install --omit=dev --no-audit --no-fund --no-package-lock

# 3. Runtime: compiled code and production dependencies only, as the unprivileged node user.
FROM node:${NODE_VERSION}-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=9464 \
    NODE_PATH=/opt/sdks/node_modules
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=sdks /opt/sdks/node_modules /opt/sdks/node_modules
USER node
EXPOSE 9464
# Any answer below 500 means the process serves (/metrics may answer 401 when METRICS_AUTH=true).
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 9464) + '/metrics').then((r) => process.exit(r.status < 500 ? 0 : 1), () => process.exit(1))"]
# The same file as `npm start` (package.json), without its prestart build.
CMD ["node", "dist/bin/poolscope.js"]
