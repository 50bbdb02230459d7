// Variants of the picture scheme (docs/picture.md): which damping c (γ = c/σ) and lattice /
// step settings give the lowest final SW2², on the emblem or the ring + square target, for
// several starting seeds.
//   node dist/bench/picture-variants.js <emblem|ring> N STEPS SEEDS VARIANTS
//   e.g. node dist/bench/picture-variants.js ring 2000 3000 12,13 c1,c0.5,c0.35
// A variant is cX (damping factor X), res1024 (finer finest lattice) or step2 (h doubled).
import { getDevice } from '../src/gpu/device.js';
import { pictureScheme, runPictureFlow, ringSquare, type PictureSchemeOptions } from '../src/picture.js';
import { emblemPath, pictureSamples } from '../src/presets/picture.js';
import { uniformBox } from '../src/init.js';
import { slicedWasserstein2 } from '../src/math/sliced.js';

const [target = 'emblem', nArg = '3000', stepsArg = '3000', seedsArg = '1', variantsArg = 'c1'] = process.argv.slice(2);
const n = Number(nArg);
const steps = Number(stepsArg);
const seeds = seedsArg.split(',').map(Number);
const { device, summary } = await getDevice();
const samples = target === 'ring' ? ringSquare(5000, 11) : pictureSamples(emblemPath(), 20_000);
const fresh = (seed: number) => (target === 'ring' ? ringSquare(n, seed) : pictureSamples(emblemPath(), n, seed));
const variant = (name: string): PictureSchemeOptions => {
  const base = { n, annealSteps: Math.round((target === 'ring' ? 2 / 3 : 0.8) * steps) };
  if (name.startsWith('c')) return { ...base, dampingFactor: Number(name.slice(1)) };
  if (name === 'res1024') return { ...base, resolution: 1024 };
  if (name === 'step2') return { ...base, stepFactor: 0.3 };
  throw new Error(`unknown variant ${name}`);
};
const mid = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
const iid = mid([99, 100, 101, 102, 103].map((seed) => slicedWasserstein2(fresh(seed), samples, 2)));
console.log(`${summary}\n${target}: N = ${n}, ${steps} steps; independent samples SW2² ${iid.toExponential(2)}`);
for (const name of variantsArg.split(',')) {
  for (const seed of seeds) {
    const t0 = performance.now();
    const scheme = pictureScheme(samples, variant(name));
    const x0 = uniformBox(n, 2, { low: -1, high: 1, seed });
    const run = await runPictureFlow(device, { samples, positions: x0, steps, scheme, every: steps / 4 });
    const sw = slicedWasserstein2(run.final, samples, 2);
    console.log(`${target} ${name} seed ${seed}: SW2² ${sw.toExponential(2)} (${(sw / iid).toFixed(2)}× iid), KL ${run.records.at(-1)!.kl.toFixed(3)}, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
}
device.destroy();
