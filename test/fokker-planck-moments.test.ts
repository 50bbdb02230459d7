// Exact moment laws of the Fokker–Planck gradient flow (docs/math.md §7.2), on the real adapter.
// With U = |x|², T = 1 and the Kozachenko–Leonenko entropy, mean_i x_i·g_i = 2 m₂ − d for every
// configuration (log-homogeneity of the estimator, §4.6) and Σ_i g^ent_i = 0, so the explicit
// step x ← x − h g gives exactly
//     m₂' − d/2 = (1 − 4h)(m₂ − d/2) + h² ⟨|g|²⟩,      x̄' = (1 − 2h) x̄,
// i.e. e_k = m₂(kh) − d/2 = (1 − 4h)^k e_0 + h² S_k with S_k = Σ_{j<k} (1 − 4h)^{k−1−j} G_j,
// G_j = ⟨|g|²⟩ at step j (stats().residual). Against the continuous law
// m₂(t) = d/2 + e_0 e^{−4t} the discretisation error is therefore
//     B_k = |e_0| |(1 − 4h)^k − e^{−4t}| + h² S_k  ≤  16 h t e^{−4t} |e_0| + (h/4) max_j G_j
// (−log(1 − u) ≤ u + u² for u ≤ ½), and the mean's, |x̄_0| |(1 − 2h)^k − e^{−2t}| ≤ 4 h t e^{−2t} |x̄_0|.
import { describe, expect, it } from 'vitest';
import { testDevice } from './helpers.js';
import { createFlow } from '../src/flow.js';
import { quadratic } from '../src/energies/potential.js';
import { entropy } from '../src/energies/entropy.js';
import { twoQuadrants } from '../src/init.js';

describe('gradient flow of the Fokker–Planck energy: second moment and mean in flow time', () => {
  it('m₂ obeys the discrete recursion step by step, and d/2 + (m₂(0) − d/2) e^{−4t} within the bound B_k; x̄ decays like e^{−2t}', async () => {
    const { device } = await testDevice();
    const n = 300, d = 2, h = 1.5e-4, steps = 1000;
    const x0 = twoQuadrants(n, { seed: 7 });
    for (let i = 0; i < n; i++) { x0[2 * i] += 1.2; x0[2 * i + 1] -= 0.8; } // a mean far from 0
    const flow = await createFlow(device, { dim: d, positions: x0, energy: [quadratic(), entropy()], method: 'gradient', h });
    const m2 = (s: { covariance: number[]; mean: number[] }) => s.covariance[0]! + s.covariance[3]! + s.mean[0]! ** 2 + s.mean[1]! ** 2;
    let s = await flow.stats();
    const e0 = m2(s) - d / 2, mean0 = [...s.mean];
    let S = 0, maxG = 0, worstRec = 0, worstClosed = 0, worstLaw = 0, worstMean = 0;
    for (let k = 0; k < steps; k++) {
      const G = s.residual, ek = m2(s) - d / 2;
      maxG = Math.max(maxG, G);
      await flow.step(1);
      s = await flow.stats();
      const e = m2(s) - d / 2;
      // One step of the recursion (f32: positions, sums and the identity to ~1e-6 relative).
      worstRec = Math.max(worstRec, Math.abs(e - ((1 - 4 * h) * ek + h * h * G)));
      S = (1 - 4 * h) * S + G;
      const K = k + 1, t = K * h;
      // Its closed form, and the continuous law within the bound.
      const closed = (1 - 4 * h) ** K * e0 + h * h * S;
      worstClosed = Math.max(worstClosed, Math.abs(e - closed));
      const B = Math.abs(e0) * Math.abs((1 - 4 * h) ** K - Math.exp(-4 * t)) + h * h * S;
      expect(B).toBeLessThanOrEqual(16 * h * t * Math.exp(-4 * t) * Math.abs(e0) + (h / 4) * maxG + 1e-12);
      worstLaw = Math.max(worstLaw, Math.abs(e - e0 * Math.exp(-4 * t)) - B);
      for (let a = 0; a < d; a++) {
        expect(Math.abs(s.mean[a]! - (1 - 2 * h) ** K * mean0[a]!)).toBeLessThan(2e-6);
        const Bm = Math.abs(mean0[a]!) * Math.abs((1 - 2 * h) ** K - Math.exp(-2 * t));
        expect(Bm).toBeLessThanOrEqual(4 * h * t * Math.exp(-2 * t) * Math.abs(mean0[a]!) + 1e-12);
        worstMean = Math.max(worstMean, Math.abs(s.mean[a]! - mean0[a]! * Math.exp(-2 * t)) - Bm);
      }
    }
    flow.destroy();
    const t = steps * h, change = Math.abs(e0) * (1 - Math.exp(-4 * t));
    expect(worstRec).toBeLessThan(1e-5);
    expect(worstClosed).toBeLessThan(1e-5);
    // The law holds within B_k (plus f32), and B_k is small against what the law predicts.
    expect(worstLaw).toBeLessThan(1e-5);
    expect(worstMean).toBeLessThan(2e-6);
    expect(change).toBeGreaterThan(0.1);
    expect(h * h * S).toBeLessThan(0.05 * change);
  }, 240_000);
});
