/**
 * Role: locates and loads the dashboard's static files (index.html, dashboard.js, dashboard.css).
 *
 * The files live in `src/sinks/dashboard/`. Running from source (tsx) they sit next to this
 * module's parent folder; running from `dist/` (after `tsc`, which does not copy them) they are
 * found by walking up to the package root (the folder with vidflow's package.json) and reading
 * `src/sinks/dashboard/` there. `VIDFLOW_DASHBOARD_DIR` overrides both.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VidflowError } from '../../core/errors.js';

export const DASHBOARD_FILES = ['index.html', 'dashboard.js', 'dashboard.css'] as const;
export type DashboardFile = (typeof DASHBOARD_FILES)[number];

const CONTENT_TYPES: Record<DashboardFile, string> = {
  'index.html': 'text/html; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
};

export interface DashboardAssets {
  dir: string;
  files: Record<DashboardFile, { body: Buffer; contentType: string }>;
}

function hasAll(dir: string): boolean {
  return DASHBOARD_FILES.every((f) => existsSync(join(dir, f)));
}

/** Candidate folders, most specific first. */
export function dashboardDirCandidates(moduleUrl: string = import.meta.url): string[] {
  const out: string[] = [];
  const env = process.env.VIDFLOW_DASHBOARD_DIR;
  if (env) out.push(resolve(env));
  const here = dirname(fileURLToPath(moduleUrl));
  // src/sinks/websocket/ → src/sinks/dashboard (tsx), dist/sinks/websocket/ → dist/sinks/dashboard (if copied)
  out.push(join(here, '..', 'dashboard'));
  // Walk up to the package root and use src/sinks/dashboard there (dist/ builds).
  let dir = here;
  for (let i = 0; i < 8; i += 1) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const name = (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name;
        if (name === 'vidflow') {
          out.push(join(dir, 'src', 'sinks', 'dashboard'));
          break;
        }
      } catch {
        // not a readable package.json: keep walking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return out;
}

export function findDashboardDir(): string | null {
  for (const dir of dashboardDirCandidates()) if (hasAll(dir)) return dir;
  return null;
}

/** Reads the three files into memory (once per server). */
export function loadDashboardAssets(where: string): DashboardAssets {
  const dir = findDashboardDir();
  if (!dir) {
    throw new VidflowError(
      'INTERNAL',
      `${where}: dashboard files (${DASHBOARD_FILES.join(', ')}) not found in ${dashboardDirCandidates().join(
        ' ' + 'or ',
      )}; set VIDFLOW_DASHBOARD_DIR or dashboard: false`,
      { where },
    );
  }
  const files = {} as DashboardAssets['files'];
  for (const f of DASHBOARD_FILES) files[f] = { body: readFileSync(join(dir, f)), contentType: CONTENT_TYPES[f] };
  return { dir, files };
}
