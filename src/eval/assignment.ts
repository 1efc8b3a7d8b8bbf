import { hungarian } from '../core/hungarian.js';

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
  const flat = new Float64Array(n0 * m0);
  for (let i = 0; i < n0; i++)
    for (let j = 0; j < m0; j++) {
      const v = cost[i]![j]!;
      flat[i * m0 + j] = Number.isFinite(v) ? v : big;
    }
  const rowToCol = hungarian(flat, n0, m0);
  const out: Array<[number, number]> = [];
  rowToCol.forEach((k, i) => {
    if (k >= 0 && Number.isFinite(cost[i]![k]!)) out.push([i, k]);
  });
  return out.sort((x, y) => x[0] - y[0]);
}
