/**
 * WGSL composition. Shaders live in shaders/*.wgsl and ship as string constants
 * (src/shaders.gen.ts); a module is common.wgsl followed by the pieces it needs. A .wgsl file
 * may mark where its library part (constants, structs, helpers that other modules include)
 * ends and its kernels begin with {@link WGSL_KERNELS_MARKER}.
 */

/** Marks the end of the library part of a .wgsl file (what other modules may include). */
export const WGSL_KERNELS_MARKER = '// ==== kernels ====';

/** The part of a .wgsl file above {@link WGSL_KERNELS_MARKER}: constants, structs and helpers only. */
export function wgslLibrary(text: string): string {
  const at = text.search(/^\/\/ ==== kernels ====$/m);
  if (at < 0) throw new Error('wgflow: wgslLibrary: internal error: the WGSL library marker is missing');
  return text.slice(0, at);
}

/** Joins WGSL pieces into one module text, in order (each piece ends with a newline). */
export function composeWgsl(...pieces: string[]): string {
  return pieces.map((p) => (p.endsWith('\n') ? p : p + '\n')).join('');
}
