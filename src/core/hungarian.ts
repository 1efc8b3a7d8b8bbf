/**
 * Minimum-cost assignment shared by the tracker (matching detections to tracks) and the
 * evaluation (matching predictions to ground truth): the Hungarian algorithm with potentials.
 */

/**
 * Minimum-cost assignment (Hungarian algorithm with potentials, O(n²m)) for an n×m cost matrix
 * given row-major; returns for each row its column or -1 (when n > m some rows stay unassigned).
 */
export function hungarian(cost: Float64Array, n: number, m: number): Int32Array {
  if (n === 0 || m === 0) return new Int32Array(n).fill(-1);
  if (n > m) {
    const t = new Float64Array(n * m);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) t[j * n + i] = cost[i * m + j]!;
    const colOfRowT = hungarian(t, m, n);
    const out = new Int32Array(n).fill(-1);
    colOfRowT.forEach((r, j) => {
      if (r >= 0) out[r] = j;
    });
    return out;
  }
  // 1-based arrays; p[j] = row assigned to column j.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1);
  const way = new Int32Array(m + 1);
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = cost[(i0 - 1) * m + (j - 1)]! - u[i0]! - v[j]!;
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
          u[p[j]!]! += delta;
          v[j]! -= delta;
        } else minv[j]! -= delta;
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  const rowToCol = new Int32Array(n).fill(-1);
  for (let j = 1; j <= m; j++) if (p[j]! > 0) rowToCol[p[j]! - 1] = j - 1;
  return rowToCol;
}
