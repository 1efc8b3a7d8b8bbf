# vidflow image: a build stage (dev dependencies, tsc) and a small runtime stage (Debian's ffmpeg,
# production dependencies, dist/), run as the unprivileged `node` user.
#
#   docker build -t vidflow .
#   docker run --rm -p 9464:9464 -v "$PWD:/work" vidflow                        # runs /work/pipeline.yaml
#   docker run --rm -v "$PWD:/work" vidflow run /work/p.yaml --http-port 9464 --http-host 0.0.0.0
#   docker run --rm -v "$PWD/../shared:/shared:ro" -e VIDFLOW_SHARED=/shared \
#     -e VIDFLOW_DEMO_JSONL=/tmp/demo.jsonl vidflow run /app/pipelines/demo.yaml  # the demo (.ci/docker-image)
#
# podman builds it too; give `--format docker` (OCI images have no HEALTHCHECK) — docs/operations.md.
#
# The default CMD runs /work/pipeline.yaml with the operators' endpoint on 0.0.0.0:9464
# (`--http-port 9464 --http-host 0.0.0.0`, docs/operations.md), which the HEALTHCHECK asks for
# /healthz. Arguments given to `docker run` replace the whole CMD: add `--http-port 9464
# --http-host 0.0.0.0` to a `run` to keep the health check meaningful (or set VIDFLOW_HEALTH_PORT
# to the port you chose); for one-shot commands (validate, doctor, models list) it does not matter,
# and `docker run --no-healthcheck` turns it off.
#
# Models: the manifests in models/ point at ${VIDFLOW_SHARED}/models/…; mount the shared folder and
# set VIDFLOW_SHARED (or mount your own models and name them by manifest path).

# Base images. The CUDA variant needs CUDA 12 + cuDNN 9 libraries and Node 20 in the runtime image:
# pass an image that has both as RUNTIME_IMAGE (not built or tested here).
ARG NODE_IMAGE=node:20-bookworm-slim
ARG RUNTIME_IMAGE=${NODE_IMAGE}

# ---- build: every dependency, tsc → dist/, then production dependencies only ------------------
FROM ${NODE_IMAGE} AS build
# cpu (default): onnxruntime-node's CPU provider, as npm installs it.
# cuda12: also fetch the CUDA + TensorRT execution providers (downloads from api.nuget.org at build
# time; README "GPU"); stages then ask for them with `execution_providers: [cuda]`.
ARG ONNXRUNTIME_VARIANT=cpu
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
# Dependencies first, in a layer of their own that a rebuild reuses until package-lock.json changes.
# --ignore-scripts: no install script is needed here (tsc needs none; esbuild's is tsx's; the npm
# ffmpeg binaries go below; onnxruntime-node's is the CUDA download, run explicitly for cuda12), and
# `prepare` (the build) needs src/, copied after.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
# tsc -p tsconfig.build.json → dist/. The image uses Debian's ffmpeg (FFMPEG_PATH below), so the npm
# packages' fallback ffmpeg/ffprobe binaries go (166 MiB; src/sources/ffmpeg/binaries.ts treats
# them as optional), and onnxruntime-node keeps only its build for Linux on the image's
# architecture (its macOS, Windows and other-architecture builds go).
RUN npm run build \
 && test -f dist/cli.js \
 && if [ "$ONNXRUNTIME_VARIANT" = "cuda12" ]; then ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js; \
    elif [ "$ONNXRUNTIME_VARIANT" != "cpu" ]; then echo "ONNXRUNTIME_VARIANT: expected cpu or cuda12, found $ONNXRUNTIME_VARIANT" >&2; exit 1; fi \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/ffprobe-static/bin node_modules/@ffmpeg-installer/linux-* \
 && find node_modules/onnxruntime-node/bin -mindepth 2 -maxdepth 2 ! -name linux -exec rm -rf {} + \
 && find node_modules/onnxruntime-node/bin -mindepth 3 -maxdepth 3 ! -name "$(node -p process.arch)" -exec rm -rf {} + \
 && ls node_modules/onnxruntime-node/bin/napi-v*/linux/"$(node -p process.arch)"/onnxruntime_binding.node

# ---- runtime ----------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    ONNXRUNTIME_NODE_INSTALL=skip \
    FFMPEG_PATH=/usr/bin/ffmpeg \
    FFPROBE_PATH=/usr/bin/ffprobe \
    VIDFLOW_HEALTH_PORT=9464
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY src/sinks/dashboard ./src/sinks/dashboard
COPY labels ./labels
COPY models ./models
COPY pipelines ./pipelines
COPY docs ./docs
# Pipelines, videos and outputs are mounted at /work; the node user (uid 1000) owns it.
RUN mkdir -p /work && chown node:node /work
USER node
WORKDIR /work
EXPOSE 9464
# /healthz answers 200 while the process is alive (docs/operations.md); node's own fetch, no curl.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.VIDFLOW_HEALTH_PORT || 9464) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
ENTRYPOINT ["node", "/app/bin/vidflow.js"]
CMD ["run", "/work/pipeline.yaml", "--http-port", "9464", "--http-host", "0.0.0.0"]
