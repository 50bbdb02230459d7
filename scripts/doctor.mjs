#!/usr/bin/env node
// Checks (and where it can, installs) what `npm start` and `npm test` need:
//  - node_modules (runs `npm ci`, or `npm install` without a lockfile);
//  - on Linux, the Vulkan loader (libvulkan1) and the SwiftShader fallback driver that Debian's
//    `chromium` package ships. As root with apt-get it installs them; otherwise it prints the
//    exact command and exits 1.
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
  const hasLoader = libdirs.some((d) => existsSync(join(d, 'libvulkan.so.1')));
  const icds = ['/usr/lib/chromium/vk_swiftshader_icd.json', '/usr/lib/chromium-browser/vk_swiftshader_icd.json'];
  const hasSwiftShader = icds.some((p) => existsSync(p));
  const missing = [];
  if (!hasLoader) missing.push('libvulkan1');
  if (!hasSwiftShader) missing.push('chromium');
  if (missing.length) {
    const cmd = `apt-get install -y ${missing.join(' ')}`;
    const isRoot = process.getuid?.() === 0;
    const hasApt = existsSync('/usr/bin/apt-get');
    if (isRoot && hasApt) {
      console.log(`[wgflow] installing ${missing.join(', ')} (Vulkan loader / SwiftShader fallback): ${cmd}`);
      sh('apt-get update -qq');
      sh(`DEBIAN_FRONTEND=noninteractive ${cmd} -qq`);
    } else {
      console.error(`[wgflow] missing ${missing.join(' and ')}: WebGPU in Node (Dawn) needs the Vulkan loader, and without a GPU the\n` +
        `SwiftShader driver that Chromium ships. Install with:\n    sudo ${cmd}\n` +
        '(on other distributions: the Vulkan loader package and Chromium). Set WGFLOW_SKIP_DOCTOR=1 to skip this check.');
      process.exit(1);
    }
  }
}
