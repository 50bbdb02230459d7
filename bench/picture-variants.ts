// Variants of the picture scheme on the emblem (docs/picture.md): which knob lowers the final
// SW2² at a given N? node dist/bench/picture-variants.js N STEPS variant...
import { getDevice } from '../src/device.js';
import { pictureScheme, runPictureFlow } from '../src/picture.js';
import { emblemPath, pictureSamples } from '../src/presets/picture.js';
import { uniformBox } from '../src/init.js';
import { slicedWasserstein2 } from '../src/reference/sliced.js';

const n = Number(process.argv[2] ?? 3000);
const steps = Number(process.argv[3] ?? 3000);
const which = process.argv.slice(4);
const { device, summary } = await getDevice();
const samples = pictureSamples(emblemPath(), 20_000);
const x0 = uniformBox(n, 2, { low: -1, high: 1, seed: 1 });
const variants: Record<string, Parameters<typeof pictureScheme>[1]> = {
  default: { n, annealSteps: Math.round(0.8 * steps) },
  res1024: { n, annealSteps: Math.round(0.8 * steps), resolution: 1024 },
  damp05: { n, annealSteps: Math.round(0.8 * steps), dampingFactor: 0.5 },
  damp035: { n, annealSteps: Math.round(0.8 * steps), dampingFactor: 0.35 },
  damp025: { n, annealSteps: Math.round(0.8 * steps), dampingFactor: 0.25 },
  anneal60: { n, annealSteps: Math.round(0.6 * steps) },
  power1: { n, annealSteps: Math.round(0.8 * steps), power: 1 },
  step2: { n, annealSteps: Math.round(0.8 * steps), stepFactor: 0.3 },
};
const mid = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
const iid = mid([2, 3, 4, 5, 6].map((seed) => slicedWasserstein2(pictureSamples(emblemPath(), n, seed), samples, 2)));
console.log(`${summary}\nN = ${n}, ${steps} steps; independent samples SW2² ${iid.toExponential(2)}`);
for (const name of which) {
  const t0 = performance.now();
  const scheme = pictureScheme(samples, variants[name]!);
  const run = await runPictureFlow(device, { samples, positions: x0, steps, scheme, every: steps / 4 });
  const sw = slicedWasserstein2(run.final, samples, 2);
  console.log(`${name}: SW2² ${sw.toExponential(2)} (${(sw / iid).toFixed(2)}× iid), KL ${run.records.at(-1)!.kl.toFixed(3)}, h ${scheme.h.toExponential(2)}, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
device.destroy();
