#!/usr/bin/env node
// Renders wgflow's emblem, an original drawing: a ring around "W₂" (the Wasserstein-2
// distance), black on white, into assets/emblem.png. Pure geometry: each stroke is the
// signed distance to a circle, an arc or a segment, thickened and anti-aliased by pixel
// coverage, so the script needs nothing but pngjs.
//   node scripts/make-emblem.mjs [out.png] [size]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import pngjs from 'pngjs';

const out = process.argv[2] ?? 'assets/emblem.png';
const size = Number(process.argv[3] ?? 256);

/** Distance from p to segment ab. */
function segment(px, py, ax, ay, bx, by) {
  const dx = bx - ax, dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - ax - t * dx, py - ay - t * dy);
}

/** Distance from p to the arc of radius r about c from angle a0 to a1 (radians, counter-clockwise). */
function arc(px, py, cx, cy, r, a0, a1) {
  const ang = Math.atan2(py - cy, px - cx);
  const span = (((a1 - a0) % (2 * Math.PI)) + 2 * Math.PI) % (2 * Math.PI);
  const rel = (((ang - a0) % (2 * Math.PI)) + 2 * Math.PI) % (2 * Math.PI);
  if (rel <= span) return Math.abs(Math.hypot(px - cx, py - cy) - r);
  const e0 = Math.hypot(px - cx - r * Math.cos(a0), py - cy - r * Math.sin(a0));
  const e1 = Math.hypot(px - cx - r * Math.cos(a1), py - cy - r * Math.sin(a1));
  return Math.min(e0, e1);
}

/** Distance to a polyline through the points [[x, y], ...]. */
function polyline(px, py, pts) {
  let d = Infinity;
  for (let i = 0; i + 1 < pts.length; i++) {
    d = Math.min(d, segment(px, py, pts[i][0], pts[i][1], pts[i + 1][0], pts[i + 1][1]));
  }
  return d;
}

// Layout in math coordinates [-1, 1]^2, y up. The "W₂" group is shifted to sit centred.
const sx = 0.045;
const W = [[-0.6, 0.4], [-0.42, -0.36], [-0.22, 0.2], [-0.02, -0.36], [0.16, 0.4]].map(([x, y]) => [x + sx, y]);
const twoC = [0.405 + sx, -0.115]; // centre of the bowl of the subscript 2
const twoR = 0.105;
const twoA0 = -0.25 * Math.PI; // bowl runs from lower right ...
const twoA1 = 0.95 * Math.PI; // ... counter-clockwise over the top to the left
const twoStart = [twoC[0] + twoR * Math.cos(twoA0), twoC[1] + twoR * Math.sin(twoA0)];
const twoFoot = [0.29 + sx, -0.43];
const twoEnd = [0.53 + sx, -0.43];

/** Signed distance (negative inside ink) of the emblem at (x, y). */
function sdf(x, y) {
  const ring = Math.abs(Math.hypot(x, y) - 0.86) - 0.055;
  const w = polyline(x, y, W) - 0.066;
  const two =
    Math.min(
      arc(x, y, twoC[0], twoC[1], twoR, twoA0, twoA1),
      segment(x, y, twoStart[0], twoStart[1], twoFoot[0], twoFoot[1]),
      segment(x, y, twoFoot[0], twoFoot[1], twoEnd[0], twoEnd[1]),
    ) - 0.045;
  return Math.min(ring, w, two);
}

const png = new pngjs.PNG({ width: size, height: size });
const pix = 2 / size; // pixel size in math units
for (let j = 0; j < size; j++) {
  for (let i = 0; i < size; i++) {
    const x = -1 + (i + 0.5) * pix;
    const y = 1 - (j + 0.5) * pix; // image rows run down
    // Coverage of a pixel by the shape from the signed distance (a one-pixel-wide ramp).
    const cover = Math.max(0, Math.min(1, 0.5 - sdf(x, y) / pix));
    const v = Math.round(255 * (1 - cover));
    const o = 4 * (j * size + i);
    png.data[o] = png.data[o + 1] = png.data[o + 2] = v;
    png.data[o + 3] = 255;
  }
}
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, pngjs.PNG.sync.write(png));
console.log(`wrote ${out} (${size}×${size})`);
