# The OpenStudio relay node, serving the web app. Build from the repository root:
#   docker build -f docker/relay.Dockerfile -t openstudio-relay .

# Stage 1: build the web app (needs the dev dependencies: Vite, vue-tsc).
FROM node:20-bookworm-slim AS app
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
COPY protocol/package.json protocol/
COPY network/package.json network/
COPY node/package.json node/
COPY relay/package.json relay/
COPY browser/package.json browser/
COPY tests/package.json tests/
# The whole workspace, so that the root's postinstall patches @libp2p/webrtc (docs/calls.md).
COPY patches patches
RUN npm ci
COPY tsconfig.json ./
COPY protocol protocol
COPY network network
COPY browser browser
RUN npm run build -w browser

# Stage 2: the relay with production dependencies only.
FROM node:20-bookworm-slim
# ffmpeg makes the MP3 mount (the relay runs without it, and says so, with --no-mp3).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json .npmrc ./
COPY protocol/package.json protocol/
COPY network/package.json network/
COPY node/package.json node/
COPY relay/package.json relay/
COPY browser/package.json browser/
COPY tests/package.json tests/
RUN npm ci --omit=dev --workspace relay --include-workspace-root=false && npm cache clean --force
COPY protocol protocol
COPY network network
COPY node node
COPY relay relay
COPY --from=app /src/browser/dist browser/dist

# TCP for relay-to-relay links, WebSockets for browsers, HTTP for health, metrics and the app.
EXPOSE 4001 4002 8080
VOLUME ["/data"]
USER node
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:8080/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
ENTRYPOINT ["node", "relay/bin/openstudio.js", "relay", "--data", "/data", "--http", "0.0.0.0:8080", "--app", "browser/dist"]
CMD ["--listen", "/ip4/0.0.0.0/tcp/4001", "--listen", "/ip4/0.0.0.0/tcp/4002/ws"]
