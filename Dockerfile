# One image for every Chirp process (auth, follows, posts, notify, web): compose picks the
# command. Stages: prune the monorepo to what those need (turbo prune --docker), install
# from the lockfile, generate Prisma clients and build, then run as the non-root `node` user.
FROM node:20-bookworm-slim AS base
ENV NEXT_TELEMETRY_DISABLED=1 TURBO_TELEMETRY_DISABLED=1
WORKDIR /app

FROM base AS prune
COPY . .
RUN npx --yes turbo@2.11.11 prune @chirp/auth @chirp/follows @chirp/posts @chirp/notify @chirp/web --docker

FROM base AS build
# Dependencies first (cached while only sources change). --ignore-scripts: the root
# postinstall generates Prisma clients, which needs the schemas copied below.
COPY --from=prune /app/out/json/ .
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY --from=prune /app/out/full/ .
RUN npm run db:generate && npx turbo run build

FROM base AS runtime
ENV NODE_ENV=production
COPY --from=build --chown=node:node /app /app
USER node
CMD ["node", "services/auth/dist/main.js"]
