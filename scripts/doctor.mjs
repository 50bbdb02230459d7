#!/usr/bin/env node
// Checks (and where it can, installs) what `npm start` and `npm test` need:
//  - node_modules (runs `npm ci`, or `npm install` without a lockfile);
//  - on Linux, what the CPU adapters need (docs/backends.md): EGL and Mesa's software driver for
//    llvmpipe, the default without a GPU (libegl1, libgl1-mesa-dri), and the Vulkan loader and
//    the SwiftShader driver that Debian's `chromium` package ships (libvulkan1, chromium). As
//    root with apt-get it installs them; otherwise it prints the exact command and exits 1.
// Set WGFLOW_SKIP_DOCTOR=1 to skip.
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

if (process.env.WGFLOW_SKIP_DOCTOR) process.exit(0);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sh = (cmd) => execSync(cmd, { stdio: 'inherit', cwd: root });

if (!existsSync(join(root, 'node_modules', 'webgpu')) || !existsSync(join(root, 'node_modules', 'vitest'))) {
  console.log('[wgflow] node_modules incomplete: installing dependencies');
  sh(existsSync(join(root, 'package-lock.json')) ? 'npm ci' : 'npm install');
}

if (process.platform === 'linux') {
  const libdirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'];
  const hasLib = (lib) => libdirs.some((d) => existsSync(join(d, lib)));
  const icds = ['/usr/lib/chromium/vk_swiftshader_icd.json', '/usr/lib/chromium-browser/vk_swiftshader_icd.json'];
  const hasSwiftShader = icds.some((p) => existsSync(p));
  const missing = [];
  if (!hasLib('libvulkan.so.1')) missing.push('libvulkan1');
  if (!hasSwiftShader) missing.push('chromium');
  // llvmpipe: glvnd's libEGL with Mesa's EGL vendor library, and Mesa's software DRI driver.
  if (!hasLib('libEGL.so.1') || !hasLib('libEGL_mesa.so.0')) missing.push('libegl1');
  if (!hasLib('dri/swrast_dri.so')) missing.push('libgl1-mesa-dri');
  if (missing.length) {
    const cmd = `apt-get install -y ${missing.join(' ')}`;
    const isRoot = process.getuid?.() === 0;
    const hasApt = existsSync('/usr/bin/apt-get');
    if (isRoot && hasApt) {
      console.log(`[wgflow] installing ${missing.join(', ')} (CPU adapters: llvmpipe through EGL, SwiftShader through the Vulkan loader): ${cmd}`);
      sh('apt-get update -qq');
      sh(`DEBIAN_FRONTEND=noninteractive ${cmd} -qq`);
    } else {
      console.error(`[wgflow] missing ${missing.join(', ')}: WebGPU in Node (Dawn) needs, without a GPU, a CPU adapter: llvmpipe\n` +
        '(EGL and Mesa\'s software driver) and SwiftShader (the Vulkan loader and the driver Chromium ships). Install with:\n' +
        `    sudo ${cmd}\n` +
        '(on other distributions: EGL, Mesa, the Vulkan loader and Chromium). Set WGFLOW_SKIP_DOCTOR=1 to skip this check.');
      process.exit(1);
    }
  }
}
