// The defaults of issue 11 (time to solution): the damping from the energy's strong convexity
// (gamma 'auto' = 2√λ_min, 'paper' = 0.5), the curvature rule of the automatic step
// (h = f/λ̂ for the gradient flow, f/√(c λ̂) for the damped flows and FIRE, λ̂ = ω̄², ω̄ = ⟨√(d w)/l_i⟩),
// and the errors when something cannot be derived. On the real adapter.
import { describe, expect, it } from 'vitest';
import { testDevice } from './helpers.js';
import { createFlow } from '../src/flow.js';
import { CHATTER_ONSET } from '../src/kernels/integrate.js';
import { criticalDamping, FLOW_DEFAULTS, PAPER_GAMMA, resolveFlowOptions, strongConvexity, type FlowOptions } from '../src/flow/options.js';
import { customPotential, doubleWell, gaussianMixture, quadratic } from '../src/energies/potential.js';
import { entropy } from '../src/energies/entropy.js';
import { klToSamples } from '../src/energies/kl.js';
import { twoQuadrants } from '../src/init.js';
import { bruteForceKnn } from '../src/reference/knn.js';

const fp = () => [quadratic(), entropy()];

describe('strong convexity of an energy (lambdaMin of the terms)', () => {
  it('adds w·λ_min: quadratic 2·scale, entropy 0, one Gaussian 1/σ²; weight-0 terms are ignored', () => {
    expect(quadratic().lambdaMin).toBe(2);
    expect(quadratic({ scale: 3 }).lambdaMin).toBe(6);
    expect(entropy().lambdaMin).toBe(0);
    expect(gaussianMixture({ components: [{ weight: 1, mean: [0, 0], sigma: 0.5 }] }).lambdaMin).toBe(4);
    expect(doubleWell({ a: 1, depth: 2 }).lambdaMin).toBe(-8);
    expect(strongConvexity(fp())).toEqual({ lambda: 2 });
    expect(strongConvexity([quadratic({ scale: 3, weight: 2 }), entropy({ temperature: 0.3 })])).toEqual({ lambda: 12 });
    expect(strongConvexity([quadratic(), doubleWell({ weight: 0 })])).toEqual({ lambda: 2 });
    expect(criticalDamping(fp())).toEqual({ gamma: 2 * Math.SQRT2, lambda: 2 });
    expect(strongConvexity([customPotential({ wgsl: 'fn potential(x: vec3f) -> f32 { return dot(x, x); } fn potential_grad(x: vec3f) -> vec3f { return 2.0 * x; }', lambdaMin: 2 })])).toEqual({ lambda: 2 });
  });
  it('gives the reason when it cannot be derived', () => {
    expect(strongConvexity([])).toEqual({ reason: 'the energy is empty' });
    expect(strongConvexity([entropy()])).toEqual({ reason: 'the energy is not strongly convex (Σ w·λ_min = 0)' });
    expect(strongConvexity([doubleWell(), entropy()])).toEqual({ reason: 'the energy is not strongly convex (Σ w·λ_min = -4)' });
    const mix = gaussianMixture({ components: [{ weight: 1, mean: [1, 0], sigma: 0.3 }, { weight: 1, mean: [-1, 0], sigma: 0.3 }] });
    expect(strongConvexity([mix])).toEqual({ reason: "term 'gaussianMixture' reports no strong-convexity constant (lambdaMin)" });
    expect(strongConvexity([quadratic({ weight: -1 })])).toEqual({ reason: "term 'quadratic' has a negative weight" });
    expect(() => customPotential({ wgsl: 'fn potential(x: vec3f) -> f32 { return 0.0; } fn potential_grad(x: vec3f) -> vec3f { return x; }', lambdaMin: NaN })).toThrow(/lambdaMin must be finite/);
  });
});

describe('resolved defaults (FLOW_DEFAULTS)', () => {
  const x = new Float32Array([0, 0, 1, 0, 0, 1, 1, 1]);
  const resolve = async (o: Partial<FlowOptions>) => resolveFlowOptions((await testDevice()).device, { dim: 2, positions: x, h: 0.01, ...o });
  it("gamma: default 2√λ_min where derivable, else 'paper' (0.5); 'paper' and numbers as given", async () => {
    expect(FLOW_DEFAULTS.gamma).toEqual(['auto', 'paper']);
    expect(PAPER_GAMMA).toBe(0.5);
    expect((await resolve({ method: 'accelerated', energy: fp() })).gamma).toBe(2 * Math.SQRT2);
    expect((await resolve({ method: 'steering', energy: fp(), gamma: 'auto' })).gamma).toBe(2 * Math.SQRT2);
    expect((await resolve({ method: 'accelerated', energy: fp(), gamma: 'paper' })).gamma).toBe(0.5);
    expect((await resolve({ method: 'accelerated', energy: fp(), gamma: 1.25 })).gamma).toBe(1.25);
    expect((await resolve({ method: 'accelerated', energy: [doubleWell()] })).gamma).toBe(0.5);
    expect((await resolve({ method: 'accelerated', energy: [] })).gamma).toBe(0.5);
    // Methods without damping never fail on 'auto'.
    expect((await resolve({ method: 'gradient', energy: [doubleWell()], gamma: 'auto' })).gamma).toBe(0.5);
  });
  it('autoStep: the curvature rule by default, its fractions per method; the displacement rule keeps its own', async () => {
    expect(FLOW_DEFAULTS.autoStep.rule).toBe('curvature');
    const f = FLOW_DEFAULTS.autoStep.fraction;
    for (const method of ['gradient', 'accelerated', 'steering', 'fire'] as const) {
      const o = await resolve({ method, energy: fp(), h: 'auto' });
      expect(o.autoStep).toBe('curvature');
      expect(o.autoFraction).toBe(f.curvature[method]);
      expect([o.h0, o.hMax, o.hMin]).toEqual([0.05, 0.05, 1e-9]);
    }
    expect(f.curvature).toEqual({ gradient: 0.015, accelerated: 0.027, steering: 0.027, fire: 0.17 });
    expect(f.displacement).toEqual({ gradient: 0.1, accelerated: 0.01, steering: 0.01 });
    const d = await resolve({ method: 'steering', energy: fp(), h: 'auto', autoStep: { rule: 'displacement' } });
    expect([d.autoStep, d.autoFraction]).toEqual(['displacement', 0.01]);
    const fixed = await resolve({ method: 'fire', energy: fp(), h: 0.01 });
    expect([fixed.autoStep, fixed.h0, fixed.hMax, fixed.hMin]).toEqual([false, 0.01, 0.1, 0.01 * 0.02]);
  });
});

describe('bad input: what cannot be derived, and out-of-range options', () => {
  const x = new Float32Array([0, 0, 1, 0, 0, 1, 1, 1]);
  it("gamma: 'auto' on an energy without λ_min > 0 says what to set", async () => {
    const { device } = await testDevice();
    const o = (g: FlowOptions['gamma'], energy = [doubleWell(), entropy()]) => createFlow(device, { dim: 2, positions: x, h: 0.01, method: 'accelerated', energy, gamma: g });
    await expect(o('auto')).rejects.toThrow("wgflow: gamma: 'auto' (critical damping 2√λ_min) cannot be derived: the energy is not strongly convex (Σ w·λ_min = -4); set gamma to a number (2√λ for the energy's smallest curvature λ), or 'paper' (0.5)");
    await expect(o('auto', [klToSamples(new Float32Array([0, 0, 1, 1, 0.5, 0.2]))])).rejects.toThrow(/term 'kl' reports no strong-convexity constant \(lambdaMin\); set gamma to a number/);
    await expect(o('critical' as never)).rejects.toThrow("wgflow: gamma must be a number, 'auto', 'paper', a function of the step or a schedule object (got 'critical')");
  });
  it('autoStep: unknown rule, method without an automatic step, bounds the wrong way round', async () => {
    const { device } = await testDevice();
    const c = (o: Partial<FlowOptions>) => createFlow(device, { dim: 2, positions: x, energy: fp(), h: 'auto', ...o });
    await expect(c({ autoStep: { rule: 'stiffness' as never } })).rejects.toThrow("wgflow: autoStep.rule must be 'curvature' or 'displacement' (got stiffness)");
    await expect(c({ method: 'langevin' })).rejects.toThrow("wgflow: h: 'auto' is for the gradient, accelerated, steering and FIRE flows (Langevin needs a fixed h)");
    await expect(c({ method: 'fire', autoStep: { rule: 'displacement' } })).rejects.toThrow(/rule 'displacement' is for the gradient, accelerated and steering flows \(FIRE: use rule 'curvature'/);
    await expect(c({ autoStep: { hMin: 0.1, hMax: 0.01 } })).rejects.toThrow('wgflow: autoStep.hMin (0.1) exceeds autoStep.hMax (0.01)');
    await expect(c({ autoStep: { fraction: 0 } })).rejects.toThrow('wgflow: autoStep.fraction must be a finite number > 0 (got 0)');
    await expect(c({ method: 'accelerated', autoStep: { chatter: -1 } })).rejects.toThrow('wgflow: autoStep.chatter must be a finite number ≥ 0 (0: no chatter bound; got -1)');
    await expect(c({ method: 'gradient', autoStep: { chatter: 0.4 } })).rejects.toThrow("wgflow: autoStep.chatter bounds the damped step of the curvature rule (methods 'accelerated' and 'steering'); remove it for method 'gradient' with rule 'curvature'");
    await expect(c({ method: 'accelerated', autoStep: { rule: 'displacement', chatter: 0.4 } })).rejects.toThrow(/remove it for method 'accelerated' with rule 'displacement'/);
  });
  it("h: 'auto' on an energy without a length scale says what to set", async () => {
    const { device } = await testDevice();
    await expect(createFlow(device, { dim: 2, positions: x, energy: [quadratic()], method: 'accelerated', h: 'auto' }))
      .rejects.toThrow("h: 'auto' needs a term with a length scale (entropy() or klToSamples()); give a fixed h for this energy");
  });
  it('FIRE options out of range', async () => {
    const { device } = await testDevice();
    const c = (fire: FlowOptions['fire']) => createFlow(device, { dim: 2, positions: x, energy: fp(), method: 'fire', h: 0.01, fire });
    await expect(c({ grace: 1.5 })).rejects.toThrow('wgflow: fire.grace must be an integer in [0, 1e6] (got 1.5)');
    await expect(c({ grace: -1 })).rejects.toThrow('wgflow: fire.grace must be a finite number ≥ 0 (got -1)');
    await expect(c({ power: 'full' as never })).rejects.toThrow("wgflow: fire.power must be 'half-step' or 'centred' (got full)");
    await expect(c({ fDec: 0 })).rejects.toThrow('wgflow: fire.fDec must be in (0, 1]');
  });
});

/** λ̂ = ω̄², ω̄ = mean_i √(d·T)/l_i of the k-th nearest-neighbour distances l_i, in float64. */
function meanStiffness(x: Float32Array, dim: number, temperature: number, k = 1): number {
  const { distance } = bruteForceKnn(x, dim, k);
  const n = distance.length / k;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.sqrt(dim * temperature) / distance[i * k + k - 1]!;
  return (s / n) ** 2;
}

describe('the curvature rule on the GPU (h: auto)', () => {
  it('the first step is f/λ̂ (gradient) or f/√λ̂ (accelerated, steering, FIRE), λ̂ = ⟨√(d T)/l_i⟩² of the start', async () => {
    const { device } = await testDevice();
    const n = 300, x0 = twoQuadrants(n, { seed: 3 });
    for (const T of [1, 0.5]) {
      const lam = meanStiffness(x0, 2, T);
      const f = FLOW_DEFAULTS.autoStep.fraction.curvature;
      for (const method of ['gradient', 'accelerated', 'steering', 'fire'] as const) {
        const flow = await createFlow(device, { dim: 2, positions: x0, energy: [quadratic(), entropy({ temperature: T })], method, h: 'auto' });
        await flow.step(1);
        const s = await flow.stats();
        flow.destroy();
        // v = 0 before the first step, so s = 0 and c = 1 for the steering flow. The damped
        // flows' chatter bound h ≤ b·γ/λ̂ (γ = 2√2) is off before flow time 2/γ, though it is
        // the smaller of the two at this random start (checked, so the test fails if it acts).
        const b = FLOW_DEFAULTS.autoStep.chatter.curvature;
        const damped = method === 'accelerated' || method === 'steering';
        const want = method === 'gradient' ? f.gradient / lam : f[method] / Math.sqrt(lam);
        if (damped) expect((b[method] * 2 * Math.SQRT2) / lam).toBeLessThan(f[method] / Math.sqrt(lam));
        expect(s.time, `${method}: flow time after one step`).toBe(s.h);
        expect(Math.abs(s.h / want - 1), `${method}, T = ${T}`).toBeLessThan(1e-4);
        if (method === 'accelerated' || method === 'steering') expect(s.gamma).toBeCloseTo(2 * Math.SQRT2, 6);
      }
    }
  });
  it('the chatter bound b·γ/λ̂ of the damped flows acts from flow time 2/γ on; stats().time is Σ h', async () => {
    const { device } = await testDevice();
    const n = 300, x0 = twoQuadrants(n, { seed: 11 });
    const f = FLOW_DEFAULTS.autoStep.fraction.curvature;
    const gamma = 2 * Math.SQRT2, onset = CHATTER_ONSET / gamma;
    expect(CHATTER_ONSET).toBe(2);
    for (const method of ['accelerated', 'steering'] as const) {
      // b = 0.05 makes the bound the smaller of the two at this N (0.4 would not bind once the cloud has spread).
      const b = 0.05;
      const flow = await createFlow(device, { dim: 2, positions: x0, energy: [quadratic(), entropy()], method, h: 'auto', autoStep: { chatter: b } });
      let sum = 0, bound = false, checked = 0;
      for (let step = 0; step < 4000 && checked < 3; step++) {
        const x = await flow.positions();
        const before = await flow.stats();
        await flow.step(1);
        const s = await flow.stats();
        sum += s.h;
        expect(Math.abs(s.time - sum), `${method}, step ${s.step}: time = Σ h`).toBeLessThan(1e-5 * Math.max(1, sum));
        // Sample the rule at a few steps on either side of the onset (every step would be slow).
        if (step % 25 !== 0 && !(before.time < onset && s.time >= onset)) continue;
        const lam = meanStiffness(x, 2, 1);
        const c = method === 'steering' ? 1 + gamma * s.s : 1; // s of this step's sums (State.s after it)
        const first = f[method] / Math.sqrt(c * lam), chatter = (b * gamma) / (c * lam);
        const on = before.time >= onset;
        const want = on ? Math.min(first, chatter) : first;
        expect(Math.abs(s.h / want - 1), `${method}, step ${s.step}, t = ${before.time}`).toBeLessThan(2e-4);
        if (on) { checked++; bound ||= chatter < first; }
        else expect(chatter, 'the bound would bind before the onset (so this checks that it is off)').toBeLessThan(first);
      }
      flow.destroy();
      expect(checked, `${method}: steps checked after the onset`).toBe(3);
      expect(bound, `${method}: the bound binds after the onset`).toBe(true);
    }
  });
  it('entropy k ≥ 2: λ̂ comes from the k-th neighbour distances, so the gradient flow does not freeze', async () => {
    const { device } = await testDevice();
    const n = 400, x0 = twoQuadrants(n, { seed: 7 });
    const f = FLOW_DEFAULTS.autoStep.fraction.curvature.gradient;
    for (const k of [2, 4]) {
      const flow = await createFlow(device, { dim: 2, positions: x0, energy: [quadratic(), entropy({ k })], method: 'gradient', h: 'auto' });
      await flow.step(1);
      const s1 = await flow.stats();
      expect(Math.abs(s1.h / (f / meanStiffness(x0, 2, 1, k)) - 1), `k = ${k}, first step`).toBeLessThan(1e-4);
      // Later steps follow the current positions (and never fall to h_min, as they did with the
      // nearest distance: the k-NN estimator lets nearest pairs collapse).
      await flow.step(199);
      const x = await flow.positions();
      await flow.step(1);
      const s = await flow.stats();
      const e0 = s1.energy;
      flow.destroy();
      const want = f / meanStiffness(x, 2, 1, k);
      expect(Math.abs(s.h / want - 1), `k = ${k}, step 201`).toBeLessThan(1e-4);
      expect(s.h, `k = ${k}`).toBeGreaterThan(1e3 * FLOW_DEFAULTS.autoStep.hMin);
      expect(s.energy, `k = ${k}: the energy goes down`).toBeLessThan(e0 - 0.3);
    }
  });
  it('follows the weight of the length-scale term (setWeight) and the current positions', async () => {
    const { device } = await testDevice();
    const n = 200, x0 = twoQuadrants(n, { seed: 5 });
    const flow = await createFlow(device, { dim: 2, positions: x0, energy: [quadratic(), entropy()], method: 'accelerated', h: 'auto', autoStep: { fraction: 0.02 } });
    await flow.step(3);
    flow.setWeight('entropy', 2);
    const x3 = await flow.positions();
    await flow.step(1);
    const s = await flow.stats();
    flow.destroy();
    expect(Math.abs(s.h / (0.02 / Math.sqrt(meanStiffness(x3, 2, 2))) - 1)).toBeLessThan(1e-4);
  });
  it('the displacement rule (the earlier automatic step) is still there', async () => {
    const { device } = await testDevice();
    const n = 200, x0 = twoQuadrants(n, { seed: 5 });
    const flow = await createFlow(device, { dim: 2, positions: x0, energy: fp(), method: 'gradient', h: 'auto', autoStep: { rule: 'displacement' } });
    const g = await flow.gradient();
    await flow.step(1);
    const s = await flow.stats();
    flow.destroy();
    const { distance } = bruteForceKnn(x0, 2, 1);
    let m = 0;
    for (let i = 0; i < n; i++) m = Math.max(m, Math.hypot(g[2 * i]!, g[2 * i + 1]!) / distance[i]!);
    expect(Math.abs(s.h / (0.1 / m) - 1)).toBeLessThan(1e-4);
  });
});
