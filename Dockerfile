# Build stage: the full toolchain compiles dist/.
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# Runtime: production dependencies and the compiled output; bin/fleet.js runs dist/ as it is.
FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY sql ./sql
COPY --from=build /app/dist ./dist
USER node
CMD ["node", "--max-semi-space-size=4", "bin/fleet.js", "worker"]
