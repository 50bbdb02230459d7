import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { testDevice } from './helpers.js';
import { dispatchSize } from '../src/gpu/resources.js';
import { ADAPTER_NAMES, deviceProfile, getDevice, LLVMPIPE_LOOP_LIMIT, PARTICLE_BUFFERS, particleLimits, SWIFTSHADER_ICD_PATHS, type DeviceResult, type Dim } from '../src/gpu/device.js';
import { GRID_TUNING, gridLargestBuffer } from '../src/kernels/grid.js';

/** Runs fn with process.env changed as given (undefined: unset), restoring it afterwards. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) delete process.env[k];
      else process.env[k] = x;
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

const opened: DeviceResult[] = [];
async function open(options: Parameters<typeof getDevice>[0]): Promise<DeviceResult> {
  const r = await getDevice(options);
  opened.push(r);
  return r;
}
afterAll(() => {
  for (const r of opened) r.device.destroy();
});

describe('getDevice', () => {
  it('finds an adapter and names it', async () => {
    const { device, adapter, adapterInfo, summary } = await testDevice();
    expect(device).toBeTruthy();
    expect(summary.length).toBeGreaterThan(5);
    expect(adapterInfo.runtime).toBe('dawn-node');
    // The device carries every limit the adapter offers, not WebGPU's defaults (128 MiB storage
    // bindings; on llvmpipe's compatibility level also 128 invocations and 8 storage buffers).
    const L = adapter.limits as unknown as Record<string, unknown>;
    const D = device.limits as unknown as Record<string, unknown>;
    for (const k in L) if (typeof L[k] === 'number') expect(D[k], k).toBe(L[k]);
  });
  it('sizes 2D dispatches past 65535 workgroups', () => {
    expect(dispatchSize(10)).toEqual([10, 1]);
    const [x, y] = dispatchSize(200_000);
    expect(x).toBeLessThanOrEqual(65535);
    expect(x * y).toBeGreaterThanOrEqual(200_000);
  });
});

describe('adapter choice', () => {
  it('forced llvmpipe: Dawn OpenGL ES on Mesa at the compatibility level, with its own limits and loop cap', async () => {
    const r = await open({ adapter: 'llvmpipe' });
    expect(r.choice).toBe('llvmpipe');
    expect(r.summary).toMatch(/llvmpipe/i);
    expect(r.summary).toContain("forced by options.adapter = 'llvmpipe'");
    expect(r.adapterInfo.backend).toBe('opengles');
    expect(r.fallback).toBe(true);
    expect(deviceProfile(r.device).maxLoopIterations).toBe(LLVMPIPE_LOOP_LIMIT);
    // Compatibility-level defaults are lower than what llvmpipe offers; the device gets the latter.
    expect(r.device.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
    expect(r.device.limits.maxStorageBuffersPerShaderStage).toBeGreaterThan(8);
  });
  it('forced swiftshader (WGFLOW_ADAPTER): Chromium\'s Vulkan driver, no loop cap', async () => {
    const before = process.env.VK_ICD_FILENAMES;
    const r = await withEnv({ WGFLOW_ADAPTER: 'swiftshader' }, () => open({}));
    expect(r.choice).toBe('swiftshader');
    expect(r.summary).toMatch(/swiftshader/i);
    expect(r.summary).toContain('forced by WGFLOW_ADAPTER=swiftshader');
    expect(r.adapterInfo.icd).toMatch(/vk_swiftshader_icd\.json$/);
    expect(r.fallback).toBe(true);
    expect(deviceProfile(r.device).maxLoopIterations).toBe(Infinity);
    expect(process.env.VK_ICD_FILENAMES).toBe(before); // restored once the device exists
  });
  it('an unknown adapter name throws, listing the valid ones', async () => {
    const valid = ADAPTER_NAMES.map((n) => `'${n}'`).join(', ');
    expect(valid).toBe("'gpu', 'llvmpipe', 'swiftshader', 'auto'");
    await withEnv({ WGFLOW_ADAPTER: 'vulkan' }, async () => {
      await expect(getDevice()).rejects.toThrow(`wgflow: getDevice: unknown adapter 'vulkan' (WGFLOW_ADAPTER); valid names: ${valid}`);
    });
    await expect(getDevice({ adapter: 'cpu' as never })).rejects.toThrow(`unknown adapter 'cpu' (options.adapter); valid names: ${valid}`);
  });
  it('auto takes a real GPU where one exists, else llvmpipe, and says why', async () => {
    // Whether a GPU exists is what a forced 'gpu' finds; without one its error says what to install.
    const gpu = await getDevice({ adapter: 'gpu' }).then((r) => { opened.push(r); return r; }, (e: Error) => e);
    const r = await withEnv({ WGFLOW_ADAPTER: undefined, VK_ICD_FILENAMES: undefined, VK_DRIVER_FILES: undefined }, () => open({}));
    if (gpu instanceof Error) {
      expect(gpu.message).toMatch(/^wgflow: getDevice: adapter 'gpu' \(options\.adapter\) is not available: .*Install the GPU's Vulkan driver/);
      expect(r.choice).toBe('llvmpipe');
      expect(r.reason).toMatch(/^no GPU through the Vulkan loader \(.*\); llvmpipe preferred over SwiftShader$/);
      expect(r.summary).toContain(`chosen: ${r.reason}`);
    } else {
      expect(gpu.choice).toBe('gpu');
      expect(r.choice).toBe('gpu');
      expect(r.fallback).toBe(false);
      expect(r.reason).toMatch(/GPU/);
    }
  });
  it("a user's VK_ICD_FILENAMES is respected", async () => {
    const icd = SWIFTSHADER_ICD_PATHS.find((p) => existsSync(p))!;
    expect(icd).toBeTruthy();
    const r = await withEnv({ WGFLOW_ADAPTER: undefined, VK_DRIVER_FILES: undefined, VK_ICD_FILENAMES: icd }, async () => {
      const d = await open({});
      expect(process.env.VK_ICD_FILENAMES).toBe(icd);
      return d;
    });
    expect(r.choice).toBe('swiftshader');
    expect(r.reason).toBe(`VK_ICD_FILENAMES=${icd} set by the user`);
  });
});

describe('largest N', () => {
  it('maxParticles follows the device limits and every kernel buffer', async () => {
    const { device, limits } = await testDevice();
    const cap = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    expect(limits.maxBindingBytes).toBe(cap);
    expect(limits.maxStorageBufferBindingSize).toBe(device.limits.maxStorageBufferBindingSize);
    expect(limits.buffers.length).toBe(PARTICLE_BUFFERS.length);
    for (const d of [1, 2, 3] as Dim[]) {
      let min = Infinity;
      limits.buffers.forEach((b, j) => {
        const n = b.maxParticles[d];
        const bytes = (m: number) => PARTICLE_BUFFERS[j]!.bytes(m, d);
        expect(bytes(n), `${b.buffer}, ${d}D`).toBeLessThanOrEqual(cap);
        expect(bytes(n + 1), `${b.buffer}, ${d}D`).toBeGreaterThan(cap);
        min = Math.min(min, n);
      });
      expect(limits.maxParticles[d]).toBe(min);
      expect(limits.maxParticles[d]).toBeGreaterThan(1_000_000);
      // The flow's own buffers (N·dim f32) always fit at maxParticles.
      expect(limits.maxParticles[d] * d * 4).toBeLessThanOrEqual(cap);
    }
    // 128 MiB bindings (llvmpipe): 2^23 particles in 1D/2D (16 bytes each in the grid), 3D 20 bytes.
    const small = particleLimits({ maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 31 });
    expect(small.maxParticles).toEqual({ 1: 2 ** 23, 2: 2 ** 23, 3: Math.floor(2 ** 27 / 20) });
    expect(small.bytesPerParticle[3]).toBeCloseTo(20, 4);
  });
  it("the grid model matches the grid kernel's own sizing", () => {
    const grid = PARTICLE_BUFFERS.filter((b) => b.kernel === 'grid');
    expect(grid.length).toBe(3);
    for (const d of [1, 2, 3] as Dim[]) {
      expect(GRID_TUNING[d].levels).toBe(d === 3 ? 5 : 4);
      for (const n of [1, 63, 64, 65, 1000, 2 ** 20 - 1, 2 ** 20, 2 ** 20 + 1, 8_388_608, 6_710_886, 33_554_433]) {
        expect(Math.max(...grid.map((b) => b.bytes(n, d))), `n = ${n}, ${d}D`).toBe(gridLargestBuffer(n, d).bytes);
      }
    }
  });
});

describe('quiet acquisition', () => {
  // A child process with a clean environment (no XDG_RUNTIME_DIR, no ICD choice) runs
  // getDevice() from src/gpu/device.ts and reports what native code wrote to fd 2.
  const dir = mkdtempSync(join(tmpdir(), 'wgflow-quiet-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const webgpu = pathToFileURL(createRequire(import.meta.url).resolve('webgpu')).href;
  const js = ts.transpileModule(readFileSync(new URL('../src/gpu/device.ts', import.meta.url), 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
  }).outputText.replace("import('webgpu')", `import(${JSON.stringify(webgpu)})`);
  writeFileSync(join(dir, 'device.mjs'), js);
  writeFileSync(join(dir, 'child.mjs'), [
    "const { getDevice } = await import('./device.mjs');",
    "const keys = ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES', 'XDG_RUNTIME_DIR', 'EGL_PLATFORM', 'LIBGL_ALWAYS_SOFTWARE'];",
    'const before = JSON.stringify(keys.map((k) => process.env[k] ?? null));',
    "const r = await getDevice(process.argv[2] ? { adapter: process.argv[2] } : {});",
    'const d = r.device;',
    '// One compute dispatch and a readback after acquisition: later driver work must be quiet too.',
    "const module = d.createShaderModule({ code: '@group(0) @binding(0) var<storage, read_write> o: array<u32>; @compute @workgroup_size(1) fn main() { o[0] = 42u; }' });",
    "const pipe = d.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });",
    'const buf = d.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });',
    'const read = d.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });',
    'const enc = d.createCommandEncoder(); const pass = enc.beginComputePass(); pass.setPipeline(pipe);',
    'pass.setBindGroup(0, d.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] }));',
    'pass.dispatchWorkgroups(1); pass.end(); enc.copyBufferToBuffer(buf, 0, read, 0, 16); d.queue.submit([enc.finish()]);',
    'await read.mapAsync(GPUMapMode.READ); const value = new Uint32Array(read.getMappedRange())[0];',
    "process.stdout.write(JSON.stringify({ choice: r.choice, value, envKept: JSON.stringify(keys.map((k) => process.env[k] ?? null)) === before }));",
    'r.device.destroy();',
    'process.exit(0);',
  ].join('\n'));
  const env = { ...process.env };
  for (const k of ['XDG_RUNTIME_DIR', 'VK_ICD_FILENAMES', 'VK_DRIVER_FILES', 'EGL_PLATFORM', 'LIBGL_ALWAYS_SOFTWARE', 'WGFLOW_ADAPTER']) delete env[k];
  const child = (adapter: string) => new Promise<{ out: { choice: string; value: number; envKept: boolean }; err: string }>((resolve, reject) => {
    execFile(process.execPath, [join(dir, 'child.mjs'), ...(adapter ? [adapter] : [])], { env, timeout: 60_000 }, (e, stdout, stderr) => {
      if (e) reject(new Error(`${e.message}\n${stderr}`));
      else resolve({ out: JSON.parse(stdout), err: stderr });
    });
  });
  // What is left: Dawn's NormalizeLimits prints these for llvmpipe's GL limits (90 uniform and
  // 80 storage buffer bindings), unconditionally and with no toggle (see docs/backends.md).
  const DAWN_GL_LIMIT_WARNING = /^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to 16 to fit dynamic offset allocation limit\.\n/gm;

  for (const adapter of ['', 'swiftshader', 'llvmpipe']) {
    it(`getDevice(${adapter ? `{ adapter: '${adapter}' }` : ''}) and a dispatch write nothing else to fd 2; the environment is restored`, async () => {
      const { out, err } = await child(adapter);
      expect(out.value).toBe(42);
      expect(out.envKept).toBe(true);
      expect(err).not.toMatch(/XDG_RUNTIME_DIR|PhysicalDeviceVk|shaderUniform|Loader Message|eglInitialize/);
      if (out.choice === 'llvmpipe') expect(err.match(DAWN_GL_LIMIT_WARNING)?.length).toBe(2);
      expect(err.replace(DAWN_GL_LIMIT_WARNING, '')).toBe('');
    });
  }
});
