// The main job (`npm start` = `wgflow converge`, app/main-job.ts and app/converge.ts): the
// criterion, the extrapolation of a run that cannot converge within its cap, the outputs, and
// bad input. The GPU run uses a small N (the job itself runs N = 10³ on a CPU adapter).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { testDevice } from './helpers.js';
import { extrapolate, judge, resolveCriterion, CRITERION_DEFAULTS, type Check } from '../app/converge.js';
import { besideTable, convergenceFigure, defaultCap, defaultSize, runMainJob, snapshotFigure } from '../app/main-job.js';
import { figureTextProblems } from '../app/figure.js';
import { PRESETS } from '../app/presets.js';
import { createProgress } from '../app/progress.js';
import { main } from '../app/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgflow-main-job-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Checks every 10 steps at h = 0.01 with given energies and variances. */
function checks(energy: (t: number) => number, variance: (t: number) => number, m: number): Check[] {
  return Array.from({ length: m }, (_, j) => ({
    step: 10 * j, time: 0.1 * j, energy: energy(0.1 * j), variance: [variance(0.1 * j), variance(0.1 * j)],
    residual: 1, kinetic: 0, h: 0.01, gamma: 0, restarts: 0, ms: j,
  }));
}

describe('the criterion and the extrapolation (pure)', () => {
  const k = resolveCriterion();
  it('defaults: variance 0.5 ± 0.02, energy within 0.01 of the plateau, a 20 % window of at least 0.3 flow time', () => {
    expect(CRITERION_DEFAULTS).toEqual({ variance: 0.5, varianceTol: 0.02, energyTol: 0.01, window: 0.2, minWindowTime: 0.3 });
    expect(k).toEqual(CRITERION_DEFAULTS);
  });
  it('settles on a converged run: the reported step is the first check after which every check meets the criterion', () => {
    // E = −2 + e^{−t}, var = 0.5 − 0.3 e^{−t}: in the band from 0.3 e^{−t} ≤ 0.02, i.e. t ≥ 2.708;
    // the plateau (mean of the last 20 %) is ≈ −2 + 1e-4, |E − F_p| ≤ 0.01 from t ≈ 4.6.
    const c = checks((t) => -2 + Math.exp(-t), (t) => 0.5 - 0.3 * Math.exp(-t), 101);
    const v = judge(c, k);
    expect(v.settled).toBe(true);
    const first = c.findIndex((x, j) => c.slice(j).every((y) => Math.abs(y.variance[0]! - 0.5) <= 0.02 && Math.abs(y.energy - v.plateau) <= 0.01));
    expect(v.index).toBe(first);
    expect(c[first]!.time).toBeGreaterThan(4.5);
    expect(c[first]!.time).toBeLessThan(4.7);
    // Not settled while the window still sees the variance outside its band.
    expect(judge(c.slice(0, 20), k).settled).toBe(false);
  });
  it('extrapolates a slow exponential approach: the steps at which it would meet the criterion', () => {
    // var = 0.5 − 0.3 e^{−t/5}, E = −2 + e^{−t/5}: in the band (within half of the tolerances) at
    // t = 5 ln(0.3/0.01) = 17.0 (variance) and 5 ln(1/0.005) = 26.5 (energy).
    const c = checks((t) => -2 + Math.exp(-t / 5), (t) => 0.5 - 0.3 * Math.exp(-t / 5), 51);
    expect(judge(c, k).settled).toBe(false);
    const e = extrapolate(c, k);
    expect(e.fit!.energy).toBeCloseTo(-2, 6);
    expect(e.fit!.energyRate).toBeCloseTo(0.2, 6);
    expect(e.fit!.varianceRate).toBeCloseTo(0.2, 6);
    expect(e.time!).toBeCloseTo(5 * Math.log(1 / 0.005), 1);
    expect(e.steps).toBe(Math.round(500 + (e.time! - 5) / 0.01));
  });
  it('refuses to extrapolate an oscillation', () => {
    const c = checks((t) => -2 + Math.exp(-t / 5) * Math.cos(3 * t), (t) => 0.5 - 0.3 * Math.exp(-t / 5) * Math.cos(3 * t), 51);
    expect(extrapolate(c, k).steps).toBeNull();
  });
  it('defaults of the job: N from the adapter, the cap scaled with √N', () => {
    expect(defaultSize(true)).toBe(1000);
    expect(defaultSize(false)).toBe(10000);
    const fp = PRESETS['fokker-planck']!;
    expect(defaultCap(fp, 1000)).toBe(3000);
    expect(defaultCap(fp, 10000)).toBe(9490);
    expect(defaultCap(PRESETS['paper-fp']!, 10000)).toBe(5000);
  });
});

describe('bad input of the main job', () => {
  it('criteria outside their range, a step cap ≤ 0, presets without a criterion, unknown flows', async () => {
    expect(() => resolveCriterion({ varianceTol: 0.5 })).toThrow('wgflow: converge: criterion varianceTol must be in (0, variance = 0.5) (got 0.5)');
    expect(() => resolveCriterion({ varianceTol: 0 })).toThrow(/varianceTol must be in \(0, variance/);
    expect(() => resolveCriterion({ energyTol: -1 })).toThrow('wgflow: converge: criterion energyTol must be a finite number > 0 (got -1)');
    expect(() => resolveCriterion({ variance: Infinity })).toThrow(/criterion variance must be a finite number > 0/);
    expect(() => resolveCriterion({ window: 1 })).toThrow('wgflow: converge: criterion window must be in (0, 1) (got 1)');
    const { device } = await testDevice();
    const fp = PRESETS['fokker-planck']!;
    await expect(runMainJob(device, fp, { fallback: true, adapter: 'x', maxSteps: 0, log: () => {} })).rejects.toThrow('wgflow: converge: the step cap must be a positive integer (got 0)');
    await expect(runMainJob(device, fp, { fallback: true, adapter: 'x', maxSteps: -5, log: () => {} })).rejects.toThrow(/step cap must be a positive integer/);
    await expect(runMainJob(device, fp, { fallback: true, adapter: 'x', criterion: { energyTol: 0 }, log: () => {} })).rejects.toThrow(/energyTol must be a finite number > 0/);
    await expect(runMainJob(device, PRESETS.quadratic!, { fallback: true, adapter: 'x', log: () => {} })).rejects.toThrow("wgflow: converge: preset 'quadratic' has no convergence criterion");
    await expect(main(['converge', '--max-steps', '0'])).rejects.toThrow('wgflow: --max-steps must be a positive integer (got 0)');
    await expect(main(['converge', '--var-tol=0'])).rejects.toThrow('wgflow: --var-tol must be a positive number (got 0)');
    await expect(main(['converge', '--flows', 'gradient,nope'])).rejects.toThrow("wgflow: converge: unknown flow 'nope'; flows of fokker-planck: gradient, accelerated, steering, fire");
    await expect(main(['converge', 'quadratic'])).rejects.toThrow("wgflow: converge: preset 'quadratic' has no convergence criterion; presets for converge: fokker-planck, paper-fp");
  });
});

describe('the main job on the GPU (N = 200)', () => {
  it('the damped flows converge; the gradient flow is stopped and extrapolated; figures, CSV, JSON and table are written', async () => {
    const { device, summary, fallback } = await testDevice();
    const lines: string[] = [];
    const progressText: string[] = [];
    const progress = createProgress({ stream: { write: (s: string) => progressText.push(s) } });
    const out = join(tmp, 'job');
    const rep = await runMainJob(device, PRESETS['fokker-planck']!, {
      n: 200, maxSteps: 1200, only: ['gradient', 'accelerated', 'steering'], fallback, adapter: summary, out, progress, log: (l) => lines.push(l),
    });
    expect(rep.runs.map((r) => r.label)).toEqual(['gradient', 'accelerated', 'steering']);
    const k = rep.criterion;
    for (const r of rep.runs.slice(1)) {
      expect(r.stop, r.label).toBe('converged');
      expect(r.converged, r.label).not.toBeNull();
      expect(r.gamma).toBeCloseTo(2 * Math.SQRT2, 5);
      const j = r.checks.findIndex((c) => c.step === r.converged!.step);
      for (const c of r.checks.slice(j)) {
        for (const v of c.variance) expect(Math.abs(v - 0.5)).toBeLessThanOrEqual(k.varianceTol);
        expect(Math.abs(c.energy - r.converged!.plateau)).toBeLessThanOrEqual(k.energyTol);
      }
      // The check before it fails the criterion.
      const before = r.checks[j - 1]!;
      expect(before.variance.some((v) => Math.abs(v - 0.5) > k.varianceTol) || Math.abs(before.energy - r.converged!.plateau) > k.energyTol).toBe(true);
      expect(r.converged!.step).toBeLessThan(1200);
      // The 1-NN estimate at N = 200 plateaus near −2.8 (lattice bias; −log π = −1.1447 is the true minimum).
      expect(r.converged!.plateau).toBeLessThan(-2.7);
      expect(r.converged!.plateau).toBeGreaterThan(-2.9);
    }
    const g = rep.runs[0]!;
    expect(g.converged).toBeNull();
    expect(['projected', 'cap']).toContain(g.stop);
    expect(g.extrapolation!.steps!).toBeGreaterThan(1200);
    // Output: the statement, the criterion and the table.
    const text = lines.join('\n');
    expect(text).toContain('N = 200 (given).');
    expect(text).toContain('converged = every per-axis variance within 0.5 ± 0.02 and the energy within 0.01 of its plateau');
    expect(text).toMatch(/\| gradient +\| auto \(/);
    expect(text).toMatch(/needs ≈ \d+ steps/);
    expect(progressText.join('')).toMatch(/accelerated +step +\d+\/1200 +E -?\d\.\d{4} +var \d\.\d{3}\/\d\.\d{3} +h \S+ +ETA ≤ \d+ s/);
    const names = ['snapshots.png', 'snapshots.svg', 'convergence.png', 'convergence.svg', 'convergence.csv', 'report.json', 'table.md'].map((f) => join(out, `fokker-planck-${f}`));
    expect(rep.files).toEqual(names);
    for (const f of names) expect(existsSync(f), f).toBe(true);
    expect(readFileSync(names[0]!).subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    // Every text of both figures is drawn whole: each character has a glyph, no heading runs off.
    expect(figureTextProblems(snapshotFigure(rep, [0, 500, 1000, 2000, 5000]))).toEqual([]);
    expect(figureTextProblems(convergenceFigure(rep))).toEqual([]);
    // The side-by-side table (npm start puts paper-fp beside the tuned run): one row per flow.
    const side = besideTable(rep, { ...rep, preset: 'paper-fp', runs: rep.runs.slice(1) }).split('\n');
    expect(side[0]).toBe('## fokker-planck (N = 200, the tuned defaults) beside paper-fp (N = 200, the paper\'s setting)');
    expect(side.find((l) => l.startsWith('| gradient '))).toMatch(/not within \d+ \(needs ≈ \d+\).*\| not run /);
    expect(side.find((l) => l.startsWith('| accelerated '))).toMatch(new RegExp(`converged at step ${rep.runs[1]!.converged!.step} .*converged at step ${rep.runs[1]!.converged!.step} `));
    expect(readFileSync(names[1]!, 'utf8')).toContain('accelerated · h = auto (');
    const csv = readFileSync(names[4]!, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('flow,step,time,energy,var_x,var_y,residual,kinetic,h,gamma,restarts,ms');
    expect(csv.length).toBe(1 + rep.runs.reduce((s, r) => s + r.checks.length, 0));
    const json = JSON.parse(readFileSync(names[5]!, 'utf8')) as { n: number; runs: { label: string; converged: unknown }[] };
    expect(json.n).toBe(200);
    expect(json.runs.map((r) => r.label)).toEqual(['gradient', 'accelerated', 'steering']);
  }, 300_000);
});
