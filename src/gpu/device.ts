/**
 * Adapter and device acquisition, in Node (Dawn through the `webgpu` npm package) and in
 * browsers (navigator.gpu).
 *
 * Node order ('auto'): a real GPU through the Vulkan loader; else llvmpipe (Mesa's CPU
 * rasteriser through Dawn's OpenGL ES backend, WebGPU compatibility level); else SwiftShader
 * (the CPU Vulkan driver Debian's `chromium` package ships). WGFLOW_ADAPTER or
 * `getDevice({ adapter })` force one. Acquisition is quiet: the Vulkan probe only loads GPU
 * drivers (never lavapipe, which Dawn rejects with a warning) and only when a GPU device node
 * exists, and XDG_RUNTIME_DIR gets a private directory while drivers load when it is unset
 * (libwayland otherwise prints "XDG_RUNTIME_DIR is invalid or not set"). Every environment
 * variable wgflow sets for a driver is restored once the device exists.
 * See docs/backends.md.
 */

/** Where Debian's `chromium` package puts the SwiftShader Vulkan driver manifest. */
export const SWIFTSHADER_ICD_PATHS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/usr/lib64/chromium-browser/vk_swiftshader_icd.json',
];

/** The names WGFLOW_ADAPTER and `getDevice({ adapter })` accept. */
export const ADAPTER_NAMES = ['gpu', 'llvmpipe', 'swiftshader', 'auto'] as const;

/** An adapter request: one of {@link ADAPTER_NAMES}. */
export type AdapterName = (typeof ADAPTER_NAMES)[number];

/** Which adapter {@link getDevice} took. */
export type AdapterChoice = 'gpu' | 'llvmpipe' | 'swiftshader' | 'browser';

/** What to install for each Node adapter (Debian/Ubuntu package names). */
export const ADAPTER_INSTALL = {
  gpu: "the GPU's Vulkan driver and the Vulkan loader (NVIDIA: the proprietary driver; AMD/Intel: `sudo apt-get install -y mesa-vulkan-drivers libvulkan1`)",
  llvmpipe: 'EGL and Mesa\'s software driver: `sudo apt-get install -y libegl1 libgl1-mesa-dri`',
  swiftshader: 'the Vulkan loader and Chromium, which ships SwiftShader: `sudo apt-get install -y chromium libvulkan1`',
} as const;

/** What install fixes a missing adapter, quoted in the errors. */
export const INSTALL_HINT =
  'No WebGPU adapter found. wgflow needs a GPU with a Vulkan driver, or a CPU adapter: llvmpipe ' +
  '(Mesa, through EGL) or SwiftShader (shipped by Chromium). On Debian/Ubuntu run:\n' +
  '    sudo apt-get install -y libegl1 libgl1-mesa-dri      # llvmpipe (the faster CPU adapter)\n' +
  '    sudo apt-get install -y chromium libvulkan1           # SwiftShader\n' +
  '(and `npm install` for the `webgpu` package). In a browser, use a WebGPU-enabled Chromium ' +
  'on a secure origin (https or http://127.0.0.1); headless Chromium needs --enable-unsafe-webgpu.';

/** A plain-object copy of GPUAdapterInfo (its fields are getters that do not serialise). */
export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** 'dawn-node' or 'browser'. */
  runtime: 'dawn-node' | 'browser';
  /** The Vulkan ICD manifest forced through VK_ICD_FILENAMES, if wgflow set one (SwiftShader). */
  icd?: string;
  /** Dawn backend when it is not the platform default ('opengles' for llvmpipe). */
  backend?: string;
}

/**
 * Mesa's llvmpipe (and lavapipe) stop every shader invocation's loops, silently, after this
 * many iterations in all (gallivm's LP_MAX_TGSI_LOOP_ITERATIONS, one counter shared by every
 * loop of the invocation). Kernels whose per-thread loops grow with N must stay below it there.
 */
export const LLVMPIPE_LOOP_LIMIT = 65535;

/** What wgflow knows of a device it created (see {@link deviceProfile}). */
export interface DeviceProfile {
  /** True on CPU adapters, where kernels prefer few large workgroups (barriers are expensive there). */
  fallback: boolean;
  /** Loop iterations one invocation may run in all before the driver cuts it short (Infinity: no cap). */
  maxLoopIterations: number;
}

const profiles = new WeakMap<GPUDevice, DeviceProfile>();

/** What wgflow knows of a device it created. Unknown devices count as GPUs without a loop cap. */
export function deviceProfile(device: GPUDevice): DeviceProfile {
  return profiles.get(device) ?? { fallback: false, maxLoopIterations: Infinity };
}

// ---- largest N --------------------------------------------------------------------------

/** Particle dimensions. */
export type Dim = 1 | 2 | 3;

/** One per-particle GPU buffer of a kernel and the largest N it allows on a device. */
export interface ParticleBufferLimit {
  /** 'flow', 'grid', 'k-NN' or 'reverse lists'. */
  kernel: string;
  /** Which buffer, with its size formula. */
  buffer: string;
  /** Bytes of the buffer per particle at N = maxParticles (the bucket table grows in powers of two). */
  bytesPerParticle: Record<Dim, number>;
  /** Largest N whose buffer still fits one binding. */
  maxParticles: Record<Dim, number>;
}

/** The largest particle counts a device allows, reported by {@link getDevice} as `limits`. */
export interface DeviceLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  /** No buffer a kernel binds may be larger: min(maxStorageBufferBindingSize, maxBufferSize). */
  maxBindingBytes: number;
  /**
   * Largest N per dimension for which every kernel's buffers fit: the flow with up to
   * {@link LIMIT_ENERGY_SLOTS} energy terms, and the grid, k-NN (k = 1) and reverse lists of
   * entropy() and klToSamples() (whose sample grid has the same limit on M).
   */
  maxParticles: Record<Dim, number>;
  /** Bytes per particle of the buffer that sets maxParticles. */
  bytesPerParticle: Record<Dim, number>;
  /** That buffer. */
  limitedBy: Record<Dim, string>;
  /** Every per-particle buffer and the N it allows. */
  buffers: ParticleBufferLimit[];
}

/** Energy slots (terms plus monitors) assumed by {@link DeviceLimits.maxParticles}. */
export const LIMIT_ENERGY_SLOTS = 4;

/** Grid levels per dimension (GRID_TUNING of src/kernels/grid.ts; test/device.test.ts checks the match). */
const GRID_LEVELS: Record<Dim, number> = { 1: 4, 2: 4, 3: 5 };

/** Level-0 buckets of a grid over n points (bucketCount of src/kernels/grid.ts). */
function gridBuckets(n: number): number {
  let t = 64;
  while (t < n) t *= 2;
  return t;
}

/** Buckets of all levels (tableSize of src/kernels/grid.ts). */
function gridTable(t: number, levels: number): number {
  let total = 0;
  for (let l = 0; l < levels; l++) total += Math.max(64, Math.floor(t / 2 ** l));
  return total;
}

/**
 * The largest single buffer of each kernel for N particles in dimension `dim`, in bytes, as the
 * kernels size them (a buffer larger than a binding allows cannot be bound). Mirrors
 * src/flow.ts, src/kernels/grid.ts (gridLargestBuffer) and src/kernels/neighbors.ts.
 */
export const PARTICLE_BUFFERS: readonly { kernel: string; buffer: string; bytes(n: number, dim: Dim): number }[] = [
  { kernel: 'flow', buffer: 'positions, velocities, gradient (N·dim·4 bytes each)', bytes: (n, d) => n * d * 4 },
  { kernel: 'grid', buffer: 'sorted index (levels·N·4 bytes; 4 levels in 1D/2D, 5 in 3D)', bytes: (n, d) => GRID_LEVELS[d] * n * 4 },
  { kernel: 'grid', buffer: 'sorted points (N·16 bytes)', bytes: (n) => n * 16 },
  { kernel: 'grid', buffer: 'bucket table (4 bytes × ~1.9·2^⌈log2 N⌉ buckets)', bytes: (n, d) => gridTable(gridBuckets(n), GRID_LEVELS[d]) * 4 },
  { kernel: 'k-NN', buffer: 'neighbour indices and distances (N·k·4 bytes each, k = 1)', bytes: (n) => n * 4 },
  { kernel: 'k-NN', buffer: 'search statistics ((16 + N)·4 bytes)', bytes: (n) => (16 + n) * 4 },
  { kernel: 'reverse lists', buffer: 'ends and list (N·4 bytes each)', bytes: (n) => n * 4 },
  { kernel: 'flow', buffer: `energy densities (T·N·4 bytes, T = ${LIMIT_ENERGY_SLOTS} terms and monitors)`, bytes: (n) => LIMIT_ENERGY_SLOTS * n * 4 },
];

/** Largest n ≥ 0 with bytes(n) ≤ cap, for bytes non-decreasing in n (≥ 4 bytes per particle). */
function largestN(bytes: (n: number) => number, cap: number): number {
  let lo = 0;
  let hi = Math.floor(cap / 4) + 1; // bytes(hi) > cap
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (bytes(mid) <= cap) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** The largest N per dimension that limits `{ maxStorageBufferBindingSize, maxBufferSize }` allow. */
export function particleLimits(limits: { maxStorageBufferBindingSize: number; maxBufferSize: number }): DeviceLimits {
  const cap = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const dims: Dim[] = [1, 2, 3];
  const buffers: ParticleBufferLimit[] = PARTICLE_BUFFERS.map((b) => {
    const maxParticles = {} as Record<Dim, number>;
    const bytesPerParticle = {} as Record<Dim, number>;
    for (const d of dims) {
      maxParticles[d] = largestN((n) => b.bytes(n, d), cap);
      bytesPerParticle[d] = maxParticles[d] > 0 ? b.bytes(maxParticles[d], d) / maxParticles[d] : 0;
    }
    return { kernel: b.kernel, buffer: b.buffer, bytesPerParticle, maxParticles };
  });
  const maxParticles = {} as Record<Dim, number>;
  const bytesPerParticle = {} as Record<Dim, number>;
  const limitedBy = {} as Record<Dim, string>;
  for (const d of dims) {
    const worst = buffers.reduce((a, b) => (b.maxParticles[d] < a.maxParticles[d] ? b : a));
    maxParticles[d] = worst.maxParticles[d];
    bytesPerParticle[d] = worst.bytesPerParticle[d];
    limitedBy[d] = `${worst.kernel}: ${worst.buffer}`;
  }
  return {
    maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
    maxBufferSize: limits.maxBufferSize,
    maxBindingBytes: cap,
    maxParticles, bytesPerParticle, limitedBy, buffers,
  };
}

// ---- acquisition ------------------------------------------------------------------------

/** The result of {@link getDevice}. */
export interface DeviceResult {
  device: GPUDevice;
  adapter: GPUAdapter;
  adapterInfo: AdapterInfo;
  /** Which adapter was taken: a real GPU, llvmpipe, SwiftShader, or the browser's. */
  choice: AdapterChoice;
  /** Why that one (also the end of `summary`). */
  reason: string;
  /** True when the adapter is a CPU fallback (llvmpipe, SwiftShader or another software rasteriser). */
  fallback: boolean;
  /** A one-line human description: which adapter, and why. */
  summary: string;
  /** The largest N per dimension this device allows, and the buffers that set it. */
  limits: DeviceLimits;
}

/** Options of {@link getDevice}. */
export interface GetDeviceOptions {
  /** Default 'high-performance'. */
  powerPreference?: GPUPowerPreference;
  /** Features to request if the adapter offers them. Default ['timestamp-query', 'subgroups']. */
  optionalFeatures?: GPUFeatureName[];
  /** Skip the GPU: take the CPU fallback (llvmpipe, else SwiftShader) even if a GPU exists (Node only). Default false. */
  forceFallback?: boolean;
  /**
   * Force one adapter (Node only): 'gpu' (a real GPU through the Vulkan loader), 'llvmpipe'
   * (Dawn's OpenGL ES backend on Mesa's llvmpipe, compatibility level), 'swiftshader'
   * (Chromium's SwiftShader Vulkan driver) or 'auto' (that order). Default: the
   * WGFLOW_ADAPTER environment variable, else 'auto'. An unknown name throws.
   */
  adapter?: AdapterName;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof (globalThis as { window?: unknown }).window === 'undefined';

function infoOf(adapter: GPUAdapter, runtime: AdapterInfo['runtime'], icd?: string): AdapterInfo {
  const i = (adapter as unknown as { info?: GPUAdapterInfo }).info;
  return {
    vendor: i?.vendor ?? '',
    architecture: i?.architecture ?? '',
    device: i?.device ?? '',
    description: i?.description ?? '',
    runtime,
    ...(icd ? { icd } : {}),
  };
}

/** True for adapters that run on the CPU (SwiftShader, llvmpipe/lavapipe, WARP). */
export function isSoftwareAdapter(info: AdapterInfo, adapter?: GPUAdapter): boolean {
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  const flagged = (adapter as unknown as { info?: { isFallbackAdapter?: boolean } } | undefined)?.info?.isFallbackAdapter === true;
  return flagged || /swiftshader|llvmpipe|lavapipe|software|warp|microsoft basic/.test(text) || !!info.icd;
}

function adapterText(adapter: GPUAdapter): string {
  const i = infoOf(adapter, 'dawn-node');
  return `${i.vendor} ${i.architecture} ${i.device} ${i.description}`;
}

// Dawn instances must outlive their devices: if the JS object returned by create() is
// garbage-collected, Dawn's event processing aborts the process ("futex facility returned an
// unexpected error code"). Keep every instance alive for the life of the process.
const liveInstances: GPU[] = [];

type DawnModule = { create: (o: string[]) => GPU; globals: Record<string, unknown> };

async function loadDawn(): Promise<DawnModule> {
  let mod: DawnModule;
  try {
    mod = (await import('webgpu')) as unknown as DawnModule;
  } catch (e) {
    throw new Error(`wgflow: getDevice: the 'webgpu' package (Dawn for Node) could not be loaded (${(e as Error).message}). Run \`npm install\`.\n${INSTALL_HINT}`);
  }
  // Install the WebGPU globals (GPUBufferUsage, GPUMapMode, ...) once.
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  return mod;
}

/** The adapter request: options.adapter, else WGFLOW_ADAPTER, else 'auto'. Unknown names throw. */
function requestedAdapter(opts: GetDeviceOptions): { name: AdapterName; from: string } {
  const fromOption = opts.adapter !== undefined;
  const raw = fromOption ? opts.adapter : process.env.WGFLOW_ADAPTER;
  const from = fromOption ? 'options.adapter' : 'WGFLOW_ADAPTER';
  if (raw === undefined || raw === '') return { name: 'auto', from: 'default' };
  const name = String(raw).trim().toLowerCase();
  if (!(ADAPTER_NAMES as readonly string[]).includes(name)) {
    throw new Error(`wgflow: getDevice: unknown adapter '${raw}' (${from}); valid names: ${ADAPTER_NAMES.map((n) => `'${n}'`).join(', ')}`);
  }
  return { name: name as AdapterName, from };
}

/** Environment changes for native drivers, undone by restore(). */
class EnvScope {
  private saved = new Map<string, string | undefined>();
  set(key: string, value: string): void {
    if (!this.saved.has(key)) this.saved.set(key, process.env[key]);
    process.env[key] = value;
  }
  restore(): void {
    for (const [k, v] of this.saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    this.saved.clear();
  }
}

type NodeFs = typeof import('node:fs');
type NodePath = typeof import('node:path');

let privateRuntimeDir: string | undefined;

/**
 * libwayland (loaded by Vulkan drivers) prints "error: XDG_RUNTIME_DIR is invalid or not set"
 * when the variable is unset or relative; a private empty directory silences it (no Wayland
 * socket there, so nothing connects). Removed at exit.
 */
async function quietRuntimeDir(env: EnvScope): Promise<void> {
  const cur = process.env.XDG_RUNTIME_DIR;
  if (cur && cur.startsWith('/')) return;
  if (!privateRuntimeDir) {
    const fs: NodeFs = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = fs.mkdtempSync(join(tmpdir(), 'wgflow-runtime-')); // mode 0700
    privateRuntimeDir = dir;
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  env.set('XDG_RUNTIME_DIR', privateRuntimeDir);
}

/** The Vulkan loader's driver-manifest directories, in its search order. */
function vulkanIcdDirs(path: NodePath): string[] {
  const home = process.env.HOME ?? '';
  const configHome = process.env.XDG_CONFIG_HOME || (home && path.join(home, '.config'));
  const dataHome = process.env.XDG_DATA_HOME || (home && path.join(home, '.local/share'));
  const configDirs = (process.env.XDG_CONFIG_DIRS || '/etc/xdg').split(':');
  const dataDirs = (process.env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':');
  const roots = [configHome, ...configDirs, '/etc', dataHome, ...dataDirs].filter((d): d is string => !!d);
  return [...new Set(roots.map((r) => path.join(r, 'vulkan', 'icd.d')))];
}

/** A Vulkan driver manifest; software ones (lavapipe, SwiftShader) are never probed as GPUs. */
interface IcdManifest {
  path: string;
  software: boolean;
}

function vulkanManifests(fs: NodeFs, path: NodePath): IcdManifest[] {
  const out: IcdManifest[] = [];
  for (const dir of vulkanIcdDirs(path)) {
    let names: string[];
    try {
      names = fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
    } catch {
      continue;
    }
    for (const n of names) {
      const p = path.join(dir, n);
      let lib = '';
      try {
        lib = String((JSON.parse(fs.readFileSync(p, 'utf8')) as { ICD?: { library_path?: string } }).ICD?.library_path ?? '');
      } catch {
        // An unreadable manifest is judged by its name.
      }
      out.push({ path: p, software: /lvp|lavapipe|swiftshader/i.test(`${n} ${lib}`) });
    }
  }
  return out;
}

/** GPU device nodes a Vulkan GPU driver opens (DRM render nodes, NVIDIA, WSL's dxg). */
function gpuDeviceNodes(fs: NodeFs): string[] {
  const nodes: string[] = [];
  try {
    for (const n of fs.readdirSync('/dev/dri')) if (/^renderD\d+$/.test(n)) nodes.push(`/dev/dri/${n}`);
  } catch {
    // no DRM
  }
  try {
    for (const n of fs.readdirSync('/dev')) if (/^nvidia\d+$/.test(n) || n === 'dxg') nodes.push(`/dev/${n}`);
  } catch {
    // no /dev
  }
  return nodes;
}

/** Library directories the dynamic linker searches (LD_LIBRARY_PATH first). */
function libraryDirs(): string[] {
  const extra = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  const arch = process.arch === 'arm64' ? 'aarch64-linux-gnu' : process.arch === 'x64' ? 'x86_64-linux-gnu' : '';
  const std = [`/usr/lib/${arch}`, `/lib/${arch}`, '/usr/lib64', '/lib64', '/usr/lib', '/lib'].filter((d) => !d.endsWith('/'));
  return [...extra, ...std];
}

type Found = { adapter: GPUAdapter; choice: Exclude<AdapterChoice, 'browser'>; reason: string; icd?: string; backend?: string };
type Probe = { found?: Found; why: string };

async function requestVulkan(mod: DawnModule, power: GPUPowerPreference): Promise<GPUAdapter | null> {
  const gpu = mod.create(process.platform === 'linux' ? ['backend=vulkan'] : []);
  liveInstances.push(gpu);
  return gpu.requestAdapter({ powerPreference: power }).catch(() => null);
}

/** A real GPU: the platform adapter off Linux; on Linux, Vulkan restricted to GPU drivers. */
async function probeGpu(mod: DawnModule, power: GPUPowerPreference, env: EnvScope, forced: boolean): Promise<Probe> {
  if (process.platform !== 'linux') {
    const a = await requestVulkan(mod, power);
    if (a && !isSoftwareAdapter(infoOf(a, 'dawn-node'), a)) return { found: { adapter: a, choice: 'gpu', reason: "the platform's GPU adapter" }, why: '' };
    return { why: a ? `the platform adapter is a software one (${adapterText(a).trim()})` : 'the platform gives no adapter' };
  }
  const fs: NodeFs = await import('node:fs');
  const path: NodePath = await import('node:path');
  const manifests = vulkanManifests(fs, path);
  const gpuIcds = manifests.filter((m) => !m.software);
  const skipped = manifests.filter((m) => m.software).map((m) => path.basename(m.path));
  const skippedNote = skipped.length ? `; software ICDs not probed: ${skipped.join(', ')}` : '';
  if (gpuIcds.length === 0) return { why: `no GPU through the Vulkan loader (no GPU driver manifest in ${vulkanIcdDirs(path).join(', ')}${skippedNote})` };
  const names = gpuIcds.map((m) => path.basename(m.path)).join(', ');
  const nodes = gpuDeviceNodes(fs);
  if (nodes.length === 0 && !forced) return { why: `no GPU through the Vulkan loader (no GPU device node /dev/dri/renderD*, /dev/nvidia*, /dev/dxg, so the ICDs on disk were not probed: ${names}${skippedNote})` };
  const list = gpuIcds.map((m) => m.path).join(':');
  env.set('VK_ICD_FILENAMES', list);
  env.set('VK_DRIVER_FILES', list);
  await quietRuntimeDir(env);
  const a = await requestVulkan(mod, power);
  if (a && !isSoftwareAdapter(infoOf(a, 'dawn-node'), a)) {
    return { found: { adapter: a, choice: 'gpu', reason: `a GPU through the Vulkan loader (ICDs probed: ${names})` }, why: '' };
  }
  return { why: `no GPU through the Vulkan loader (ICDs probed: ${names}${nodes.length ? `; device nodes: ${nodes.join(', ')}` : ''}${skippedNote})` };
}

/** Dawn's OpenGL ES backend on Mesa's llvmpipe (EGL surfaceless), at WebGPU's compatibility level. */
async function probeLlvmpipe(mod: DawnModule, power: GPUPowerPreference, env: EnvScope, forced: boolean): Promise<Probe> {
  if (process.platform !== 'linux' && !forced) return { why: 'llvmpipe (Mesa through EGL) is only looked for on Linux' };
  if (!forced) {
    const fs: NodeFs = await import('node:fs');
    const dirs = libraryDirs();
    const has = (lib: string) => dirs.some((d) => fs.existsSync(`${d}/${lib}`));
    // Without these Dawn's EGL probe fails loudly; the check keeps 'auto' quiet.
    if (!has('libEGL.so.1')) return { why: 'llvmpipe unavailable: no libEGL.so.1 (install libegl1 libgl1-mesa-dri)' };
    if (!has('libEGL_mesa.so.0')) return { why: 'llvmpipe unavailable: no Mesa EGL (libEGL_mesa.so.0; install libegl1 libgl1-mesa-dri)' };
  }
  if (!process.env.EGL_PLATFORM) env.set('EGL_PLATFORM', 'surfaceless');
  // Mesa's software rasteriser even where a GPU's GL driver exists: 'llvmpipe' means the CPU.
  if (!process.env.LIBGL_ALWAYS_SOFTWARE) env.set('LIBGL_ALWAYS_SOFTWARE', '1');
  const gpu = mod.create(['backend=opengles']);
  liveInstances.push(gpu);
  const a = await gpu.requestAdapter({ powerPreference: power, featureLevel: 'compatibility' } as GPURequestAdapterOptions).catch(() => null);
  if (a && /llvmpipe/i.test(adapterText(a))) return { found: { adapter: a, choice: 'llvmpipe', reason: '', backend: 'opengles' }, why: '' };
  return { why: a ? `Dawn's OpenGL ES backend gives ${adapterText(a).trim()}, not llvmpipe` : "llvmpipe unavailable: Dawn's OpenGL ES backend (EGL_PLATFORM=surfaceless) gives no adapter" };
}

/** SwiftShader through VK_ICD_FILENAMES pointing at Chromium's manifest. */
async function probeSwiftShader(mod: DawnModule, power: GPUPowerPreference, env: EnvScope): Promise<Probe> {
  const { existsSync } = await import('node:fs');
  const icd = SWIFTSHADER_ICD_PATHS.find((p) => existsSync(p));
  if (!icd) return { why: `no SwiftShader driver (looked in ${SWIFTSHADER_ICD_PATHS.join(', ')})` };
  env.set('VK_ICD_FILENAMES', icd);
  env.set('VK_DRIVER_FILES', icd);
  await quietRuntimeDir(env);
  const a = await requestVulkan(mod, power);
  if (a) return { found: { adapter: a, choice: 'swiftshader', reason: '', icd }, why: '' };
  return { why: `SwiftShader driver ${icd} exists but gives no adapter (is libvulkan1 installed?)` };
}

/** The adapter a user's own VK_ICD_FILENAMES / VK_DRIVER_FILES selects (respected as given). */
async function probeUserIcd(mod: DawnModule, power: GPUPowerPreference, env: EnvScope, setting: string): Promise<Found> {
  await quietRuntimeDir(env);
  const a = await requestVulkan(mod, power);
  if (!a) throw new Error(`wgflow: getDevice: ${setting} is set but gives no WebGPU adapter.\n${INSTALL_HINT}`);
  const text = adapterText(a).toLowerCase();
  const choice = /swiftshader/.test(text) ? 'swiftshader' : /llvmpipe|lavapipe/.test(text) ? 'llvmpipe' : 'gpu';
  return { adapter: a, choice, reason: `${setting} set by the user` };
}

async function nodeAdapter(opts: GetDeviceOptions, env: EnvScope): Promise<Found> {
  const mod = await loadDawn();
  const power = opts.powerPreference ?? 'high-performance';
  const { name, from } = requestedAdapter(opts);
  if (opts.forceFallback && name === 'gpu') throw new Error(`wgflow: getDevice: forceFallback contradicts adapter 'gpu' (${from})`);
  const forcedBy = `forced by ${from === 'WGFLOW_ADAPTER' ? `WGFLOW_ADAPTER=${name}` : `options.adapter = '${name}'`}`;

  if (name === 'llvmpipe') {
    const r = await probeLlvmpipe(mod, power, env, true);
    if (!r.found) throw new Error(`wgflow: getDevice: adapter 'llvmpipe' (${from}) is not available: ${r.why}. Install ${ADAPTER_INSTALL.llvmpipe}.`);
    return { ...r.found, reason: forcedBy };
  }
  if (name === 'swiftshader') {
    const r = await probeSwiftShader(mod, power, env);
    if (!r.found) throw new Error(`wgflow: getDevice: adapter 'swiftshader' (${from}) is not available: ${r.why}. Install ${ADAPTER_INSTALL.swiftshader}.`);
    return { ...r.found, reason: forcedBy };
  }
  const userIcd = process.env.VK_DRIVER_FILES ? `VK_DRIVER_FILES=${process.env.VK_DRIVER_FILES}` : process.env.VK_ICD_FILENAMES ? `VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES}` : '';
  if (name === 'gpu') {
    if (userIcd) {
      const f = await probeUserIcd(mod, power, env, userIcd);
      if (f.choice !== 'gpu') throw new Error(`wgflow: getDevice: adapter 'gpu' (${from}), but ${userIcd} gives a software adapter (${adapterText(f.adapter).trim()})`);
      return { ...f, reason: `${forcedBy}; ${f.reason}` };
    }
    const r = await probeGpu(mod, power, env, true);
    if (!r.found) throw new Error(`wgflow: getDevice: adapter 'gpu' (${from}) is not available: ${r.why}. Install ${ADAPTER_INSTALL.gpu}.`);
    return { ...r.found, reason: `${forcedBy}; ${r.found.reason}` };
  }
  // auto
  const whys: string[] = [];
  if (opts.forceFallback) whys.push('GPU skipped (forceFallback)');
  else if (userIcd) return probeUserIcd(mod, power, env, userIcd);
  else {
    const g = await probeGpu(mod, power, env, false);
    if (g.found) return g.found;
    whys.push(g.why);
    env.restore(); // the probe's VK_ICD_FILENAMES must not reach the next driver
  }
  const l = await probeLlvmpipe(mod, power, env, false);
  if (l.found) return { ...l.found, reason: `${whys.join('; ')}; llvmpipe preferred over SwiftShader` };
  whys.push(l.why);
  env.restore();
  const s = await probeSwiftShader(mod, power, env);
  if (s.found) return { ...s.found, reason: whys.join('; ') };
  whys.push(s.why);
  throw new Error(`wgflow: getDevice: no WebGPU adapter: ${whys.join('; ')}.\n${INSTALL_HINT}`);
}

/** Every numeric limit the adapter offers (its defaults can be far lower, e.g. in compatibility mode). */
function adapterLimits(adapter: GPUAdapter): Record<string, number> {
  const out: Record<string, number> = {};
  const L = adapter.limits as unknown as Record<string, unknown>;
  for (const k in L) {
    const v = L[k];
    if (typeof v === 'number') out[k] = v;
  }
  return out;
}

// Acquisitions change process.env while drivers load: one at a time.
let acquiring: Promise<unknown> = Promise.resolve();

/**
 * Finds a WebGPU adapter and creates a device with the adapter's own limits (so that 10^7
 * particles fit where the adapter allows) and the optional features it offers.
 *
 * Node order: a real GPU through the Vulkan loader; else llvmpipe (Dawn's OpenGL ES backend
 * on Mesa, compatibility level); else SwiftShader (Chromium's Vulkan driver). WGFLOW_ADAPTER
 * or `options.adapter` force one ('gpu' | 'llvmpipe' | 'swiftshader' | 'auto'); a user's own
 * VK_ICD_FILENAMES is respected. `choice`, `reason` and `summary` say which and why; `limits`
 * the largest N per dimension. When no adapter is found the error says what to install.
 *
 * @example
 * const { device, choice, summary, limits } = await getDevice();
 * console.log(summary); // e.g. "llvmpipe: OpenGL version OpenGL ES 3.2 Mesa … (…); chosen: no GPU …"
 * console.log(limits.maxParticles[2]);
 */
export async function getDevice(options: GetDeviceOptions = {}): Promise<DeviceResult> {
  if (!isNode) return browserDevice(options);
  const run = acquiring.then(() => nodeDevice(options));
  acquiring = run.catch(() => undefined);
  return run;
}

async function nodeDevice(options: GetDeviceOptions): Promise<DeviceResult> {
  const env = new EnvScope();
  try {
    const found = await nodeAdapter(options, env);
    const info = { ...infoOf(found.adapter, 'dawn-node', found.icd), ...(found.backend ? { backend: found.backend } : {}) };
    const device = await createDevice(found.adapter, options);
    return finish(device, found.adapter, info, found.choice, found.reason);
  } finally {
    env.restore();
  }
}

async function browserDevice(options: GetDeviceOptions): Promise<DeviceResult> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu) throw new Error(`wgflow: navigator.gpu is missing (no WebGPU in this browser or not a secure context).\n${INSTALL_HINT}`);
  const a = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!a) throw new Error(`wgflow: navigator.gpu.requestAdapter() returned null.\n${INSTALL_HINT}`);
  const device = await createDevice(a, options);
  return finish(device, a, infoOf(a, 'browser'), 'browser', "the browser's navigator.gpu adapter");
}

async function createDevice(adapter: GPUAdapter, options: GetDeviceOptions): Promise<GPUDevice> {
  const want = options.optionalFeatures ?? (['timestamp-query', 'subgroups'] as GPUFeatureName[]);
  const requiredFeatures = want.filter((f) => adapter.features.has(f));
  return adapter.requestDevice({
    label: 'wgflow.device',
    requiredFeatures,
    requiredLimits: adapterLimits(adapter),
  });
}

function finish(device: GPUDevice, adapter: GPUAdapter, info: AdapterInfo, choice: AdapterChoice, reason: string): DeviceResult {
  const fallback = isSoftwareAdapter(info, adapter);
  const gallivm = /llvmpipe|lavapipe/i.test(`${info.description} ${info.device} ${info.architecture}`);
  profiles.set(device, { fallback, maxLoopIterations: gallivm ? LLVMPIPE_LOOP_LIMIT : Infinity });
  const name = [info.description, info.vendor, info.architecture, info.device].filter(Boolean).join(' / ') || 'unnamed adapter';
  const details = [
    info.runtime,
    info.icd ? `ICD ${info.icd}` : '',
    info.backend ? `Dawn ${info.backend} backend, compatibility level` : '',
  ].filter(Boolean).join(', ');
  const summary = `${choice}: ${name} (${details}; ${fallback ? 'CPU fallback: timings say little about GPUs' : 'GPU'}); chosen: ${reason}`;
  const limits = particleLimits({ maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize, maxBufferSize: device.limits.maxBufferSize });
  return { device, adapter, adapterInfo: info, choice, reason, fallback, summary, limits };
}
