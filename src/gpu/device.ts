/**
 * Adapter and device acquisition, in Node (Dawn through the `webgpu` npm package) and in
 * browsers (navigator.gpu). A real GPU is preferred; SwiftShader (a CPU Vulkan driver that
 * Debian's `chromium` package ships) is the fallback when no GPU is found.
 */

/** Where Debian's `chromium` package puts the SwiftShader Vulkan driver manifest. */
export const SWIFTSHADER_ICD_PATHS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/usr/lib64/chromium-browser/vk_swiftshader_icd.json',
];

/** What install fixes a missing adapter, quoted in the error. */
export const INSTALL_HINT =
  'No WebGPU adapter found. wgflow needs a GPU with a Vulkan driver, or the SwiftShader CPU ' +
  'driver shipped by Chromium. On Debian/Ubuntu run:\n' +
  '    sudo apt-get install -y chromium libvulkan1\n' +
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
  /** The Vulkan ICD manifest forced through VK_ICD_FILENAMES, if wgflow set one. */
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

/** The result of {@link getDevice}. */
export interface DeviceResult {
  device: GPUDevice;
  adapter: GPUAdapter;
  adapterInfo: AdapterInfo;
  /** True when the adapter is a CPU fallback (SwiftShader or another software rasteriser). */
  fallback: boolean;
  /** A one-line human description: which adapter, and why. */
  summary: string;
}

/** Options of {@link getDevice}. */
export interface GetDeviceOptions {
  /** Default 'high-performance'. */
  powerPreference?: GPUPowerPreference;
  /** Features to request if the adapter offers them. Default ['timestamp-query', 'subgroups']. */
  optionalFeatures?: GPUFeatureName[];
  /** Use SwiftShader even if a GPU exists (Node only). Default false. */
  forceFallback?: boolean;
  /**
   * Force one adapter (Node only): 'gpu' (a real GPU through the Vulkan loader), 'llvmpipe'
   * (Dawn's OpenGL ES backend on Mesa's llvmpipe, compatibility level), 'swiftshader'
   * (Chromium's SwiftShader Vulkan driver) or 'auto'. Default: the WGFLOW_ADAPTER environment
   * variable, else 'auto'.
   */
  adapter?: 'gpu' | 'llvmpipe' | 'swiftshader' | 'auto';
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

/** Dawn's OpenGL ES backend on Mesa's llvmpipe (EGL surfaceless), at WebGPU's compatibility level. */
async function llvmpipeAdapter(mod: DawnModule, power: GPUPowerPreference): Promise<GPUAdapter | null> {
  if (!process.env.EGL_PLATFORM) process.env.EGL_PLATFORM = 'surfaceless';
  const gpu = mod.create(['backend=opengles']);
  liveInstances.push(gpu);
  return gpu.requestAdapter({ powerPreference: power, featureLevel: 'compatibility' } as GPURequestAdapterOptions).catch(() => null);
}

async function nodeAdapter(opts: GetDeviceOptions): Promise<{ adapter: GPUAdapter; icd?: string; backend?: string }> {
  const mod = await loadDawn();
  const power = opts.powerPreference ?? 'high-performance';
  const forced = opts.adapter ?? (process.env.WGFLOW_ADAPTER as GetDeviceOptions['adapter'] | undefined);
  if (forced !== undefined && forced !== 'auto' && !['gpu', 'llvmpipe', 'swiftshader'].includes(forced)) {
    throw new Error(`wgflow: getDevice: unknown adapter '${forced}' (WGFLOW_ADAPTER or options.adapter: use 'gpu', 'llvmpipe', 'swiftshader' or 'auto')`);
  }
  if (forced === 'llvmpipe') {
    const a = await llvmpipeAdapter(mod, power);
    if (!a) throw new Error('wgflow: getDevice: the llvmpipe adapter (Dawn OpenGL ES on Mesa, EGL_PLATFORM=surfaceless) is not available: install libegl1 and libgl1-mesa-dri (Debian: apt-get install -y libegl1 libgl1-mesa-dri)');
    return { adapter: a, backend: 'opengles' };
  }
  const userIcd = process.env.VK_ICD_FILENAMES;
  if (!opts.forceFallback && forced !== 'swiftshader') {
    const gpu = mod.create([]);
    liveInstances.push(gpu);
    const adapter = await gpu.requestAdapter({ powerPreference: power }).catch(() => null);
    if (adapter) {
      const info = infoOf(adapter, 'dawn-node');
      // A software adapter found through the system loader (and not chosen by the user) is
      // only a fallback: prefer SwiftShader, which wgflow is tested on, if it exists.
      if (!isSoftwareAdapter(info, adapter) || userIcd) return { adapter };
    }
    if (forced === 'gpu') throw new Error(`wgflow: getDevice: WGFLOW_ADAPTER=gpu but no GPU adapter was found through the Vulkan loader.\n${INSTALL_HINT}`);
  }
  if (userIcd && !opts.forceFallback && forced !== 'swiftshader') throw new Error(`wgflow: getDevice: VK_ICD_FILENAMES=${userIcd} is set but gives no WebGPU adapter.\n${INSTALL_HINT}`);
  const { existsSync } = await import('node:fs');
  const icd = SWIFTSHADER_ICD_PATHS.find((p) => existsSync(p));
  if (!icd) throw new Error(`wgflow: getDevice: no GPU adapter and no SwiftShader driver (looked in ${SWIFTSHADER_ICD_PATHS.join(', ')}).\n${INSTALL_HINT}`);
  process.env.VK_ICD_FILENAMES = icd;
  const gpu = mod.create([]);
  liveInstances.push(gpu);
  const adapter = await gpu.requestAdapter({ powerPreference: power }).catch(() => null);
  if (!adapter) {
    throw new Error(`wgflow: getDevice: SwiftShader driver ${icd} exists but gives no adapter (is libvulkan1 installed?).\n${INSTALL_HINT}`);
  }
  return { adapter, icd };
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

/**
 * Finds a WebGPU adapter and creates a device with the adapter's own buffer limits (so that
 * 10^7 particles fit where the adapter allows) and the optional features it offers.
 *
 * Order: a real GPU through the platform's driver; else, in Node, SwiftShader through
 * `VK_ICD_FILENAMES` pointing at Chromium's `vk_swiftshader_icd.json`. When no adapter is
 * found the error says exactly what to install. Device loss is logged with its reason.
 *
 * @example
 * const { device, adapterInfo, fallback, summary } = await getDevice();
 * console.log(summary); // e.g. "NVIDIA H100 (vulkan, real GPU)" or "SwiftShader (CPU fallback)"
 */
export async function getDevice(options: GetDeviceOptions = {}): Promise<DeviceResult> {
  let adapter: GPUAdapter;
  let info: AdapterInfo;
  if (isNode) {
    const r = await nodeAdapter(options);
    adapter = r.adapter;
    info = { ...infoOf(adapter, 'dawn-node', r.icd), ...(r.backend ? { backend: r.backend } : {}) };
  } else {
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (!gpu) throw new Error(`wgflow: navigator.gpu is missing (no WebGPU in this browser or not a secure context).\n${INSTALL_HINT}`);
    const a = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
    if (!a) throw new Error(`wgflow: navigator.gpu.requestAdapter() returned null.\n${INSTALL_HINT}`);
    adapter = a;
    info = infoOf(adapter, 'browser');
  }
  const want = options.optionalFeatures ?? (['timestamp-query', 'subgroups'] as GPUFeatureName[]);
  const requiredFeatures = want.filter((f) => adapter.features.has(f));
  const L = adapter.limits;
  const device = await adapter.requestDevice({
    label: 'wgflow.device',
    requiredFeatures,
    requiredLimits: adapterLimits(adapter),
  });
  const fallback = isSoftwareAdapter(info, adapter);
  const gallivm = /llvmpipe|lavapipe/i.test(`${info.description} ${info.device} ${info.architecture}`);
  profiles.set(device, { fallback, maxLoopIterations: gallivm ? LLVMPIPE_LOOP_LIMIT : Infinity });
  const name = [info.description, info.vendor, info.architecture, info.device].filter(Boolean).join(' / ') || 'unnamed adapter';
  const summary = `${name} (${info.runtime}${info.icd ? `, ICD ${info.icd}` : ''}${info.backend ? `, Dawn ${info.backend} backend, compatibility level` : ''}; ${fallback ? 'CPU fallback: timings say little about GPUs' : 'GPU'})`;
  return { device, adapter, adapterInfo: info, fallback, summary };
}
