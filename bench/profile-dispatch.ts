/**
 * Profile (not a test): what the adapter charges per dispatch and per barrier, measured by
 * queue drains around many dispatches of tiny kernels in one pass.
 *
 *   - empty:        one workgroup of 64 threads doing nothing
 *   - nwg:          the same, reading the num_workgroups builtin (Dawn's GL backend emulates it)
 *   - touch N:      N threads each adding 1 to one u32 (WG = 64, 256, 1024), with and without
 *                   a workgroupBarrier in the middle
 *
 *   npx tsc -p tsconfig.json && WGFLOW_ADAPTER=llvmpipe node dist/bench/profile-dispatch.js
 */
import { getDevice } from '../src/gpu/device.js';
import { createBuffer } from '../src/gpu/resources.js';

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

async function main(): Promise<void> {
  const { device, summary } = await getDevice();
  console.log(`adapter: ${summary}`);
  const maxWg = device.limits.maxComputeInvocationsPerWorkgroup;
  const code = `
override WG: u32 = 64u;
@group(0) @binding(0) var<storage, read_write> a: array<u32>;
@compute @workgroup_size(64) fn empty() { }
@compute @workgroup_size(64) fn nwg(@builtin(num_workgroups) n: vec3u) { if (n.x == 12345u) { a[0] = 1u; } }
@compute @workgroup_size(WG) fn touch(@builtin(global_invocation_id) g: vec3u) { a[g.x] += 1u; }
@compute @workgroup_size(WG) fn touch_barrier(@builtin(global_invocation_id) g: vec3u) {
  a[g.x] += 1u;
  workgroupBarrier();
  a[g.x] += 1u;
}`;
  const module = device.createShaderModule({ code });
  const buf = createBuffer(device, 'bench.a', 4 << 20, GPUBufferUsage.STORAGE);
  const mk = (entry: string, wg = 64) => {
    const p = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: entry, constants: entry.startsWith('touch') ? { WG: wg } : {} } });
    const bg = device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: entry === 'empty' ? [] : [{ binding: 0, resource: { buffer: buf } }] });
    return { p, bg };
  };
  const time = async (entry: string, wg: number, groups: number, reps: number) => {
    const { p, bg } = mk(entry, wg);
    const run = async () => {
      const t0 = performance.now();
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      for (let r = 0; r < reps; r++) {
        pass.setPipeline(p);
        pass.setBindGroup(0, bg);
        pass.dispatchWorkgroups(groups);
      }
      pass.end();
      device.queue.submit([enc.finish()]);
      await device.queue.onSubmittedWorkDone();
      return ((performance.now() - t0) * 1000) / reps;
    };
    await run();
    const t: number[] = [];
    for (let i = 0; i < 5; i++) t.push(await run());
    return median(t);
  };
  console.log(`empty, 1 workgroup: ${(await time('empty', 64, 1, 200)).toFixed(1)} µs / dispatch`);
  console.log(`num_workgroups, 1 workgroup: ${(await time('nwg', 64, 1, 200)).toFixed(1)} µs / dispatch`);
  for (const n of [1 << 14, 1 << 17, 1 << 20]) {
    for (const wg of [64, 256, maxWg]) {
      if (wg > maxWg) continue;
      const a = await time('touch', wg, n / wg, 20);
      const b = await time('touch_barrier', wg, n / wg, 20);
      console.log(`touch ${n} threads, WG ${wg}: ${a.toFixed(1)} µs (${((a * 1000) / n).toFixed(2)} ns/thread); with a barrier: ${b.toFixed(1)} µs (${((b * 1000) / n).toFixed(2)} ns/thread)`);
    }
  }
  device.destroy();
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
