// wgflow demo: every preset live, the flows side by side from the same start, in lock-step.
//
// Built with Vite (`npm run build`, output demo/dist/; `npm run demo` serves it). It imports
// the package as a user's app would: `import ... from 'wgflow'` resolves through the package's
// "exports" to dist/src/index.js (vite.config.mjs), so the bundle proves that the package
// needs no file reads and no `?raw` imports.
//
// Each animation frame records `k` steps of every flow (flow.encodeSteps) into one compute
// pass, then one render pass per canvas that draws flow.buffers.positions directly with
// createParticleRenderer; one submit. No readback per frame: flow.stats() is read every
// STATS_MS for the readouts and the shared energy plot.
import {
  getDevice, createFlow, createParticleRenderer, quadratic, entropy, doubleWell, gaussianMixture,
  interaction, klToSamples, samplesFromFile, uniformBox, twoQuadrants,
} from 'wgflow';
import { mat4 } from 'wgpu-matrix';
import emblemUrl from '../assets/emblem.png?url';

const $ = (id) => document.getElementById(id);
const ui = {
  preset: $('preset'), n: $('n'), k: $('k'), kOut: $('kOut'), size: $('size'), sizeOut: $('sizeOut'),
  params: $('params'), pictureRow: $('pictureRow'), file: $('file'), play: $('play'), stepOnce: $('stepOnce'),
  reset: $('reset'), methods: $('methods'), hint: $('hint'), stages: $('stages'), plot: $('plot'), scale: $('scale'),
  status: $('status'), message: $('message'),
};

/** Milliseconds between two rounds of flow.stats() readbacks. */
const STATS_MS = 250;
/** Frames allowed in flight on the GPU before a frame is skipped. */
const MAX_IN_FLIGHT = 2;
/** Points kept per curve on the plot. */
const MAX_POINTS = 2000;
const METHOD_COLOURS = { gradient: '#f0883e', accelerated: '#58a6ff', steering: '#3fb950', fire: '#d2a8ff', langevin: '#ff7b72' };
const COMPARISON = ['gradient', 'accelerated', 'steering', 'fire'];
const ORANGE = [0.94, 0.53, 0.24, 0.85], BLUE = [0.35, 0.65, 1, 0.85], GREY = [0.55, 0.58, 0.62, 0.35];

// ---- Presets: each its energy, start, flows and meaningful parameters.
// `h: 'auto'` (the curvature rule) wherever a term has a length scale (entropy, KL); gamma is
// left to the flow's default ('auto' = critical damping 2√λ_min where it can be derived, else
// the paper's 0.5), as in app/presets.ts and FLOW_DEFAULTS.
const P = (id, label, min, max, step, value, hint) => ({ id, label, min, max, step, value, hint });
const PRESETS = {
  'fokker-planck': {
    title: 'Fokker–Planck: F = ∫|x|²ρ + T ∫ρ log ρ (KL to N(0, T/2·I) + const), Kozachenko–Leonenko entropy, from the two quadrants',
    dim: 2, box: 1.6, start: (n) => twoQuadrants(n, { seed: 1 }), split: true,
    params: [P('k', 'entropy k', 1, 8, 1, 1, 'neighbour order of the entropy estimator'), P('temperature', 'temperature T', 0.1, 3, 0.05, 1)],
    methods: COMPARISON, h: () => 'auto',
    energy: (p) => [quadratic(), entropy({ k: p.k, temperature: p.temperature })],
  },
  picture: {
    title: 'Picture: F = KL(ρ | target samples), k-NN estimate; drop a PNG/JPEG or pick a file to change the target',
    dim: 2, box: 1.15, start: (n) => uniformBox(n, 2, { low: -1, high: 1, seed: 1 }), split: false, picture: true,
    params: [],
    methods: COMPARISON, h: () => 'auto',
    energy: (p, target) => [klToSamples(target.samples, { k: 1, epsilonNu: 1e-3, epsilonR: 1e-3, label: 'kl' })],
  },
  quadratic3d: {
    title: 'Quadratic in R³: V = ∫|x|²ρ from the cube [−1, 1]³ (minimum 0 at the origin); drag to orbit, wheel to zoom',
    dim: 3, start: (n) => uniformBox(n, 3, { low: -1, high: 1, seed: 1 }), split: false, fMin: 0,
    params: [P('h', 'step h', 0.002, 0.1, 0.002, 0.02)],
    methods: COMPARISON, h: (p) => p.h,
    energy: () => [quadratic()],
  },
  langevin: {
    title: 'Langevin: x ← x − h∇U + √(2hT) ξ with U = |x|², beside the deterministic particle flow of the same Fokker–Planck equation (entropy); F = ∫Uρ + T∫ρ log ρ for both',
    dim: 2, box: 2.6, start: (n) => uniformBox(n, 2, { low: -2.4, high: 2.4, seed: 1 }), split: false,
    params: [P('temperature', 'temperature T', 0.1, 3, 0.05, 1), P('seed', 'noise seed', 1, 100, 1, 1), P('h', 'Langevin h', 0.001, 0.05, 0.001, 0.01)],
    methods: ['langevin', 'gradient'], h: (p, method) => (method === 'langevin' ? p.h : 'auto'),
    energy: (p, _t, method) => (method === 'langevin' ? [quadratic()] : [quadratic(), entropy({ temperature: p.temperature, label: 'entropy' })]),
    monitor: (p, method) => (method === 'langevin' ? [entropy({ temperature: p.temperature, label: 'entropy' })] : []),
    extra: (p) => ({ temperature: p.temperature, seed: p.seed }),
  },
  aggregation: {
    title: 'Aggregation: F = ½∬W(x − y) dρ dρ with W = |z|^a/a − |z|^b/b (b = 0: log), all pairs; a = 2, b = 0 tends to the uniform disc of radius 1',
    dim: 2, box: 1.6, start: (n) => twoQuadrants(n, { seed: 1 }), split: true,
    params: [P('a', 'attraction a', 1, 4, 0.5, 2), P('b', 'repulsion b', 0, 1.5, 0.5, 0), P('h', 'step h', 0.005, 0.2, 0.005, 0.05)],
    methods: COMPARISON, h: (p) => p.h,
    energy: (p) => [interaction({ kernel: { type: 'power', a: p.a, b: p.b }, label: 'aggregation' })],
    check: (p) => (p.a > p.b ? null : `the attraction exponent a (${p.a}) must exceed the repulsion exponent b (${p.b})`),
  },
  'double-well': {
    title: 'Double well: U = depth·(x₀² − a²)²/a⁴ + x₁², with entropy at temperature T; the halves of the start fall into the two wells',
    dim: 2, box: 2.2, start: (n) => twoQuadrants(n, { seed: 1 }), split: true,
    params: [P('a', 'well at ±a', 0.5, 1.8, 0.1, 1), P('depth', 'barrier depth', 0.2, 4, 0.1, 1), P('temperature', 'temperature T', 0.02, 1, 0.01, 0.1)],
    methods: COMPARISON, h: () => 'auto',
    energy: (p) => [doubleWell({ a: p.a, depth: p.depth }), entropy({ temperature: p.temperature })],
  },
  'gaussian-mixture': {
    title: 'Gaussian mixture: F = KL(ρ | three-component mixture) + const (potential −log p plus entropy); the particles sample the mixture',
    dim: 2, box: 2.6, start: (n) => twoQuadrants(n, { seed: 1 }), split: true,
    params: [P('sigma', 'component σ', 0.15, 0.8, 0.05, 0.35), P('radius', 'means at radius', 0.4, 2, 0.1, 1.3)],
    methods: COMPARISON, h: () => 'auto',
    energy: (p) => [gaussianMixture({
      components: [0, 1, 2].map((j) => ({ weight: 1, sigma: p.sigma, mean: [p.radius * Math.cos(Math.PI / 2 + (2 * Math.PI * j) / 3), p.radius * Math.sin(Math.PI / 2 + (2 * Math.PI * j) / 3)] })),
    }), entropy()],
  },
};

// ---- URL parameters: ?preset=picture&n=1000&k=2&size=2&m=4000&paused=1&methods=gradient,fire&<param>=<value>
const q = new URLSearchParams(location.search);
for (const [id, p] of Object.entries(PRESETS)) ui.preset.add(new Option(`${id}`, id));
ui.preset.value = PRESETS[q.get('preset')] ? q.get('preset') : 'fokker-planck';
if (q.has('spf')) ui.k.value = q.get('spf'); // steps per frame ('k' is the entropy's k)
if (q.has('size')) ui.size.value = q.get('size');
const sampleCount = Math.max(100, Number(q.get('m') ?? 20000) | 0);
/** Methods switched off with the checkboxes (or ?methods=a,b: only those on). */
const methodsOff = new Set();
const onlyMethods = q.get('methods')?.split(',');
if (onlyMethods) for (const m of ['gradient', 'accelerated', 'steering', 'fire', 'langevin']) if (!onlyMethods.includes(m)) methodsOff.add(m);

// ---- Messages: never a blank page.
function showMessage(kind, text, action) {
  ui.message.className = kind;
  ui.message.textContent = text;
  if (action) {
    const b = document.createElement('button');
    b.textContent = action.label;
    b.id = action.id;
    b.onclick = action.run;
    ui.message.append(document.createElement('br'), b);
  }
  state.message = { kind, text };
  messageSeq++;
}
/** Counts the messages shown, so that a restart does not wipe one shown while it compiled. */
let messageSeq = 0;
function clearMessage() {
  ui.message.className = '';
  ui.message.textContent = '';
  state.message = null;
}
const NO_WEBGPU = `This page needs WebGPU, and this browser gives it none.
• Chrome / Edge (113 or later): WebGPU is on by default on Windows, macOS and ChromeOS; on Linux open chrome://flags (edge://flags), enable "Unsafe WebGPU Support" and Vulkan, and restart. Check chrome://gpu for "WebGPU: Hardware accelerated". Update the browser if it is older.
• Firefox: WebGPU is on by default in Firefox 141+ on Windows; elsewhere use Firefox Nightly or set dom.webgpu.enabled = true in about:config.
• Safari: Safari 26 (macOS 26 / iOS 26) has WebGPU on; on Safari 17–18 enable it in Develop → Feature Flags → WebGPU.
The page must come from https:// or http://127.0.0.1 / localhost (a secure context); file:// does not work.`;

// ---- State (exposed as window.__wgflow for the browser test and the screenshot script).
const state = {
  ready: false, error: null, message: null, frames: 0, preset: ui.preset.value, n: 0, maxN: 0,
  runs: [], device: null, target: null, lostReason: null, restarts: 0, scale: 'linear', generation: 0,
};
window.__wgflow = state;
let dev = null, lost = false, playing = q.get('paused') !== '1', stepOnce = 0, inFlight = 0, lastStatsAt = 0, statsBusy = false;
let targetGpu = null; // { buffer } of the grey backdrop (target samples, cube edges)
const camera = { azimuth: 0.7, elevation: 0.45, distance: 5.5 };

function presetParams(preset) {
  const out = {};
  for (const p of preset.params) {
    const el = document.getElementById(`param-${p.id}`);
    out[p.id] = el ? Number(el.value) : p.value;
  }
  return out;
}
function buildParamControls() {
  const preset = PRESETS[ui.preset.value];
  ui.params.textContent = '';
  for (const p of preset.params) {
    const label = document.createElement('label');
    label.htmlFor = `param-${p.id}`;
    label.textContent = p.label;
    const input = document.createElement('input');
    Object.assign(input, { type: 'range', id: `param-${p.id}`, min: p.min, max: p.max, step: p.step, value: q.has(p.id) ? q.get(p.id) : p.value });
    if (p.hint) input.title = p.hint;
    const out = document.createElement('output');
    const show = () => { out.textContent = String(Number(input.value)); };
    show();
    input.oninput = show;
    input.onchange = () => restart();
    ui.params.append(label, input, out);
  }
  ui.pictureRow.hidden = !preset.picture;
  ui.methods.textContent = '';
  for (const m of preset.methods) {
    const box = document.createElement('input');
    Object.assign(box, { type: 'checkbox', id: `method-${m}`, checked: !methodsOff.has(m) });
    box.onchange = () => { box.checked ? methodsOff.delete(m) : methodsOff.add(m); restart(); };
    const label = document.createElement('label');
    label.append(box, ` ${m}`);
    label.style.color = METHOD_COLOURS[m];
    ui.methods.append(label);
  }
  ui.hint.textContent = preset.title;
}
function showOutputs() {
  ui.kOut.textContent = ui.k.value;
  ui.sizeOut.textContent = `${ui.size.value}px`;
}

// ---- Canvases, one per flow.
function makeStages(methods) {
  ui.stages.textContent = '';
  return methods.map((method) => {
    const div = document.createElement('div');
    div.className = 'stage';
    const canvas = document.createElement('canvas');
    canvas.id = `canvas-${method}`;
    canvas.setAttribute('aria-label', `${method} flow`);
    const label = document.createElement('div');
    label.className = 'label';
    div.append(canvas, label);
    ui.stages.append(div);
    attachOrbit(canvas);
    return { method, canvas, label };
  });
}
function attachOrbit(canvas) {
  let drag = null;
  canvas.addEventListener('pointerdown', (e) => { drag = { x: e.clientX, y: e.clientY }; canvas.setPointerCapture(e.pointerId); });
  canvas.addEventListener('pointerup', () => { drag = null; });
  canvas.addEventListener('pointermove', (e) => {
    if (!drag || PRESETS[state.preset].dim !== 3) return;
    camera.azimuth -= (e.clientX - drag.x) * 0.01;
    camera.elevation = Math.max(-1.5, Math.min(1.5, camera.elevation + (e.clientY - drag.y) * 0.01));
    drag = { x: e.clientX, y: e.clientY };
  });
  canvas.addEventListener('wheel', (e) => {
    if (PRESETS[state.preset].dim !== 3) return;
    e.preventDefault();
    camera.distance = Math.max(1.2, Math.min(20, camera.distance * Math.exp(e.deltaY * 0.001)));
  }, { passive: false });
}
function viewFor(preset, canvas) {
  const aspect = canvas.width / canvas.height;
  if (preset.dim === 3) {
    const { azimuth: a, elevation: e, distance: d } = camera;
    const eye = [d * Math.cos(e) * Math.sin(a), d * Math.sin(e), d * Math.cos(e) * Math.cos(a)];
    const proj = mat4.perspective(Math.PI / 4, aspect, 0.05, 100);
    const look = mat4.lookAt(eye, [0, 0, 0], [0, 1, 0]);
    // World z up in the flow's coordinates: swap y and z so that x₂ points up on screen.
    const swap = new Float32Array([1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    return mat4.multiply(mat4.multiply(proj, look), swap);
  }
  const r = preset.box;
  return aspect >= 1 ? [-r * aspect, r * aspect, -r, r] : [-r, r, -r / aspect, r / aspect];
}
function resizeCanvas(c) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(c.clientWidth * dpr)), h = Math.max(1, Math.round(c.clientHeight * dpr));
  if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
}

/** Points along the 12 edges of the cube [−r, r]³, `per` on each edge (dim 3, row-major). */
function cubeEdges(r, per) {
  const out = [];
  for (let axis = 0; axis < 3; axis++) {
    for (const u of [-r, r]) for (const v of [-r, r]) {
      for (let k = 0; k <= per; k++) {
        const t = -r + (2 * r * k) / per;
        const p = [0, 0, 0];
        p[axis] = t; p[(axis + 1) % 3] = u; p[(axis + 2) % 3] = v;
        out.push(...p);
      }
    }
  }
  return new Float32Array(out);
}

// ---- The picture target.
async function loadTarget(blob, name) {
  if (!blob.type.startsWith('image/') && !/\.(png|jpe?g)$/i.test(name)) {
    throw new Error(`not a PNG or JPEG (type ${blob.type || 'unknown'})`);
  }
  const samples = await samplesFromFile(blob, { count: sampleCount, seed: 1, box: [-1, 1, -1, 1] });
  return { name, samples };
}
async function useFile(file) {
  try {
    const t = await loadTarget(file, file.name);
    state.target = t;
    clearMessage();
    if (ui.preset.value !== 'picture') { ui.preset.value = 'picture'; buildParamControls(); }
    await restart();
  } catch (e) {
    const what = String(e?.message ?? e).replace(/^wgflow: samplesFromFile: /, '').replace(/^samplesFromPixels: /, '');
    showMessage('error', `The picture "${file.name}" cannot be the target: ${what}.\nUse a PNG or JPEG with dark ink on a light background (or a shape on a transparent one). The previous target is kept.`);
  }
}

// ---- Flows.
function limitsFor(dim) {
  return dev?.limits?.maxParticles?.[dim] ?? Infinity;
}
function defaultN() {
  if (q.has('n')) return Number(q.get('n'));
  return dev?.fallback ? 1000 : 10000;
}
function destroyRuns() {
  for (const r of state.runs) { r.renderer?.destroy(); r.targetRenderer?.destroy(); r.flow?.destroy(); }
  state.runs = [];
  targetGpu?.buffer.destroy();
  targetGpu = null;
}

async function restart() {
  const gen = ++state.generation;
  // Messages shown after this request (a picture refused while the last frame's statistics were
  // read back, or while this start compiles) outlive it; older ones it supersedes.
  const seqAtStart = messageSeq;
  while (statsBusy) await new Promise((r) => setTimeout(r, 10));
  if (gen !== state.generation) return;
  destroyRuns();
  if (!dev || lost) return;
  if (messageSeq === seqAtStart) clearMessage(); // a new start supersedes the last message (a refused picture, N too large)
  const presetId = ui.preset.value;
  const preset = PRESETS[presetId];
  state.preset = presetId;
  const params = presetParams(preset);
  const bad = preset.check?.(params);
  if (bad) { showMessage('error', `${presetId}: ${bad}. Change the sliders.`); return; }
  let n = Number(ui.n.value);
  const maxN = limitsFor(preset.dim);
  state.maxN = maxN;
  if (!(Number.isInteger(n) && n >= 1)) n = 1000;
  state.n = n;
  if (n > maxN) {
    makeStages([]);
    showMessage('warn', `N = ${n.toLocaleString('en')} is beyond this device's limits for ${preset.dim}-D flows: the largest buffer a kernel may bind is ${dev.limits.maxBindingBytes.toLocaleString('en')} bytes (limited by ${dev.limits.limitedBy[preset.dim]}, ${Math.round(dev.limits.bytesPerParticle[preset.dim])} bytes per particle), so the largest N allowed is ${maxN.toLocaleString('en')}. Choose a smaller N.`);
    ui.status.textContent = `N = ${n.toLocaleString('en')} too large for this device (largest ${maxN.toLocaleString('en')})`;
    return;
  }
  if (preset.picture && !state.target) {
    try {
      state.target = await loadTarget(await (await fetch(emblemUrl)).blob(), 'emblem.png');
    } catch (e) {
      showMessage('error', `The shipped emblem could not be loaded: ${e?.message ?? e}`);
      return;
    }
    if (gen !== state.generation) return;
  }
  const methods = preset.methods.filter((m) => !methodsOff.has(m));
  if (!methods.length) { makeStages([]); showMessage('warn', 'Every flow is switched off: tick at least one method.'); return; }
  ui.status.textContent = `compiling the ${presetId} flows (${methods.join(', ')}), N = ${n.toLocaleString('en')}…`;
  const stages = makeStages(methods);
  for (const s of stages) s.label.textContent = `${s.method}\nstarting…`;
  for (const s of stages) resizeCanvas(s.canvas);
  const x0 = preset.start(n);
  const device = dev.device;
  const runs = [];
  try {
    device.pushErrorScope('validation');
    for (const s of stages) {
      const flow = await createFlow(device, {
        dim: preset.dim, positions: x0, method: s.method, h: preset.h(params, s.method),
        energy: preset.energy(params, state.target, s.method), monitor: preset.monitor?.(params, s.method) ?? [],
        ...(preset.extra?.(params) ?? {}), label: `demo.${s.method}`,
      });
      const ctx = s.canvas.getContext('webgpu');
      ctx.configure({ device, format: dev.format, alphaMode: 'opaque' });
      const renderer = createParticleRenderer(device, flow, {
        format: dev.format, size: Number(ui.size.value) * (window.devicePixelRatio || 1), colour: ORANGE, colour2: BLUE,
        split: preset.split ? Math.ceil(n / 2) : n, view: viewFor(preset, s.canvas), targetSize: [s.canvas.width, s.canvas.height], label: `demo.render.${s.method}`,
      });
      runs.push({ ...s, flow, ctx, renderer, steps: 0, time: 0, energy: NaN, energy0: NaN, points: [], colour: METHOD_COLOURS[s.method] });
    }
    // A backdrop drawn in grey behind the particles, by the same renderer from its own vertex
    // buffer: the picture's target samples, or the edges of the start cube in 3-D.
    const backdrop = preset.picture ? state.target.samples : preset.dim === 3 ? cubeEdges(1, 80) : null;
    if (backdrop) {
      const buffer = device.createBuffer({ label: 'demo.backdrop', size: backdrop.byteLength, usage: GPUBufferUsage.VERTEX | GPUBufferUsage.COPY_DST });
      device.queue.writeBuffer(buffer, 0, backdrop);
      targetGpu = { buffer };
      const fake = { n: backdrop.length / preset.dim, dim: preset.dim, buffers: { positions: buffer } };
      for (const r of runs) r.targetRenderer = createParticleRenderer(device, fake, { format: dev.format, size: 1, colour: GREY, view: viewFor(preset, r.canvas), targetSize: [r.canvas.width, r.canvas.height], label: 'demo.render.backdrop' });
    }
    const err = await device.popErrorScope();
    if (err) throw new Error(err.message);
  } catch (e) {
    for (const r of runs) { r.renderer.destroy(); r.flow.destroy(); }
    if (lost) return;
    showMessage('error', `Could not start the ${presetId} flows: ${e?.message ?? e}`);
    return;
  }
  if (gen !== state.generation) { for (const r of runs) { r.renderer.destroy(); r.flow.destroy(); } return; }
  state.runs = runs;
  // Clear what this start showed, but keep a message that arrived meanwhile (a refused picture).
  if (messageSeq === seqAtStart) clearMessage();
  lastStatsAt = 0;
  pollStats();
}

function energyOf(s) {
  let e = s.energy;
  for (const v of Object.values(s.monitors ?? {})) e += v;
  return e;
}

async function pollStats() {
  if (statsBusy || lost) return;
  statsBusy = true;
  const gen = state.generation;
  try {
    const runs = state.runs;
    const stats = await Promise.all(runs.map((r) => r.flow.stats()));
    if (gen !== state.generation) return;
    stats.forEach((s, i) => {
      const r = runs[i];
      // Flow time: the sum of the steps taken, kept on the GPU (exact for adaptive steps too).
      r.time = s.time;
      r.energy = energyOf(s);
      if (!Number.isFinite(r.energy0)) r.energy0 = r.energy;
      r.points.push([s.step, r.energy]);
      if (r.points.length > MAX_POINTS) r.points = r.points.filter((_, k) => k % 2 === 0);
    });
    state.statsRounds = (state.statsRounds ?? 0) + 1;
    drawPlot();
  } catch (e) {
    if (!lost && gen === state.generation) {
      showMessage('error', `A flow stopped: ${e?.message ?? e}\nPress reset, lower the steps per frame or change the parameters.`);
      playing = false;
      ui.play.textContent = 'play';
    }
  } finally {
    statsBusy = false;
    lastStatsAt = performance.now();
  }
}

// ---- Energy plot: every flow on one plot, linear or log of F − F_min.
function niceTicks(lo, hi, count) {
  const span = hi - lo || 1;
  const step0 = span / count, mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((s) => s * mag).find((s) => s >= step0);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}
function drawPlot() {
  const c = ui.plot, dpr = window.devicePixelRatio || 1;
  const W = Math.round(c.clientWidth * dpr), H = Math.round(c.clientHeight * dpr);
  if (c.width !== W || c.height !== H) { c.width = W; c.height = H; }
  const g = c.getContext('2d');
  g.clearRect(0, 0, W, H);
  const runs = state.runs;
  const log = state.scale === 'log';
  const all = runs.flatMap((r) => r.points).filter((p) => Number.isFinite(p[1]));
  const preset = PRESETS[state.preset];
  let fMin = preset.fMin;
  if (log && fMin === undefined && all.length) {
    const lo = Math.min(...all.map((p) => p[1])), hi = Math.max(...all.map((p) => p[1]));
    fMin = lo - 1e-3 * Math.max(hi - lo, 1e-9);
  }
  g.font = `${11 * dpr}px system-ui, sans-serif`;
  g.fillStyle = '#e6edf3';
  g.fillText(log ? `energy F − F_min (log), F_min = ${preset.fMin !== undefined ? preset.fMin : 'lowest value seen'}` : 'energy F (linear)', 8 * dpr, 14 * dpr);
  runs.forEach((r, i) => {
    const x = 8 * dpr + i * 96 * dpr, y = 30 * dpr;
    g.fillStyle = r.colour; g.fillRect(x, y - 5 * dpr, 12 * dpr, 3 * dpr);
    g.fillStyle = '#e6edf3'; g.fillText(r.method, x + 16 * dpr, y);
  });
  if (!all.length) return;
  const fy = (e) => (log ? Math.log10(Math.max(e - fMin, 1e-12)) : e);
  let ylo = Infinity, yhi = -Infinity, xhi = 1;
  for (const [s, e] of all) { ylo = Math.min(ylo, fy(e)); yhi = Math.max(yhi, fy(e)); xhi = Math.max(xhi, s); }
  if (log) { ylo = Math.floor(ylo); yhi = Math.ceil(yhi); if (ylo === yhi) yhi += 1; }
  else if (ylo === yhi) { ylo -= 1; yhi += 1; }
  const L = 56 * dpr, R = 10 * dpr, T = 40 * dpr, B = 28 * dpr;
  const X = (s) => L + ((W - L - R) * s) / xhi;
  const Y = (e) => T + ((H - T - B) * (yhi - fy(e))) / (yhi - ylo);
  g.strokeStyle = '#30363d'; g.fillStyle = '#8b949e'; g.lineWidth = dpr;
  const yt = log ? Array.from({ length: yhi - ylo + 1 }, (_, k) => ylo + k).filter((_, k, a) => a.length <= 7 || k % Math.ceil(a.length / 7) === 0) : niceTicks(ylo, yhi, 5);
  for (const t of yt) {
    const y = log ? Y(fMin + 10 ** t) : Y(t);
    g.beginPath(); g.moveTo(L, y); g.lineTo(W - R, y); g.stroke();
    g.fillText(log ? `1e${t}` : String(t), 4 * dpr, y + 4 * dpr);
  }
  for (const t of niceTicks(0, xhi, 5)) {
    g.beginPath(); g.moveTo(X(t), T); g.lineTo(X(t), H - B); g.stroke();
    g.fillText(String(t), X(t) - 8 * dpr, H - B + 14 * dpr);
  }
  g.fillText('iteration', W - R - 44 * dpr, H - 4 * dpr);
  // Lines drawn thick to thin and the later ones dashed, so that equal curves (the accelerated
  // and steering flows often coincide) stay visible on top of each other.
  runs.forEach((r, j) => {
    g.strokeStyle = r.colour; g.lineWidth = Math.max(1, 3.5 - 0.75 * j) * dpr;
    g.setLineDash(j % 2 ? [6 * dpr, 4 * dpr] : []);
    g.beginPath();
    let pen = false;
    for (const [s, e] of r.points) {
      if (!Number.isFinite(e)) { pen = false; continue; }
      pen ? g.lineTo(X(s), Y(e)) : g.moveTo(X(s), Y(e));
      pen = true;
    }
    g.stroke();
  });
  g.setLineDash([]);
}

// ---- The frame loop.
const fps = { t: performance.now(), frames: 0, value: 0 };
function frame() {
  requestAnimationFrame(frame);
  if (!dev || lost || !state.runs.length || inFlight >= MAX_IN_FLIGHT) return;
  const device = dev.device;
  const preset = PRESETS[state.preset];
  const k = Number(ui.k.value);
  const stepping = playing || stepOnce > 0;
  const enc = device.createCommandEncoder({ label: 'demo.frame' });
  if (stepping) {
    const cpass = enc.beginComputePass({ label: 'demo.steps' });
    const count = playing ? k : 1;
    for (const r of state.runs) { r.flow.encodeSteps(cpass, count); r.steps += count; }
    cpass.end();
    if (stepOnce > 0) stepOnce--;
  }
  for (const r of state.runs) {
    resizeCanvas(r.canvas);
    const view = viewFor(preset, r.canvas);
    r.renderer.resize(r.canvas.width, r.canvas.height);
    r.renderer.setView(view);
    const pass = enc.beginRenderPass({
      label: `demo.render.${r.method}`,
      colorAttachments: [{ view: r.ctx.getCurrentTexture().createView(), loadOp: 'clear', storeOp: 'store', clearValue: { r: 0.02, g: 0.027, b: 0.04, a: 1 } }],
    });
    if (r.targetRenderer) { r.targetRenderer.resize(r.canvas.width, r.canvas.height); r.targetRenderer.setView(view); r.targetRenderer.encode(pass); }
    r.renderer.encode(pass);
    pass.end();
    r.label.textContent = `${r.method}\niteration ${r.steps}\nt = ${r.time.toPrecision(4)}\nF ${Number.isFinite(r.energy) ? r.energy.toPrecision(5) : '…'}`;
  }
  device.queue.submit([enc.finish()]);
  inFlight++;
  device.queue.onSubmittedWorkDone().then(() => { inFlight--; }, () => { inFlight--; });
  state.frames++;
  fps.frames++;
  const now = performance.now();
  if (now - fps.t > 1000) { fps.value = (1000 * fps.frames) / (now - fps.t); fps.t = now; fps.frames = 0; showStatus(); }
  if (now - lastStatsAt > STATS_MS) pollStats();
}
function showStatus() {
  ui.status.textContent = `${dev?.summary ?? ''}\npreset ${state.preset}, N = ${state.n.toLocaleString('en')} (largest allowed ${Number.isFinite(state.maxN) ? state.maxN.toLocaleString('en') : '?'}), ${state.runs.length} flows\n${fps.value.toFixed(1)} frames/s, ${ui.k.value} steps/frame${playing ? '' : ' (paused)'}`;
  state.fps = fps.value;
}

// ---- Device: start, loss, restart.
async function start() {
  lost = false;
  clearMessage();
  if (!navigator.gpu) {
    showMessage('error', NO_WEBGPU);
    ui.status.textContent = 'no WebGPU';
    state.error = 'no-webgpu';
    return;
  }
  try {
    dev = await getDevice();
  } catch (e) {
    showMessage('error', `${NO_WEBGPU}\n\n(${e?.message ?? e})`);
    ui.status.textContent = 'no WebGPU device';
    state.error = 'no-device';
    return;
  }
  dev.format = navigator.gpu.getPreferredCanvasFormat();
  state.device = dev.device;
  const device = dev.device;
  device.addEventListener('uncapturederror', (ev) => {
    console.error(`wgflow demo: WebGPU error: ${ev.error.message}`);
    showMessage('error', `WebGPU reported an error: ${ev.error.message}`);
  });
  device.lost.then((info) => {
    if (dev?.device !== device) return;
    lost = true;
    state.lostReason = info.reason ?? 'unknown';
    destroyRuns();
    showMessage('error', `The WebGPU device was lost (reason: ${info.reason ?? 'unknown'}${info.message ? `; ${info.message}` : ''}). The GPU may have been reset, or the tab used too much GPU memory.`,
      { id: 'restartDevice', label: 'Restart', run: () => { state.restarts++; start(); } });
  });
  const n = defaultN();
  if (![...ui.n.options].some((o) => Number(o.value) === n)) ui.n.add(new Option(n.toLocaleString('en'), String(n)));
  ui.n.value = String(n);
  await restart();
  state.ready = true;
  showStatus();
}

// ---- Controls.
buildParamControls();
showOutputs();
ui.preset.onchange = () => { buildParamControls(); restart(); };
ui.n.onchange = () => restart();
ui.k.oninput = showOutputs;
ui.size.oninput = () => {
  showOutputs();
  for (const r of state.runs) r.renderer.setStyle({ size: Number(ui.size.value) * (window.devicePixelRatio || 1) });
};
ui.play.onclick = () => { playing = !playing; ui.play.textContent = playing ? 'pause' : 'play'; };
ui.play.textContent = playing ? 'pause' : 'play';
ui.stepOnce.onclick = () => { playing = false; ui.play.textContent = 'play'; stepOnce++; };
ui.reset.onclick = () => restart();
ui.scale.onclick = () => { state.scale = state.scale === 'log' ? 'linear' : 'log'; ui.scale.textContent = `axis: ${state.scale}`; drawPlot(); };
ui.file.onchange = () => { const f = ui.file.files?.[0]; if (f) useFile(f); };
window.addEventListener('dragover', (e) => { e.preventDefault(); document.body.classList.add('dragging'); });
window.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
window.addEventListener('drop', (e) => {
  e.preventDefault();
  document.body.classList.remove('dragging');
  const f = e.dataTransfer?.files?.[0];
  if (f) useFile(f);
  else showMessage('error', 'Nothing to use in what was dropped: drop a PNG or JPEG file.');
});
window.addEventListener('error', (e) => showMessage('error', `Unexpected error: ${e.message}`));
window.addEventListener('unhandledrejection', (e) => showMessage('error', `Unexpected error: ${e.reason?.message ?? e.reason}`));

start().then(() => requestAnimationFrame(frame));
