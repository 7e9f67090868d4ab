# esia-idp: one stage on Node 24 slim. TypeScript runs directly (Node type stripping), so there is
# no build step; argon2 ships prebuilt binaries for linux-x64 and linux-arm64.
FROM node:24-slim

ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0

WORKDIR /app

# Dependencies first, for layer caching. The `node` devDependency (Node 24 for dev machines) is
# not needed here: the image already is Node 24.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY config ./config
COPY migrations ./migrations
COPY src ./src

# Never run as root.
USER node

EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"

# In production the configuration must supply ISSUER, DATABASE_URL, COOKIE_KEYS, SIGNING_KEYS(_FILE)
# and ENCRYPTION_KEY (see README); the process refuses to start without them.
CMD ["node", "src/main.ts"]
