// wgflow demo: a Wasserstein-2 gradient flow of particles, stepped and drawn on the GPU.
//
// Plain ES modules, no bundler: build the package (`npm run build`), serve the repository
// root (`node scripts/serve.mjs`), open http://127.0.0.1:8080/demo/.
//
// Each animation frame records `k` flow steps (flow.encodeSteps) and one render pass into one
// command encoder and submits once. The render pass binds flow.buffers.positions (and
// .velocities) directly as instance vertex buffers: positions never leave the GPU. Energy is
// read back with flow.stats() every few frames, never every step.
import { getDevice, createFlow, quadratic } from '../dist/src/index.js';

const $ = (id) => document.getElementById(id);
const ui = {
  method: $('method'), h: $('h'), gamma: $('gamma'), n: $('n'), init: $('init'), k: $('k'), size: $('size'),
  hOut: $('hOut'), gammaOut: $('gammaOut'), kOut: $('kOut'), sizeOut: $('sizeOut'),
  play: $('play'), stepOnce: $('stepOnce'), reset: $('reset'),
  gpu: $('gpu'), hint: $('hint'), overlay: $('overlay'), plot: $('plot'), status: $('status'), error: $('error'),
};

/** Half-width of the square of the plane that is shown, in world units. */
const VIEW_RADIUS = 1.6;
/** Frames between two flow.stats() readbacks (at least; more when frames are fast). */
const STATS_EVERY = 6;
/** Milliseconds between two flow.stats() readbacks (at most, on slow adapters; never fewer than 2 frames). */
const STATS_MS = 400;
/** Frames allowed in flight on the GPU before a frame is skipped (keeps a slow adapter responsive). */
const MAX_IN_FLIGHT = 2;
/** Curves kept on the energy plot. */
const MAX_CURVES = 5;
const CURVE_COLORS = ['#f0883e', '#58a6ff', '#3fb950', '#d2a8ff', '#ff7b72', '#e3b341'];

/** Step sizes offered by the h slider (a 1-2-5 series). */
const H_VALUES = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5];

// ---- URL parameters (?method=steering&n=10000&h=0.025&gamma=0.5&k=2&init=two-quadrants&size=2.5&paused=1)
const q = new URLSearchParams(location.search);
if (q.has('method')) ui.method.value = q.get('method');
if (q.has('n')) ui.n.value = q.get('n');
if (q.has('init')) ui.init.value = q.get('init');
if (q.has('h')) {
  const want = Number(q.get('h'));
  ui.h.value = String(H_VALUES.reduce((best, v, i) => (Math.abs(Math.log(v / want)) < Math.abs(Math.log(H_VALUES[best] / want)) ? i : best), 0));
}
if (q.has('gamma')) ui.gamma.value = q.get('gamma');
if (q.has('k')) ui.k.value = q.get('k');
if (q.has('size')) ui.size.value = q.get('size');

const hValue = () => H_VALUES[Number(ui.h.value)];
const settings = () => ({
  method: ui.method.value,
  n: Number(ui.n.value),
  init: ui.init.value,
  h: hValue(),
  gamma: Number(ui.gamma.value),
});
function showOutputs() {
  ui.hOut.textContent = String(hValue());
  ui.gammaOut.textContent = Number(ui.gamma.value).toFixed(2);
  ui.kOut.textContent = ui.k.value;
  ui.sizeOut.textContent = `${ui.size.value}px`;
}
showOutputs();

function showError(msg) {
  ui.error.style.display = 'block';
  ui.error.textContent = msg;
  playing = false;
  ui.play.textContent = 'play';
}

// ---- Particle renderer: instanced quads (two triangles per particle), round soft sprites.
const RENDER_WGSL = /* wgsl */ `
struct View {
  center: vec2f,  // world point at the middle of the canvas
  scale: vec2f,   // clip units per world unit
  radius: vec2f,  // sprite radius in clip units
  half: u32,      // particles [0, half) use colour A, the rest colour B
  alpha: f32,
}
@group(0) @binding(0) var<uniform> view: View;

struct VOut {
  @builtin(position) pos: vec4f,
  @location(0) uv: vec2f,
  @location(1) color: vec3f,
}

@vertex
fn vs(@builtin(vertex_index) vi: u32, @builtin(instance_index) ii: u32,
      @location(0) x: vec2f, @location(1) v: vec2f) -> VOut {
  var corners = array<vec2f, 6>(vec2f(-1, -1), vec2f(1, -1), vec2f(-1, 1), vec2f(-1, 1), vec2f(1, -1), vec2f(1, 1));
  let c = corners[vi];
  var out: VOut;
  out.pos = vec4f((x - view.center) * view.scale + c * view.radius, 0.0, 1.0);
  out.uv = c;
  let base = select(vec3f(0.345, 0.651, 1.0), vec3f(0.941, 0.533, 0.243), ii < view.half);
  // Faster particles glow whiter (velocities are zero in the plain gradient flow).
  out.color = mix(base, vec3f(1.0), clamp(length(v) * 0.6, 0.0, 0.65));
  return out;
}

// Point-list variant: one vertex (one pixel) per particle, no instancing. Much cheaper on
// CPU rasterisers such as SwiftShader, where each instance of an instanced draw costs a setup.
@vertex
fn vs_point(@builtin(vertex_index) vi: u32, @location(0) x: vec2f, @location(1) v: vec2f) -> VOut {
  var out: VOut;
  out.pos = vec4f((x - view.center) * view.scale, 0.0, 1.0);
  out.uv = vec2f(0.0);
  let base = select(vec3f(0.345, 0.651, 1.0), vec3f(0.941, 0.533, 0.243), vi < view.half);
  out.color = mix(base, vec3f(1.0), clamp(length(v) * 0.6, 0.0, 0.65));
  return out;
}

@fragment
fn fs(in: VOut) -> @location(0) vec4f {
  let r = length(in.uv);
  if (r > 1.0) { discard; }
  let a = view.alpha * (1.0 - smoothstep(0.55, 1.0, r));
  return vec4f(in.color * a, a);  // premultiplied
}

@fragment
fn fs_point(in: VOut) -> @location(0) vec4f {
  return vec4f(in.color * view.alpha, view.alpha);
}
`;

function createRenderer(device, canvas, format) {
  const module = device.createShaderModule({ label: 'demo.render', code: RENDER_WGSL });
  const viewLayout = device.createBindGroupLayout({
    label: 'demo.view.layout',
    entries: [{ binding: 0, visibility: GPUShaderStage.VERTEX | GPUShaderStage.FRAGMENT, buffer: { type: 'uniform' } }],
  });
  const layout = device.createPipelineLayout({ label: 'demo.render.layout', bindGroupLayouts: [viewLayout] });
  const pipelineFor = (points) => {
    const stepMode = points ? 'vertex' : 'instance';
    return device.createRenderPipeline({
      label: points ? 'demo.render.points' : 'demo.render.quads',
      layout,
      vertex: {
        module, entryPoint: points ? 'vs_point' : 'vs',
        buffers: [
          { arrayStride: 8, stepMode, attributes: [{ shaderLocation: 0, offset: 0, format: 'float32x2' }] },
          { arrayStride: 8, stepMode, attributes: [{ shaderLocation: 1, offset: 0, format: 'float32x2' }] },
        ],
      },
      fragment: {
        module, entryPoint: points ? 'fs_point' : 'fs',
        targets: [{ format, blend: {
          color: { srcFactor: 'one', dstFactor: 'one-minus-src-alpha', operation: 'add' },
          alpha: { srcFactor: 'one', dstFactor: 'one-minus-src-alpha', operation: 'add' },
        } }],
      },
      primitive: { topology: points ? 'point-list' : 'triangle-list' },
    });
  };
  const quads = pipelineFor(false), points = pipelineFor(true);
  const uniform = device.createBuffer({ label: 'demo.view', size: 32, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  const bind = device.createBindGroup({ label: 'demo.view', layout: viewLayout, entries: [{ binding: 0, resource: { buffer: uniform } }] });
  const data = new ArrayBuffer(32);
  const f32 = new Float32Array(data), u32 = new Uint32Array(data);
  return {
    /** Records the draw of `flow`'s particles into `enc`, clearing the canvas first. */
    encode(enc, flow, { half, sizePx, alpha }) {
      const w = canvas.width, h = canvas.height, m = Math.min(w, h);
      f32[0] = 0; f32[1] = 0;
      f32[2] = m / w / VIEW_RADIUS; f32[3] = m / h / VIEW_RADIUS;
      const dpr = window.devicePixelRatio || 1;
      f32[4] = (sizePx * dpr) / w; f32[5] = (sizePx * dpr) / h;
      u32[6] = half; f32[7] = alpha;
      device.queue.writeBuffer(uniform, 0, data);
      const pass = enc.beginRenderPass({
        label: 'demo.render',
        colorAttachments: [{ view: ctx.getCurrentTexture().createView(), loadOp: 'clear', storeOp: 'store', clearValue: { r: 0.02, g: 0.027, b: 0.04, a: 1 } }],
      });
      if (flow) {
        // Point size 1: one pixel per particle (point-list); larger: instanced round sprites.
        const asPoints = sizePx <= 1;
        pass.setPipeline(asPoints ? points : quads);
        pass.setBindGroup(0, bind);
        pass.setVertexBuffer(0, flow.buffers.positions, 0, flow.n * 8);
        pass.setVertexBuffer(1, flow.buffers.velocities, 0, flow.n * 8);
        if (asPoints) pass.draw(flow.n);
        else pass.draw(6, flow.n);
      }
      pass.end();
    },
    destroy() { uniform.destroy(); },
  };
}

// ---- Axes overlay (2D canvas over the WebGPU canvas).
function drawOverlay() {
  const c = ui.overlay, dpr = window.devicePixelRatio || 1;
  const w = c.width, h = c.height, m = Math.min(w, h);
  const g = c.getContext('2d');
  g.clearRect(0, 0, w, h);
  const px = (x) => w / 2 + (x * m) / (2 * VIEW_RADIUS);
  const py = (y) => h / 2 - (y * m) / (2 * VIEW_RADIUS);
  g.lineWidth = dpr;
  for (let t = -3; t <= 3; t++) {
    const v = t * 0.5;
    if (Math.abs(v) > VIEW_RADIUS) continue;
    g.strokeStyle = t === 0 ? 'rgba(139,148,158,0.45)' : 'rgba(139,148,158,0.13)';
    g.beginPath(); g.moveTo(px(v), 0); g.lineTo(px(v), h); g.stroke();
    g.beginPath(); g.moveTo(0, py(v)); g.lineTo(w, py(v)); g.stroke();
    if (t !== 0 && t % 2 === 0) {
      g.fillStyle = 'rgba(139,148,158,0.8)';
      g.font = `${11 * dpr}px system-ui, sans-serif`;
      g.fillText(String(v), px(v) + 3 * dpr, py(0) - 4 * dpr);
      g.fillText(String(v), px(0) + 4 * dpr, py(v) - 3 * dpr);
    }
  }
  g.strokeStyle = 'rgba(255,255,255,0.7)';
  g.beginPath(); g.arc(px(0), py(0), 5 * dpr, 0, 2 * Math.PI); g.stroke();
  g.fillStyle = 'rgba(230,237,243,0.75)';
  g.font = `${12 * dpr}px system-ui, sans-serif`;
  g.fillText('minimiser of U', px(0) + 8 * dpr, py(0) + 16 * dpr);
}

// ---- Energy plot: one curve per run, log scale when every value is positive.
const curves = [];
function niceLinearTicks(lo, hi, count) {
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
  const pts = curves.flatMap((cv) => cv.points);
  const rowsOfLegend = Math.ceil(curves.length / 2);
  const L = 52 * dpr, R = 10 * dpr, T = (30 + 14 * rowsOfLegend) * dpr, B = 30 * dpr;
  g.font = `${11 * dpr}px system-ui, sans-serif`;
  g.fillStyle = '#e6edf3';
  g.fillText('energy F(ρ) = (1/N) Σᵢ U(xᵢ)', 8 * dpr, 14 * dpr);
  if (!pts.length) return;
  const finite = pts.filter((p) => Number.isFinite(p[1]));
  const log = finite.length > 0 && finite.every((p) => p[1] > 0);
  const fy = (e) => (log ? Math.log10(Math.max(e, 1e-12)) : e);
  let ylo = Infinity, yhi = -Infinity, xhi = 1;
  for (const [s, e] of finite) { ylo = Math.min(ylo, fy(e)); yhi = Math.max(yhi, fy(e)); xhi = Math.max(xhi, s); }
  if (!Number.isFinite(ylo)) { ylo = 0; yhi = 1; }
  if (log) { ylo = Math.floor(ylo); yhi = Math.ceil(yhi); if (ylo === yhi) yhi += 1; }
  else if (ylo === yhi) { ylo -= 1; yhi += 1; }
  const X = (s) => L + ((W - L - R) * s) / xhi;
  const Y = (e) => T + ((H - T - B) * (yhi - fy(e))) / (yhi - ylo);
  // Axes and ticks.
  g.strokeStyle = '#30363d'; g.fillStyle = '#8b949e'; g.lineWidth = dpr;
  const yt = log ? Array.from({ length: yhi - ylo + 1 }, (_, k) => ylo + k).filter((_, k, a) => a.length <= 7 || k % Math.ceil(a.length / 7) === 0) : niceLinearTicks(ylo, yhi, 5);
  for (const t of yt) {
    const y = log ? Y(10 ** t) : Y(t);
    g.beginPath(); g.moveTo(L, y); g.lineTo(W - R, y); g.stroke();
    g.fillText(log ? `1e${t}` : String(t), 6 * dpr, y + 4 * dpr);
  }
  for (const t of niceLinearTicks(0, xhi, 5)) {
    g.beginPath(); g.moveTo(X(t), T); g.lineTo(X(t), H - B); g.stroke();
    g.fillText(String(t), X(t) - 8 * dpr, H - B + 14 * dpr);
  }
  g.fillText('step', W - R - 26 * dpr, H - 4 * dpr);
  // Curves: old runs first, faded; the current one on top.
  curves.forEach((cv, i) => {
    const current = i === curves.length - 1;
    g.strokeStyle = cv.color; g.globalAlpha = current ? 1 : 0.55; g.lineWidth = (current ? 2 : 1.25) * dpr;
    g.beginPath();
    let pen = false;
    for (const [s, e] of cv.points) {
      if (!Number.isFinite(e)) { pen = false; continue; }
      pen ? g.lineTo(X(s), Y(e)) : g.moveTo(X(s), Y(e));
      pen = true;
    }
    g.stroke();
  });
  g.globalAlpha = 1;
  // Legend under the title, two columns, oldest first (the current run is the last entry).
  const colW = (W - 8 * dpr - R) / 2;
  curves.forEach((cv, i) => {
    const x = 8 * dpr + (i % 2) * colW, y = (32 + 14 * Math.floor(i / 2)) * dpr;
    g.fillStyle = cv.color;
    g.fillRect(x, y - 5 * dpr, 12 * dpr, 3 * dpr);
    g.fillStyle = i === curves.length - 1 ? '#e6edf3' : '#8b949e';
    g.fillText(cv.label, x + 16 * dpr, y);
  });
}

// ---- State and the frame loop.
let device, ctx, renderer, adapterSummary = '';
let flow = null;
let curve = null;
let playing = q.get('paused') !== '1';
let stepOnce = 0;
let frames = 0, inFlight = 0;
let statsBusy = null, statsWanted = false, statsCount = 0, lastStats = null;
let generation = 0, runs = 0;
const fpsClock = { t: performance.now(), frames: 0, steps: 0, fps: 0, sps: 0 };
let stepsDone = 0, framesSinceStats = 0, lastStatsAt = 0;

function resize() {
  const dpr = window.devicePixelRatio || 1;
  for (const c of [ui.gpu, ui.overlay]) {
    const w = Math.max(1, Math.round(c.clientWidth * dpr)), h = Math.max(1, Math.round(c.clientHeight * dpr));
    if (c.width !== w || c.height !== h) {
      c.width = w; c.height = h;
      if (c === ui.overlay) drawOverlay();
    }
  }
}

async function restart() {
  const gen = ++generation;
  const old = flow;
  flow = null;
  if (statsBusy) await statsBusy.catch(() => undefined);
  old?.destroy();
  if (gen !== generation) return;
  const s = settings();
  const positions = s.init === 'two-quadrants' ? { kind: 'two-quadrants', n: s.n, seed: 1 }
    : s.init === 'uniform' ? { kind: 'uniform', n: s.n, low: -1.4, high: 1.4, seed: 1 }
    : { kind: 'gaussian', n: s.n, std: 0.7, seed: 1 };
  let f;
  try {
    f = await createFlow(device, { dim: 2, positions, energy: [quadratic()], method: s.method, h: s.h, gamma: s.gamma, label: 'demo.flow' });
  } catch (e) {
    showError(String(e?.message ?? e));
    return;
  }
  if (gen !== generation) { f.destroy(); return; }
  ui.error.style.display = 'none';
  flow = f;
  flow.half = s.init === 'two-quadrants' ? Math.ceil(s.n / 2) : s.n;
  stepsDone = 0;
  lastStats = null;
  const label = `${s.method}  h=${s.h}${s.method === 'gradient' ? '' : `  γ=${s.gamma}`}`;
  curve = { label, color: CURVE_COLORS[runs++ % CURVE_COLORS.length], points: [] };
  curves.push(curve);
  while (curves.length > MAX_CURVES) curves.shift();
  pollStats();
}

/** Reads flow.stats() once; a request made while one is in flight runs when it completes. */
function pollStats() {
  if (!flow) return;
  if (statsBusy) { statsWanted = true; return; }
  statsWanted = false;
  const f = flow, cv = curve;
  statsBusy = f.stats().then((st) => {
    statsCount++;
    lastStats = st;
    if (cv.points.at(-1)?.[0] !== st.step) cv.points.push([st.step, st.energy]);
    drawPlot();
    showStatus();
    if (!Number.isFinite(st.energy) && f === flow) showError(`The flow diverged at step ≤ ${st.step} (energy ${st.energy}): h = ${f === flow ? settings().h : '?'} is too large for this method. Lower h and press reset.`);
  }).catch((e) => {
    if (f === flow) showError(String(e?.message ?? e));
  }).finally(() => {
    statsBusy = null;
    if (statsWanted && f === flow) pollStats();
  });
}

function frame() {
  requestAnimationFrame(frame);
  if (!device) return;
  resize();
  if (inFlight >= MAX_IN_FLIGHT) return;
  const enc = device.createCommandEncoder({ label: 'demo.frame' });
  let k = 0;
  const single = !playing && stepOnce > 0;
  if (flow && (playing || stepOnce > 0)) {
    k = Number(ui.k.value);
    const pass = enc.beginComputePass({ label: 'demo.steps' });
    flow.encodeSteps(pass, k);
    pass.end();
    stepOnce = Math.max(0, stepOnce - 1);
    stepsDone += k;
  }
  renderer.encode(enc, flow, { half: flow?.half ?? 0, sizePx: Number(ui.size.value), alpha: 0.85 });
  device.queue.submit([enc.finish()]);
  inFlight++;
  device.queue.onSubmittedWorkDone().then(() => { inFlight--; });
  frames++;
  fpsClock.frames++; fpsClock.steps += k;
  const now = performance.now();
  if (now - fpsClock.t > 1000) {
    fpsClock.fps = (1000 * fpsClock.frames) / (now - fpsClock.t);
    fpsClock.sps = (1000 * fpsClock.steps) / (now - fpsClock.t);
    fpsClock.t = now; fpsClock.frames = 0; fpsClock.steps = 0;
  }
  // Stats every STATS_EVERY frames, or every STATS_MS on slow adapters, never every step.
  if (k > 0) framesSinceStats++;
  if (single || framesSinceStats >= STATS_EVERY || (framesSinceStats >= 2 && now - lastStatsAt >= STATS_MS)) {
    framesSinceStats = 0;
    lastStatsAt = now;
    pollStats();
  }
  if (frames % 10 === 0) showStatus();
}

function showStatus() {
  const st = lastStats;
  const f = (v, d = 4) => (Number.isFinite(v) ? (Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(d - 1) : v.toPrecision(d)) : String(v));
  ui.status.textContent = [
    `adapter   ${adapterSummary}`,
    `N         ${flow ? flow.n.toLocaleString('en') : '-'}   method ${flow?.method ?? '-'}`,
    `step      ${st?.step ?? 0}   ${playing ? 'running' : 'paused'}`,
    `energy    ${st ? f(st.energy) : '-'}   kinetic ${st ? f(st.kinetic) : '-'}`,
    `steering  s = ${st ? f(st.s, 3) : '-'}   mean (${st ? st.mean.map((m) => f(m, 2)).join(', ') : '-'})`,
    `speed     ${fpsClock.fps.toFixed(1)} fps, ${Math.round(fpsClock.sps).toLocaleString('en')} steps/s`,
  ].join('\n');
}

// ---- Controls.
for (const el of [ui.h, ui.gamma, ui.k, ui.size]) el.addEventListener('input', showOutputs);
for (const el of [ui.method, ui.h, ui.gamma, ui.n, ui.init]) el.addEventListener('change', () => { void restart(); });
ui.play.addEventListener('click', () => {
  playing = !playing;
  ui.play.textContent = playing ? 'pause' : 'play';
});
ui.stepOnce.addEventListener('click', () => { playing = false; ui.play.textContent = 'play'; stepOnce++; });
ui.reset.addEventListener('click', () => { void restart(); });
ui.play.textContent = playing ? 'pause' : 'play';

/** State for scripts (the screenshot driver): steps done, stats read, speed. */
window.wgflowDemo = {
  get ready() { return !!flow; },
  get steps() { return lastStats?.step ?? 0; },
  get energy() { return lastStats?.energy ?? null; },
  get statsCount() { return statsCount; },
  get fps() { return fpsClock.fps; },
  get stepsPerSecond() { return fpsClock.sps; },
  get adapter() { return adapterSummary; },
  get error() { return ui.error.style.display === 'block' ? ui.error.textContent : null; },
};

// ---- Start.
try {
  const r = await getDevice();
  device = r.device;
  adapterSummary = r.summary;
  if (r.fallback && !q.has('n')) {
    // A CPU adapter (SwiftShader) runs ~10^4 particle-steps per frame at best: start small.
    ui.n.value = '1000';
    ui.hint.textContent = `CPU fallback adapter: N starts at 1 000. ${ui.hint.textContent}`;
  }
  device.addEventListener('uncapturederror', (ev) => showError(`WebGPU error: ${ev.error.message}`));
  void device.lost.then((info) => showError(`GPU device lost (${info.reason}): ${info.message}`));
  ctx = ui.gpu.getContext('webgpu');
  const format = navigator.gpu.getPreferredCanvasFormat();
  ctx.configure({ device, format, alphaMode: 'opaque' });
  renderer = createRenderer(device, ui.gpu, format);
  resize();
  drawOverlay();
  drawPlot();
  await restart();
  showStatus();
  requestAnimationFrame(frame);
} catch (e) {
  showError(`${e?.message ?? e}\n\nThis demo needs WebGPU: a recent Chrome/Edge (or Chromium with --enable-unsafe-webgpu), served from http://127.0.0.1 or https.`);
  ui.status.textContent = 'no WebGPU device';
}
