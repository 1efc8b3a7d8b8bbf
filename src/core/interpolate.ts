/**
 * Environment interpolation in config values: `${NAME}`, `${NAME:-default}`; `$${` is a literal
 * `${`. Secrets (brokers, camera passwords) stay out of pipeline files.
 */
export interface InterpolationProblem {
  variable: string;
}

const PATTERN = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function interpolate(value: string, env: NodeJS.ProcessEnv, missing: (p: InterpolationProblem) => void): string {
  return value.replace(PATTERN, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === '$${') return '${';
    const v = env[name!];
    if (v !== undefined && v !== '') return v;
    if (fallback !== undefined) return fallback;
    missing({ variable: name! });
    return '';
  });
}
