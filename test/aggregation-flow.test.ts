// The GPU flow of the interaction term (aggregation, docs/math.md §3.6) against its float64 twin:
// createFlow with the power kernel W(z) = |z|²/2 − |z|^b/b, b = 2 − d (Newtonian repulsion),
// gradient flow from a uniform cloud in [−1, 1]^d, compared step for step with
// aggregationFlow (src/reference/aggregation.ts) and with the known steady states: the exact
// evenly spaced equilibrium in 1D, the uniform unit ball in 2D and 3D.
import { describe, expect, it } from 'vitest';
import { checked, rng, testDevice } from './helpers.js';
import { createFlow } from '../src/flow.js';
import { interaction, interactionReference, powerKernel64, POWER_KERNEL_EPS } from '../src/energies/interaction.js';
import { aggregation1DEquilibrium, aggregationFlow, aggregationStats, newtonianBallSteadyState } from '../src/reference/aggregation.js';

const N = 300;
const H = 0.05;
const STEPS = 400;

/** Particles uniform in [−1, 1]^dim, rounded to f32 (so GPU and CPU start from the same points). */
function cloud(n: number, dim: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n * dim }, () => 2 * r() - 1);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let k = 0; k < b.length; k++) m = Math.max(m, Math.abs(a[k]! - b[k]!));
  return m;
}

describe(`aggregation on the GPU (a = 2, b = 2 − d, N = ${N}, h = ${H}, ${STEPS} steps) vs the float64 flow`, () => {
  for (const dim of [1, 2, 3]) {
    it(`${dim}D: positions and energy match aggregationFlow; the steady state is the known one`, async () => {
      const { device } = await testDevice();
      const x0 = cloud(N, dim, 10 + dim);
      const b = 2 - dim;
      const { x, stats } = await checked(device, async () => {
        const flow = await createFlow(device, {
          dim, positions: x0, method: 'gradient', h: H,
          energy: [interaction({ kernel: { type: 'power', a: 2, b } })],
          label: `test.aggregation${dim}d`,
        });
        try {
          await flow.step(STEPS);
          return { x: await flow.positions(), stats: await flow.stats() };
        } finally {
          flow.destroy();
        }
      });
      const ref = aggregationFlow(x0, N, { dim, h: H, steps: STEPS });

      // Measured on SwiftShader: max |x_gpu − x_ref| = 1.1e-6 (1D), 1.3e-6 (2D), 9.4e-7 (3D), f32
      // round-off only; energy relative error 8e-9, 6e-9, 1.5e-8; E r² 0.3333, 0.4983, 0.5869.
      const dx = maxAbsDiff(x, ref.x);
      expect(dx).toBeLessThan(1e-4);

      // Energy: the GPU's own f32 diagnostic, and the float64 energy of the GPU positions.
      const W = powerKernel64(2, b, Math.fround(POWER_KERNEL_EPS ** 2));
      const atGpu = interactionReference(Float64Array.from(x), N, dim, W);
      const scale = Math.max(1, Math.abs(ref.energy));
      expect(Math.abs(atGpu.value - ref.energy) / scale).toBeLessThan(1e-6);
      expect(Math.abs(stats.energy - ref.energy) / scale).toBeLessThan(1e-6);
      expect(stats.terms.interaction).toBeCloseTo(stats.energy, 12);

      // The flow conserves the mean (the interaction is translation invariant).
      const mean0 = aggregationStats(x0, N, dim).mean;
      const st = aggregationStats(x, N, dim);
      for (let c = 0; c < dim; c++) expect(Math.abs(st.mean[c]! - mean0[c]!)).toBeLessThan(1e-5);

      if (dim === 1) {
        // The exact discrete equilibrium x̄ + (2i − N − 1)/N; the flow contracts to it by (1 − h) a step.
        const eq = aggregation1DEquilibrium(N, mean0[0]!);
        const xs = Float64Array.from(x).sort();
        expect(maxAbsDiff(xs, eq)).toBeLessThan(1e-5);
        expect(Math.abs(stats.energy + (N * N - 1) / (6 * N * N))).toBeLessThan(1e-6); // F at the equilibrium
      } else {
        const ball = newtonianBallSteadyState(dim);
        expect(Math.abs(st.meanSquareRadius - ball.meanSquareRadius)).toBeLessThan(0.025);
        expect(Math.abs(stats.energy - ball.energy) / ball.energy).toBeLessThan(0.03);
        expect(st.maxRadius).toBeLessThan(ball.radius);
      }
      console.log(`[aggregation ${dim}D] max|dx| = ${dx.toExponential(2)}, E_gpu = ${stats.energy.toPrecision(8)}, E_ref = ${ref.energy.toPrecision(8)}, ` +
        `rel = ${(Math.abs(stats.energy - ref.energy) / scale).toExponential(2)}, rel(f64 at gpu x) = ${(Math.abs(atGpu.value - ref.energy) / scale).toExponential(2)}, E r² = ${st.meanSquareRadius.toFixed(4)}`);
    });
  }
});
