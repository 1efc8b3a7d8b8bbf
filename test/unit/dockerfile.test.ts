/**
 * The Dockerfile, checked statically (no Docker daemon on the test machines; .ci/docker-image
 * builds it where there is one, or with podman; docs/operations.md "The Docker image"): its
 * stages, the runtime stage's non-root USER and HEALTHCHECK, and that every COPY from the build
 * context names a path that exists in the repository and is not excluded by .dockerignore.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

interface Instruction {
  op: string;
  args: string;
  line: number;
}

/** Instructions with their continuation lines joined; comment lines dropped (as Docker does). */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let cur: Instruction | null = null;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line) || (cur === null && line.trim() === '')) return;
    const cont = line.endsWith('\\');
    const body = cont ? line.slice(0, -1) : line;
    if (cur === null) {
      const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(body);
      assert.ok(m, `Dockerfile line ${i + 1}: not an instruction: ${line}`);
      cur = { op: m[1]!.toUpperCase(), args: m[2]!, line: i + 1 };
    } else cur.args += ` ${body.trim()}`;
    if (!cont) {
      out.push(cur);
      cur = null;
    }
  });
  assert.equal(cur, null, 'Dockerfile ends inside a continued instruction');
  return out;
}

interface Stage {
  name: string | null;
  from: string;
  instructions: Instruction[];
}

function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args.trim());
      assert.ok(m, `FROM at line ${ins.line}: ${ins.args}`);
      stages.push({ from: m[1]!, name: m[2] ?? null, instructions: [] });
    } else if (stages.length > 0) stages[stages.length - 1]!.instructions.push(ins);
    else assert.equal(ins.op, 'ARG', `only ARG may come before the first FROM (line ${ins.line})`);
  }
  return stages;
}

/** Sources of a COPY without --from (the build context); flags and the destination dropped. */
function contextSources(args: string): string[] | null {
  const words = args.trim().split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  if (flags.some((f) => f.startsWith('--from='))) return null;
  const rest = words.filter((w) => !w.startsWith('--'));
  assert.ok(rest.length >= 2, `COPY ${args}: needs a source and a destination`);
  return rest.slice(0, -1);
}

/** .dockerignore patterns that exclude `rel` (simple forms: a/b, **\/x, *.ext). */
function ignoredBy(rel: string, patterns: string[]): string | undefined {
  const toRe = (p: string) =>
    new RegExp(
      '^' +
        p
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*\*\//g, '(.*/)?')
          .replace(/\*/g, '[^/]*') +
        '(/.*)?$',
    );
  return patterns.find((p) => toRe(p).test(rel));
}

const text = readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');
const instructions = parseDockerfile(text);
const stages = stagesOf(instructions);
const runtime = stages[stages.length - 1]!;

describe('Dockerfile', () => {
  it('is multi-stage: a named build stage, then a runtime stage that copies from it', () => {
    assert.ok(stages.length >= 2, `${stages.length} stage(s)`);
    assert.equal(stages[0]!.name, 'build');
    assert.equal(runtime.name, 'runtime');
    const build = stages[0]!.instructions.map((i) => `${i.op} ${i.args}`).join('\n');
    assert.match(build, /RUN .*npm ci/);
    assert.match(build, /npm prune --omit=dev/);
    assert.match(build, /ARG ONNXRUNTIME_VARIANT=cpu/, 'the CUDA variant is a documented build arg');
    const copiesFromBuild = runtime.instructions
      .filter((i) => i.op === 'COPY' && /--from=build\b/.test(i.args))
      .map((i) => i.args);
    assert.ok(
      copiesFromBuild.some((a) => /\/app\/dist\b/.test(a)),
      'dist/ comes from the build stage',
    );
    assert.ok(
      copiesFromBuild.some((a) => /\/app\/node_modules\b/.test(a)),
      'production node_modules come from the build stage',
    );
    const rt = runtime.instructions.map((i) => `${i.op} ${i.args}`).join('\n');
    assert.match(rt, /apt-get install .*\bffmpeg\b/, "Debian's ffmpeg in the runtime stage");
    assert.doesNotMatch(rt, /\bnpm (ci|install)\b/, 'no npm install in the runtime stage');
  });

  it('runs as a non-root user, with a HEALTHCHECK on /healthz and a CMD that enables the endpoint', () => {
    const users = runtime.instructions.filter((i) => i.op === 'USER');
    assert.ok(users.length > 0, 'a USER in the runtime stage');
    const user = users[users.length - 1]!.args.trim();
    assert.ok(!['root', '0', 'root:root', '0:0'].includes(user), `USER ${user}`);
    const hc = runtime.instructions.filter((i) => i.op === 'HEALTHCHECK');
    assert.equal(hc.length, 1);
    assert.match(hc[0]!.args, /CMD .*\/healthz/);
    assert.match(hc[0]!.args, /VIDFLOW_HEALTH_PORT \|\| 9464/);
    const cmd = runtime.instructions.filter((i) => i.op === 'CMD').pop()!;
    const argv = JSON.parse(cmd.args) as string[];
    assert.deepEqual(argv.slice(argv.indexOf('--http-port'), argv.indexOf('--http-port') + 2), ['--http-port', '9464']);
    assert.deepEqual(argv.slice(argv.indexOf('--http-host'), argv.indexOf('--http-host') + 2), [
      '--http-host',
      '0.0.0.0',
    ]);
    assert.deepEqual(JSON.parse(runtime.instructions.find((i) => i.op === 'ENTRYPOINT')!.args), [
      'node',
      '/app/bin/vidflow.js',
    ]);
  });

  it('the HEALTHCHECK command exits 0 on a 200 from /healthz and 1 when nothing listens', async () => {
    const hc = runtime.instructions.find((i) => i.op === 'HEALTHCHECK')!;
    const m = /CMD node -e "(.*)"\s*$/.exec(hc.args);
    assert.ok(m, hc.args);
    const script = m[1]!;
    const http = await import('node:http');
    const server = http.createServer((req, res) => res.writeHead(req.url === '/healthz' ? 200 : 404).end('{}'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as import('node:net').AddressInfo).port;
    const run = (p: number) =>
      new Promise<number | null>((resolve) => {
        import('node:child_process').then(({ spawn }) =>
          spawn(process.execPath, ['-e', script], {
            env: { ...process.env, VIDFLOW_HEALTH_PORT: String(p) },
            stdio: 'ignore',
          }).on('close', resolve),
        );
      });
    try {
      assert.equal(await run(port), 0);
    } finally {
      server.close();
    }
    assert.equal(await run(port), 1);
  });

  it('every COPY from the build context names a path in the repository, not excluded by .dockerignore', () => {
    const ignore = readFileSync(path.join(REPO, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const sources = instructions.filter((i) => i.op === 'COPY').flatMap((i) => contextSources(i.args) ?? []);
    assert.ok(sources.length > 0);
    for (const src of sources) {
      assert.ok(!src.includes('*'), `COPY ${src}: use plain paths`);
      const rel = path.normalize(src).replace(/\/$/, '');
      assert.ok(existsSync(path.join(REPO, rel)), `COPY ${src}: no such path in the repository`);
      const git = spawnSync('git', ['ls-files', '--error-unmatch', rel], { cwd: REPO, stdio: 'ignore' });
      assert.equal(git.status, 0, `COPY ${src}: not tracked by git (a fresh checkout would not have it)`);
      assert.equal(ignoredBy(rel, ignore), undefined, `COPY ${src}: excluded by .dockerignore`);
    }
    // what must stay out of the context
    for (const p of ['node_modules', 'dist', '.git']) assert.ok(ignoredBy(p, ignore), `${p} is in .dockerignore`);
  });
});

/**
 * Runs .ci/docker-image with fake `docker` and `podman` first on PATH: `docker info` fails (no
 * daemon); `podman` answers its subcommands with the exit statuses given (absent: 1) and logs each
 * call, so a test can also tell which commands the step ran.
 */
function runDockerImageStep(podman: Record<string, number> | null): {
  result: import('node:child_process').SpawnSyncReturns<string>;
  podmanCalls: string[];
} {
  const bin = path.join(os.tmpdir(), `vidflow-nodocker-${process.pid}`);
  mkdirSync(bin, { recursive: true });
  const log = path.join(bin, 'podman.log');
  writeFileSync(path.join(bin, 'docker'), '#!/bin/sh\necho "Cannot connect to the Docker daemon" >&2\nexit 1\n', {
    mode: 0o755,
  });
  if (podman) {
    const cases = Object.entries(podman)
      .map(([sub, status]) => `  ${sub}) exit ${status} ;;`)
      .join('\n');
    writeFileSync(
      path.join(bin, 'podman'),
      `#!/bin/sh\necho "$*" >> '${log}'\ncase "$1" in\n${cases}\n  *) exit 1 ;;\nesac\n`,
      { mode: 0o755 },
    );
  } else {
    // "no podman": one that cannot even answer `podman info` (as when it is not set up).
    writeFileSync(path.join(bin, 'podman'), '#!/bin/sh\nexit 127\n', { mode: 0o755 });
  }
  try {
    const result = spawnSync(path.join(REPO, '.ci', 'docker-image'), {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    });
    const podmanCalls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
    return { result, podmanCalls };
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
}

describe('.ci/docker-image', () => {
  it('without a Docker daemon or a working podman, says the image build is skipped and succeeds', () => {
    const { result } = runDockerImageStep(null);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'ci: no Docker daemon and no working podman; image build skipped');
  });

  it('with podman but no way to get the base image, skips (naming the base and the stand-in script)', () => {
    const { result, podmanCalls } = runDockerImageStep({ info: 0, image: 1, pull: 1 });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(
      result.stdout.trim(),
      'ci: podman cannot get the base image node:20-bookworm-slim (no registry access?); image build skipped ' +
        '(tools/docker/local-node-base.sh builds a local stand-in)',
    );
    assert.deepEqual(podmanCalls, ['info', 'image exists node:20-bookworm-slim', 'pull -q node:20-bookworm-slim']);
  });

  it('.ci/run calls it after its existing steps', () => {
    const run = readFileSync(path.join(REPO, '.ci', 'run'), 'utf8');
    assert.match(run, /^set -euo pipefail$/m);
    const lines = run.split('\n');
    assert.ok(lines.indexOf('.ci/docker-image') > lines.indexOf('npm test'), 'after npm test');
    assert.equal(spawnSync('bash', ['-n', path.join(REPO, '.ci', 'run')]).status, 0);
  });
});
