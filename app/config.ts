/**
 * Run configurations of the `wgflow` command: the JSON a user copies and edits (`wgflow config
 * <preset> > my.json`, then `wgflow run my.json`), its schema (zod, {@link RUN_CONFIG_SCHEMA})
 * and the problem it describes (particles, energy terms, flows), built only from the public API.
 * Every preset of app/presets.ts is such a config; a config file runs exactly like its preset.
 *
 * Validation is strict: an unknown field, a wrong type or a value out of range is an error
 * naming the field (its JSON path, e.g. `energy[1].k`) and the allowed values.
 *
 * @example
 * const config = parseConfig(JSON.parse(text), 'my.json');
 * const terms = buildEnergy(config.energy);
 */
import { z } from 'zod';
import {
  doubleWell, entropy, gaussian, gaussianMixture, interaction, quadratic, twoQuadrants, uniformBox,
  type EnergyTerm, type Method,
} from '../src/index.js';

/**
 * The methods of createFlow, in the order the help lists them.
 *
 * @example
 * METHODS.includes('fire'); // true
 */
export const METHODS = ['gradient', 'accelerated', 'steering', 'langevin', 'fire'] as const satisfies readonly Method[];

/** A strict object: an unknown field is an error that lists the allowed fields. */
function strict<T extends z.ZodRawShape>(shape: T) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? `unknown field${iss.keys.length > 1 ? 's' : ''} ${iss.keys.map((k) => `'${k}'`).join(', ')} (allowed fields: ${allowed})` : undefined),
  });
}

const finite = () => z.number().refine(Number.isFinite, { message: 'must be a finite number' });
const positive = () => z.number().gt(0).refine(Number.isFinite, { message: 'must be a finite number > 0' });
const nonNegative = () => z.number().min(0).refine(Number.isFinite, { message: 'must be a finite number ≥ 0' });
const vector = () => z.array(finite()).min(1).max(3);
const termBase = {
  /** Multiplies the term. Default 1. */
  weight: finite().optional(),
  /** Name in the diagnostics. Default the term's kind. */
  label: z.string().min(1).max(64).optional(),
  /**
   * Weight annealing: from `weight` to `to`, linearly over the first `steps` steps, updated at
   * every recorded step (multiples of `every`).
   */
  anneal: strict({ to: finite(), steps: z.number().int().min(1) }).optional(),
};

/** One energy term of a config: `term` names the factory of the public API. */
const TERM_SCHEMA = z.discriminatedUnion('term', [
  strict({ term: z.literal('quadratic'), ...termBase, center: vector().optional(), scale: positive().optional() }),
  strict({ term: z.literal('doubleWell'), ...termBase, a: positive().optional(), depth: positive().optional(), stiffness: nonNegative().optional() }),
  strict({
    term: z.literal('gaussianMixture'), ...termBase,
    components: z.array(strict({ weight: positive(), mean: vector(), sigma: positive() })).min(1).max(16),
  }),
  strict({ term: z.literal('entropy'), ...termBase, k: z.number().int().min(1).max(8).optional(), epsilon: z.number().min(1e-18).max(1).optional() }),
  strict({
    term: z.literal('interaction'), ...termBase,
    kernel: z.discriminatedUnion('type', [
      strict({ type: z.literal('power'), a: finite(), b: finite(), eps: positive().optional() }),
      strict({ type: z.literal('gaussian'), sigma: positive(), amplitude: finite().optional() }),
    ]),
  }),
]);

/** Initial positions: the generators of the public API (with the config's `n` and `dim`). */
const INIT_SCHEMA = z.discriminatedUnion('kind', [
  strict({ kind: z.literal('uniform'), low: finite().optional(), high: finite().optional(), seed: z.number().int().min(0).optional() }),
  strict({ kind: z.literal('gaussian'), mean: vector().optional(), std: positive().optional(), seed: z.number().int().min(0).optional() }),
  strict({ kind: z.literal('two-quadrants'), seed: z.number().int().min(0).optional() }),
]);

/** One flow of a config. */
const RUN_SCHEMA = strict({
  /** Name of the flow in outputs (letters, digits, - and _). */
  label: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, { message: 'must be 1 to 40 letters, digits, - or _' }),
  method: z.enum(METHODS),
  /** Time step h > 0 or 'auto'. */
  h: z.union([positive(), z.literal('auto')], { error: "must be a number > 0 or 'auto'" }),
  /** Damping: a number ≥ 0, 'auto' or 'paper'. Default createFlow's. */
  gamma: z.union([nonNegative(), z.enum(['auto', 'paper'])], { error: "must be a number ≥ 0, 'auto' or 'paper'" }).optional(),
  /** Langevin temperature. Default 1. */
  temperature: nonNegative().optional(),
  /** Langevin noise seed (a non-negative integer). Default 1. */
  seed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
  /** Adaptive restart (accelerated, steering). Default false. */
  restart: z.boolean().optional(),
  /** FIRE displacement cap (0: none). Default 0. */
  maxDisplacement: nonNegative().optional(),
});

/**
 * The schema of a run configuration (see the module header and README "The wgflow command").
 *
 * @example
 * RUN_CONFIG_SCHEMA.safeParse(JSON.parse(text)).success;
 */
export const RUN_CONFIG_SCHEMA = strict({
  /** Name of the run: the output folder out/<name> and the file prefixes of `converge`. */
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, { message: 'must be 1 to 64 letters, digits, - or _' }),
  description: z.string().max(2000).optional(),
  /** 'run' (default): every flow for `steps` steps. 'converge': the main job (app/main-job.ts), each flow to convergence. */
  job: z.enum(['run', 'converge']).optional(),
  dim: z.union([z.literal(1), z.literal(2), z.literal(3)], { error: 'must be 1, 2 or 3' }),
  /** Particles. */
  n: z.number().int().min(2).max(1e7),
  init: INIT_SCHEMA,
  energy: z.array(TERM_SCHEMA).min(1).max(8),
  runs: z.array(RUN_SCHEMA).min(1).max(16),
  /** Steps of each flow (the step cap of a converge job). */
  steps: z.number().int().min(1).max(1e9),
  /** Record diagnostics every `every` steps. */
  every: z.number().int().min(1).max(1e9),
  /** Steps whose particles are drawn in snapshots.png (the last step is always drawn). Default [0]. */
  snapshots: z.array(z.number().int().min(0)).max(12).optional(),
  /** Known minimum of the energy (plots show energy − fMin on a log axis). */
  fMin: finite().optional(),
  /** Settings of a converge job: the drawn iterations and whether runs are exactly `steps` long. */
  converge: strict({ snapshots: z.array(z.number().int().min(0)).max(12), fixedSteps: z.boolean() }).optional(),
}).superRefine((c, ctx) => {
  const labels = new Set<string>();
  c.runs.forEach((r, j) => {
    if (labels.has(r.label)) ctx.addIssue({ code: 'custom', path: ['runs', j, 'label'], message: `duplicate label '${r.label}' (labels must differ)` });
    labels.add(r.label);
    if (r.h === 'auto' && r.method === 'langevin') ctx.addIssue({ code: 'custom', path: ['runs', j, 'h'], message: "'auto' is not for langevin (give a number > 0)" });
  });
  if (c.runs.some((r) => r.h === 'auto') && !c.energy.some((t) => t.term === 'entropy')) {
    const j = c.runs.findIndex((r) => r.h === 'auto');
    ctx.addIssue({ code: 'custom', path: ['runs', j, 'h'], message: "'auto' needs an entropy term in energy (give a number > 0)" });
  }
  if (c.init.kind === 'two-quadrants' && c.dim !== 2) ctx.addIssue({ code: 'custom', path: ['init', 'kind'], message: `'two-quadrants' is for dim 2 (dim is ${c.dim}; use 'uniform' or 'gaussian')` });
  c.energy.forEach((t, j) => {
    if (t.term === 'entropy' && t.k !== undefined && t.k >= c.n) ctx.addIssue({ code: 'custom', path: ['energy', j, 'k'], message: `must be < n (${c.n})` });
  });
  if ((c.job ?? 'run') === 'converge' && !c.converge) ctx.addIssue({ code: 'custom', path: ['converge'], message: "is required when job is 'converge'" });
});

/** A validated run configuration. */
export type RunConfig = z.infer<typeof RUN_CONFIG_SCHEMA>;
/** One energy term of a {@link RunConfig}. */
export type TermConfig = RunConfig['energy'][number];
/** One flow of a {@link RunConfig}. */
export type RunSpec = RunConfig['runs'][number];

function jsonPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${String(p)}` : String(p);
  return s || '(top level)';
}

function got(input: unknown): string {
  if (input === undefined) return 'nothing';
  const s = JSON.stringify(input);
  return s === undefined ? String(input) : s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** One zod issue as `field: what is wrong (got X)`. */
function issueText(iss: z.core.$ZodIssue): string {
  const where = jsonPath(iss.path);
  const input = 'input' in iss ? (iss as { input?: unknown }).input : undefined;
  switch (iss.code) {
    case 'invalid_type':
      return input === undefined ? `${where}: is required (${iss.expected})` : `${where}: must be ${iss.expected === 'int' ? 'an integer' : `a${/^[aeiou]/.test(iss.expected) ? 'n' : ''} ${iss.expected}`} (got ${got(input)})`;
    case 'too_small':
      return iss.origin === 'array' ? `${where}: needs at least ${iss.minimum} entr${iss.minimum === 1 ? 'y' : 'ies'}`
        : iss.origin === 'string' ? `${where}: must not be empty`
        : `${where}: must be ${iss.inclusive ? '≥' : '>'} ${iss.minimum} (got ${got(input)})`;
    case 'too_big':
      return iss.origin === 'array' ? `${where}: allows at most ${iss.maximum} entries` : iss.origin === 'string' ? `${where}: is too long (at most ${iss.maximum} characters)` : `${where}: must be ${iss.inclusive ? '≤' : '<'} ${iss.maximum} (got ${got(input)})`;
    case 'invalid_value':
      return `${where}: must be ${iss.values.map((v) => JSON.stringify(v)).join(', ')} (got ${got(input)})`;
    case 'invalid_union': {
      const d = iss as unknown as { discriminator?: string; options?: unknown[] };
      if (d.discriminator) {
        const v = input && typeof input === 'object' ? (input as Record<string, unknown>)[d.discriminator] : input;
        return `${where}: must be one of ${(d.options ?? []).map((o) => JSON.stringify(o)).join(', ')} (got ${got(v)})`;
      }
      return `${where}: ${iss.message}${input !== undefined ? ` (got ${got(input)})` : ''}`;
    }
    case 'unrecognized_keys':
      return `${where}: ${iss.message}`;
    default:
      return `${where}: ${iss.message}${input !== undefined ? ` (got ${got(input)})` : ''}`;
  }
}

/**
 * Validates a parsed JSON value as a {@link RunConfig}; throws
 * `wgflow: <source>: <field>: <what is wrong>` listing every problem (at most 8).
 *
 * @example parseConfig({ name: 'q', dim: 3, n: 100, init: { kind: 'uniform' }, energy: [{ term: 'quadratic' }], runs: [{ label: 'g', method: 'gradient', h: 0.05 }], steps: 10, every: 1 }, 'q.json');
 */
export function parseConfig(value: unknown, source: string): RunConfig {
  const r = RUN_CONFIG_SCHEMA.safeParse(value, { reportInput: true });
  if (r.success) return r.data;
  const lines = r.error.issues.slice(0, 8).map(issueText);
  const more = r.error.issues.length > 8 ? `; and ${r.error.issues.length - 8} more` : '';
  throw new Error(`wgflow: ${source}: invalid config: ${lines.join('; ')}${more}; see \`wgflow config <preset>\` for a valid example`);
}

/**
 * The config's text as written by `wgflow config` (2-space JSON, newline at the end).
 *
 * @example
 * process.stdout.write(configText(PRESETS.quadratic.config!));
 */
export function configText(config: RunConfig): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * Initial positions of a config for `n` particles (deterministic).
 *
 * @example
 * const x0 = configPositions({ dim: 2, init: { kind: 'two-quadrants', seed: 1 } }, 1000);
 */
export function configPositions(config: Pick<RunConfig, 'dim' | 'init'>, n: number): Float32Array {
  const i = config.init;
  if (i.kind === 'uniform') return uniformBox(n, config.dim, { low: i.low ?? -1, high: i.high ?? 1, seed: i.seed ?? 1 });
  if (i.kind === 'gaussian') return gaussian(n, config.dim, { mean: i.mean, std: i.std, seed: i.seed ?? 1 });
  return twoQuadrants(n, { seed: i.seed ?? 1 });
}

/**
 * The energy terms of a config (fresh objects; their initial weights are `weight`).
 *
 * @example
 * const energy = buildEnergy([{ term: 'quadratic' }, { term: 'entropy', k: 1 }]); // [quadratic(), entropy({ k: 1 })]
 */
export function buildEnergy(terms: readonly TermConfig[]): EnergyTerm[] {
  return terms.map((t): EnergyTerm => {
    const common = { ...(t.weight !== undefined ? { weight: t.weight } : {}), ...(t.label !== undefined ? { label: t.label } : {}) };
    switch (t.term) {
      case 'quadratic': return quadratic({ ...common, center: t.center, scale: t.scale });
      case 'doubleWell': return doubleWell({ ...common, a: t.a, depth: t.depth, stiffness: t.stiffness });
      case 'gaussianMixture': return gaussianMixture({ ...common, components: t.components });
      case 'entropy': return entropy({ ...common, k: t.k, epsilon: t.epsilon });
      case 'interaction': return interaction({ ...common, kernel: t.kernel });
    }
  });
}

/**
 * The weight of term `t` for the steps that start at `step` with recording interval `every`:
 * its annealing schedule evaluated at the last recorded step ≤ `step` (a function of the step
 * alone, so a resumed run sets the same weights).
 *
 * @example
 * termWeightAt({ term: 'entropy', weight: 2, anneal: { to: 1, steps: 10 } }, 5, 5); // 1.5
 */
export function termWeightAt(t: TermConfig, step: number, every: number): number {
  const w0 = t.weight ?? 1;
  if (!t.anneal) return w0;
  const b = Math.floor(step / every) * every;
  const u = Math.min(1, b / t.anneal.steps);
  return u >= 1 ? t.anneal.to : w0 + (t.anneal.to - w0) * u;
}
