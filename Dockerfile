# vidflow runtime image (CPU). For the CUDA execution provider use an nvidia/cuda base with
# Node 20 and run `ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js` (README "GPU"; `npm rebuild` alone does nothing under the allowScripts deny).
FROM node:20-bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

COPY labels ./labels
COPY models ./models
COPY pipelines ./pipelines
COPY docs ./docs

# Pipelines and videos are usually mounted: docker run -v $PWD:/work vidflow run /work/pipeline.yaml
ENTRYPOINT ["node", "/app/bin/vidflow.js"]
CMD ["--help"]
