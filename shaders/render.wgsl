// The particle renderer (src/render/particles.ts): draws a flow's positions, bound as a vertex
// buffer (float32 × dim, one element per particle), into the caller's render pass.
// Quads: instanced, six vertices per particle, a round soft sprite of `radius` clip units
// (constant on screen: the offset is scaled by clip w). Points: one vertex per particle.

struct RenderView {
  view: mat4x4f,     // world (x, y, z, 1) -> clip
  colour: vec4f,     // particles [0, split), straight alpha
  colour2: vec4f,    // particles [split, n)
  radius: vec2f,     // sprite half-size in clip units (x, y)
  split: u32,
  pad: u32,
}
@group(0) @binding(0) var<uniform> rv: RenderView;

struct VOut {
  @builtin(position) pos: vec4f,
  @location(0) uv: vec2f,
  @location(1) colour: vec4f,
}

fn world(x: vec4f) -> vec4f {
  // Missing components of a float32 / float32x2 attribute read as 0 (w as 1).
  return rv.view * vec4f(x.xyz, 1.0);
}

fn colourOf(i: u32) -> vec4f {
  return select(rv.colour2, rv.colour, i < rv.split);
}

@vertex
fn vs_quad(@builtin(vertex_index) vi: u32, @builtin(instance_index) ii: u32, @location(0) x: vec4f) -> VOut {
  var corners = array<vec2f, 6>(vec2f(-1, -1), vec2f(1, -1), vec2f(-1, 1), vec2f(-1, 1), vec2f(1, -1), vec2f(1, 1));
  let c = corners[vi];
  let p = world(x);
  var out: VOut;
  out.pos = vec4f(p.xy + c * rv.radius * p.w, p.z, p.w);
  out.uv = c;
  out.colour = colourOf(ii);
  return out;
}

@vertex
fn vs_point(@builtin(vertex_index) vi: u32, @location(0) x: vec4f) -> VOut {
  var out: VOut;
  out.pos = world(x);
  out.uv = vec2f(0.0);
  out.colour = colourOf(vi);
  return out;
}

@fragment
fn fs_quad(in: VOut) -> @location(0) vec4f {
  let r = length(in.uv);
  if (r > 1.0) { discard; }
  let a = in.colour.a * (1.0 - smoothstep(0.55, 1.0, r));
  return vec4f(in.colour.rgb * a, a);  // premultiplied
}

@fragment
fn fs_point(in: VOut) -> @location(0) vec4f {
  return vec4f(in.colour.rgb * in.colour.a, in.colour.a);
}
