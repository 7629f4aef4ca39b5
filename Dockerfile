# The PIM approvals bot: compiled TypeScript on Node 20, run as the unprivileged `node` user.
# Build:  docker build -t pim-approvals-bot .
# Run:    docker run --env-file bot.env -p 3978:3978 pim-approvals-bot     (docs/deployment.md)

ARG NODE_IMAGE=node:20-bookworm-slim

# Production dependencies only. better-sqlite3 compiles a native module when no prebuilt binary
# matches, so this stage has the toolchain; the runtime image does not.
FROM ${NODE_IMAGE} AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev && npm cache clean --force

# Compile with the dev dependencies (TypeScript, types).
FROM deps AS build
RUN npm ci && npm cache clean --force
COPY tsconfig.json tsconfig.build.json ./
COPY bot ./bot
COPY cards ./cards
COPY services ./services
# The PIM tab's page (bot/tab/web, bundled into dist/tab by esbuild).
COPY scripts/build-tab.ts ./scripts/
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3978
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
# Code and dependencies belong to root and are read-only to the process; it writes nowhere in /app
# (production uses PostgreSQL; a SQLite DATABASE_URL must point at a mounted volume).
USER node
EXPOSE 3978
# No curl in the slim image: Node asks /healthz itself. PORT is read at run time.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3978)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/bot/main.js"]
