# The OpenStudio relay node. Build from the repository root:
#   docker build -f docker/relay.Dockerfile -t openstudio-relay .
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json .npmrc ./
COPY protocol/package.json protocol/
COPY node/package.json node/
COPY relay/package.json relay/
COPY browser/package.json browser/
COPY tests/package.json tests/
RUN npm ci --omit=dev --workspace relay --include-workspace-root=false && npm cache clean --force
COPY protocol protocol
COPY node node
COPY relay relay

# TCP for relay-to-relay links, WebSockets for browsers, HTTP for health and metrics.
EXPOSE 4001 4002 8080
VOLUME ["/data"]
USER node
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:8080/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
ENTRYPOINT ["node", "relay/bin/openstudio.js", "relay", "--data", "/data", "--http", "0.0.0.0:8080"]
CMD ["--listen", "/ip4/0.0.0.0/tcp/4001", "--listen", "/ip4/0.0.0.0/tcp/4002/ws"]
