/**
 * Minimum-cost assignment (Hungarian / Kuhn-Munkres, O(n^2 m)) on a rectangular cost matrix.
 * Entries that are not finite (NaN, Infinity) are forbidden pairs: the solver first maximises the
 * number of allowed pairs, then minimises their total cost (as scipy's linear_sum_assignment on
 * such a matrix does after motmetrics replaces forbidden entries by a large value).
 */
export function linearSumAssignment(cost: number[][]): Array<[number, number]> {
  const n0 = cost.length;
  const m0 = n0 === 0 ? 0 : cost[0]!.length;
  if (n0 === 0 || m0 === 0) return [];
  let big = 1;
  for (const row of cost) for (const v of row) if (Number.isFinite(v)) big = Math.max(big, Math.abs(v));
  big = big * (n0 + m0 + 1) * 10 + 1;
  const transpose = n0 > m0;
  const n = transpose ? m0 : n0;
  const m = transpose ? n0 : m0;
  const a = (i: number, j: number): number => {
    const v = transpose ? cost[j]![i]! : cost[i]![j]!;
    return Number.isFinite(v) ? v : big;
  };
  // e-maxx formulation, 1-based.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1);
  const way = new Int32Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(m + 1).fill(Infinity);
    const used = new Uint8Array(m + 1);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = a(i0 - 1, j - 1) - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]!] = u[p[j]!]! + delta;
          v[j] = v[j]! - delta;
        } else minv[j] = minv[j]! - delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  const out: Array<[number, number]> = [];
  for (let j = 1; j <= m; j++) {
    if (p[j] === 0) continue;
    const r = p[j]! - 1;
    const c = j - 1;
    const [i, k] = transpose ? [c, r] : [r, c];
    if (Number.isFinite(cost[i]![k]!)) out.push([i, k]);
  }
  return out.sort((x, y) => x[0] - y[0]);
}
