#!/usr/bin/env node
/**
 * The `wgflow` command: runs a preset comparison of the flows headless, with a progress line,
 * and writes CSV, an SVG plot of energy against iteration and PNGs of the final particles to
 * the output folder.
 *
 *   wgflow [preset] [--n N] [--steps S] [--every K] [--out DIR]
 *   wgflow compare <preset> [--n N] [--steps S] [--max-steps M] [--every K] [--out DIR]
 *                  [--criterion threshold|plateau] [--tol T] [--fire off] [--fire-cap X] [--fire-hmax H]
 *   wgflow picture [--n N] [--m M] [--steps S] [--anneal A] [--image PATH] [--out DIR]
 *   wgflow list
 *
 * `compare` runs the preset's flows plus FIRE from the same start and reports the steps and
 * the GPU stepping time each needs to converge (src/compare.ts), writing
 * <preset>-compare.json, -compare.md and -compare.svg.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { getDevice } from './gpu/device.js';
import { PRESETS, runPreset, type RunHistory } from './presets.js';
import { lineChartSvg, scatterPng, writeCsv } from './io/plot.js';
import { compareMethods, compareTable, defaultCriterion, writeCompareOutputs, type CriterionSpec } from './compare.js';
import { pictureCommand } from './presets/picture.js';
import { intFlag, parseArgs } from './args.js';

function numFlag(flags: Record<string, string>, name: string): number | undefined {
  if (flags[name] === undefined) return undefined;
  const v = Number(flags[name]);
  if (!(Number.isFinite(v) && v > 0)) throw new Error(`--${name} must be a positive number (got ${flags[name]})`);
  return v;
}

/** `wgflow compare <preset>`: steps and time to convergence of each flow (src/compare.ts). */
async function compare(name: string | undefined, flags: Record<string, string>): Promise<void> {
  if (!name) throw new Error(`usage: wgflow compare <preset> [--n N] [--steps S] [--every K] [--out DIR] [--max-steps M] [--criterion threshold|plateau] [--tol T] [--fire off] [--fire-cap X] [--fire-hmax H]; presets: ${Object.keys(PRESETS).join(', ')}`);
  const preset = PRESETS[name];
  if (!preset) throw new Error(`unknown preset '${name}'; presets: ${Object.keys(PRESETS).join(', ')}`);
  let criterion: CriterionSpec = defaultCriterion(preset);
  const kind = flags.criterion;
  if (kind !== undefined && kind !== 'threshold' && kind !== 'plateau') throw new Error(`--criterion must be threshold or plateau (got ${kind})`);
  if (kind === 'threshold' && criterion.kind !== 'threshold') criterion = { kind: 'threshold', fMin: preset.fMin ?? 0, tol: 1e-3 };
  if (kind === 'plateau' && criterion.kind !== 'plateau') criterion = { kind: 'plateau', rtol: 1e-3, window: 0.1 };
  const tol = numFlag(flags, 'tol');
  if (tol !== undefined) criterion = criterion.kind === 'threshold' ? { ...criterion, tol } : { ...criterion, rtol: tol };
  const out = flags.out ?? 'out';
  const { device, summary } = await getDevice();
  console.log(`[wgflow] adapter: ${summary}`);
  console.log(`[wgflow] compare ${preset.name}: ${preset.description}`);
  const tty = process.stderr.isTTY;
  let lastPrint = 0;
  const report = await compareMethods(device, preset, {
    n: intFlag(flags, 'n'),
    steps: intFlag(flags, 'steps'),
    maxSteps: intFlag(flags, 'max-steps'),
    every: intFlag(flags, 'every'),
    criterion,
    fire: flags.fire === 'off' ? false : {
      ...(flags['fire-cap'] !== undefined ? { maxDisplacement: flags['fire-cap'] === '0' ? 0 : numFlag(flags, 'fire-cap') } : {}),
      ...(flags['fire-hmax'] !== undefined ? { hMax: numFlag(flags, 'fire-hmax') } : {}),
    },
    adapter: summary,
    onProgress: (run, step, total, energy) => {
      const now = Date.now();
      if (step !== total && now - lastPrint < 250) return;
      lastPrint = now;
      const line = `[wgflow] ${run.label.padEnd(12)} step ${String(step).padStart(6)}/${total}  energy ${energy.toPrecision(6)}`;
      if (tty) process.stderr.write(`\r${line}${step === total ? '\n' : ''}`);
      else if (step === total) console.error(line);
    },
  });
  const paths = await writeCompareOutputs(report, out);
  console.log(compareTable(report));
  console.log(`[wgflow] wrote ${paths.join(', ')}`);
  device.destroy();
}

async function main(): Promise<void> {
  const { positional, flags } = parseArgs(process.argv.slice(2));
  if (positional[0] === 'compare') return compare(positional[1], flags);
  if (positional[0] === 'picture') return pictureCommand(process.argv.slice(3));
  const name = positional[0] ?? (PRESETS['fokker-planck'] ? 'fokker-planck' : 'quadratic');
  if (name === 'list' || flags.help !== undefined) {
    console.log('usage: wgflow [preset] [--n N] [--steps S] [--every K] [--out DIR]\n' +
      '       wgflow compare <preset> [--n N] [--steps S] [--every K] [--out DIR] [--max-steps M] [--criterion threshold|plateau] [--tol T] [--fire off] [--fire-cap X] [--fire-hmax H]\n' +
      '       wgflow picture [--n N] [--m M] [--steps S] [--anneal A] [--image PATH] [--out DIR]   (snapshots, KL curve; docs/picture.md)\npresets:');
    for (const p of Object.values(PRESETS)) console.log(`  ${p.name.padEnd(14)} ${p.description}`);
    return;
  }
  const preset = PRESETS[name];
  if (!preset) throw new Error(`unknown preset '${name}'; presets: ${Object.keys(PRESETS).join(', ')}`);
  const out = flags.out ?? 'out';
  await mkdir(out, { recursive: true });
  const { device, summary } = await getDevice();
  console.log(`[wgflow] adapter: ${summary}`);
  console.log(`[wgflow] preset ${preset.name}: ${preset.description}`);
  const tty = process.stderr.isTTY;
  let lastPrint = 0;
  const histories: RunHistory[] = await runPreset(device, preset, {
    n: intFlag(flags, 'n'),
    steps: intFlag(flags, 'steps'),
    every: intFlag(flags, 'every'),
    onProgress: (run, step, total, s) => {
      const now = Date.now();
      if (step !== total && now - lastPrint < 250) return;
      lastPrint = now;
      const line = `[wgflow] ${run.label.padEnd(12)} step ${String(step).padStart(6)}/${total}  energy ${s.energy.toPrecision(6)}  residual ${s.residual.toExponential(2)}`;
      if (tty) process.stderr.write(`\r${line}${step === total ? '\n' : ''}`);
      else if (step === total || step % Math.max(1, Math.floor(total / 10)) === 0) console.error(line);
    },
  });
  // CSV: one row per recorded step, energy of each flow.
  const header = ['step', ...histories.flatMap((h) => [`energy_${h.label}`, `residual_${h.label}`, `kinetic_${h.label}`])];
  const rows = histories[0]!.steps.map((step, r) => [step, ...histories.flatMap((h) => [h.energy[r]!, h.residual[r]!, h.kinetic[r]!])]);
  await writeCsv(join(out, `${preset.name}-energy.csv`), header, rows);
  const fMin = preset.fMin;
  const svg = lineChartSvg({
    title: `${preset.name}: energy against iteration`,
    xLabel: 'iteration',
    yLabel: fMin !== undefined ? `energy − ${fMin}` : 'energy',
    logY: fMin !== undefined,
    series: histories.map((h) => ({ name: h.label, x: h.steps, y: h.energy.map((e) => (fMin !== undefined ? e - fMin : e)) })),
  });
  await writeFile(join(out, `${preset.name}-energy.svg`), svg);
  for (const h of histories) {
    await writeFile(join(out, `${preset.name}-${h.label}-final.png`), scatterPng(h.final, preset.dim, { width: 480, height: 480 }));
  }
  const summaryRows = histories.map((h) => ({
    flow: h.label, steps: h.steps.at(-1), energy: h.energy.at(-1), residual: h.residual.at(-1),
    varX: h.finalStats.covariance[0], h: h.finalStats.h, stepMs: Math.round(h.stepMs),
    ...(preset.finalCheck ? preset.finalCheck(h.final) : {}),
  }));
  await writeFile(join(out, `${preset.name}-summary.json`), JSON.stringify({ preset: preset.name, adapter: summary, runs: summaryRows }, null, 2));
  console.table(summaryRows);
  console.log(`[wgflow] wrote ${out}/${preset.name}-energy.csv, -energy.svg, -<flow>-final.png, -summary.json`);
  device.destroy();
}

main().then(() => process.exit(0), (e: Error) => {
  console.error(`[wgflow] error: ${e.message}`);
  process.exit(1);
});
