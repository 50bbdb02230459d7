/**
 * Shader modules, compute pipelines and bind groups: ONE cache per device (modules by WGSL
 * text, pipelines by entry point, constants and layout) and ONE bind-group helper. Every
 * kernel and energy term builds its pipelines through {@link pipeline} and its bind groups
 * through {@link bindGroup}; nothing else in wgflow calls createComputePipeline.
 */

/** Where a spliced piece of WGSL starts in a composed module, for error messages. */
export interface SourceSpan {
  name: string;
  /** 1-based line in the composed module. */
  firstLine: number;
  lineCount: number;
}

/**
 * Creates a shader module and throws an Error quoting every WGSL error message with its line
 * (and the line's text), mapped back into spliced user code when `spans` are given.
 */
export async function compileModule(device: GPUDevice, label: string, code: string, spans: SourceSpan[] = []): Promise<GPUShaderModule> {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ label, code });
  const info = await module.getCompilationInfo();
  const scopeErr = await device.popErrorScope();
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length || scopeErr) {
    const lines = code.split('\n');
    const parts = errors.map((m) => {
      const span = spans.find((s) => m.lineNum >= s.firstLine && m.lineNum < s.firstLine + s.lineCount);
      const where = span ? `${span.name} line ${m.lineNum - span.firstLine + 1}` : `${label} line ${m.lineNum}`;
      const text = lines[m.lineNum - 1] ?? '';
      return `${where}:${m.linePos}: ${m.message}\n    ${text.trim()}`;
    });
    if (!parts.length && scopeErr) parts.push(scopeErr.message);
    throw new Error(`wgflow: WGSL compilation failed for ${label}:\n${parts.join('\n')}`);
  }
  return module;
}

/** Kind of a binding in an explicit layout: read-only storage, read-write storage, uniform. */
export type BindingKind = 'read' | 'storage' | 'uniform';

interface DeviceCache {
  modules: Map<string, Promise<GPUShaderModule>>;
  layouts: Map<string, GPUBindGroupLayout>;
  pipelines: Map<string, Promise<GPUComputePipeline>>;
}
const caches = new WeakMap<GPUDevice, DeviceCache>();

function cacheOf(device: GPUDevice): DeviceCache {
  let c = caches.get(device);
  if (!c) caches.set(device, (c = { modules: new Map(), layouts: new Map(), pipelines: new Map() }));
  return c;
}

/**
 * An explicit bind group layout (binding k has kind kinds[k]), shared by every user of the same
 * kinds on this device. Unlike 'auto' layouts it may hold bindings that an entry point does not
 * use, so several entry points of one module can share one bind group.
 */
export function bindingLayout(device: GPUDevice, kinds: BindingKind[]): GPUBindGroupLayout {
  const c = cacheOf(device);
  const key = kinds.join(',');
  let l = c.layouts.get(key);
  if (!l) {
    l = device.createBindGroupLayout({
      label: `Pipelines.layout(${key})`,
      entries: kinds.map((k, binding) => ({
        binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: k === 'read' ? 'read-only-storage' : k === 'storage' ? 'storage' : 'uniform' },
      })),
    });
    c.layouts.set(key, l);
  }
  return l;
}

/** What {@link pipeline} builds. */
export interface PipelineSpec {
  /** Label of the pipeline (and of the module, the first time its text is compiled): '<Owner>.<purpose>'. */
  label: string;
  /** The whole WGSL module text (see ./wgsl.ts for composition). */
  code: string;
  /** Entry point. Default 'main'. */
  entry?: string;
  /** Values of the module's `override` constants. Default {}. */
  constants?: Record<string, number>;
  /**
   * Bind group layouts, one array of binding kinds per group (explicit layouts, shareable by
   * several entry points), or 'auto' (derived from the entry point). Default 'auto'.
   */
  layout?: BindingKind[][] | 'auto';
  /** Spliced user code, to map compile errors back into it. */
  spans?: SourceSpan[];
}

/**
 * A compute pipeline built once per device for the same WGSL text, entry point, constants and
 * layout, so creating many flows or kernels compiles each module once. Compile and validation
 * errors are thrown (and not cached).
 *
 * @example
 * const p = await pipeline(device, { label: 'Grid.count', code: composeWgsl(commonWgsl, gridWgsl), entry: 'count', constants: { D: 2, WG: 256 } });
 */
export function pipeline(device: GPUDevice, spec: PipelineSpec): Promise<GPUComputePipeline> {
  const c = cacheOf(device);
  const entry = spec.entry ?? 'main';
  const constants = spec.constants ?? {};
  const layout = spec.layout ?? 'auto';
  const layoutKey = layout === 'auto' ? 'auto' : layout.map((g) => g.join(',')).join('/');
  const key = `${entry}|${JSON.stringify(constants)}|${layoutKey}|${spec.code}`;
  let p = c.pipelines.get(key);
  if (!p) {
    let m = c.modules.get(spec.code);
    if (!m) {
      m = compileModule(device, spec.label, spec.code, spec.spans ?? []);
      c.modules.set(spec.code, m);
      m.catch(() => c.modules.delete(spec.code));
    }
    p = m.then(async (module) => {
      device.pushErrorScope('validation');
      const made = device.createComputePipeline({
        label: spec.label,
        layout: layout === 'auto'
          ? 'auto'
          : device.createPipelineLayout({ label: `${spec.label}.layout`, bindGroupLayouts: layout.map((g) => bindingLayout(device, g)) }),
        compute: { module, entryPoint: entry, constants },
      });
      const err = await device.popErrorScope();
      if (err) throw new Error(`wgflow: pipeline ${spec.label} is invalid: ${err.message}`);
      return made;
    });
    c.pipelines.set(key, p);
    p.catch(() => c.pipelines.delete(key));
  }
  return p;
}

/**
 * A bind group: `buffers` bound to binding 0..k-1 (an array) or to the given binding numbers
 * (a record), for group `group` of a pipeline (its layout, 'auto' or explicit) or for a layout.
 *
 * @example
 * const bg = bindGroup(device, 'Grid.count', countPipeline, { 0: points, 1: params });
 */
export function bindGroup(
  device: GPUDevice,
  label: string,
  target: GPUComputePipeline | GPUBindGroupLayout,
  buffers: GPUBuffer[] | Record<number, GPUBuffer>,
  group = 0,
): GPUBindGroup {
  const entries = Array.isArray(buffers)
    ? buffers.map((buffer, binding) => ({ binding, resource: { buffer } }))
    : Object.entries(buffers).map(([binding, buffer]) => ({ binding: Number(binding), resource: { buffer } }));
  return device.createBindGroup({
    label,
    layout: 'getBindGroupLayout' in target ? target.getBindGroupLayout(group) : target,
    entries,
  });
}

/** Records one dispatch of `pipe` with `bindings` (group 0) and a 1D/2D size. */
export function dispatch(pass: GPUComputePassEncoder, pipe: GPUComputePipeline, bindings: GPUBindGroup, size: [number, number]): void {
  pass.setPipeline(pipe);
  pass.setBindGroup(0, bindings);
  pass.dispatchWorkgroups(size[0], size[1]);
}
