// The one progress display of the `wgflow` command (app/progress.ts): plain lines on a stream
// that is not a terminal, a bar redrawn in place on one that is.
import { describe, expect, it } from 'vitest';
import { createProgress, type ProgressStream } from '../app/progress.js';

function sink(tty: boolean, columns?: number): ProgressStream & { chunks: string[] } {
  const chunks: string[] = [];
  return { chunks, isTTY: tty, columns, write: (c: string) => chunks.push(c) };
}

describe('progress on a stream that is not a TTY', () => {
  it('prints whole lines at the start, at every tenth of the total and at the end of each task', () => {
    const out = sink(false);
    const progress = createProgress({ stream: out });
    for (let s = 0; s <= 100; s++) progress.update('gradient', s, 100, `energy ${(1 / (s + 1)).toFixed(3)}`);
    for (let s = 0; s <= 30; s += 3) progress.update('steering', s, 30);
    progress.end();
    const text = out.chunks.join('');
    expect(text).not.toContain('\r');
    expect(text).not.toContain('\x1b');
    for (const c of out.chunks) expect(c.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n');
    const gradient = lines.filter((l) => l.includes('gradient'));
    expect(gradient.map((l) => /step +(\d+)\/100/.exec(l)![1])).toEqual(['0', '10', '20', '30', '40', '50', '60', '70', '80', '90', '100']);
    expect(gradient[0]).toBe('[wgflow] gradient     step   0/100  energy 1.000');
    expect(gradient.at(-1)).toBe('[wgflow] gradient     step 100/100  energy 0.010');
    expect(lines.filter((l) => l.includes('steering'))).toHaveLength(11);
    expect(lines).toHaveLength(22);
  });

  it('prints the start and the end of a task that updates rarely, and restarts a task whose total grows', () => {
    const out = sink(false);
    const progress = createProgress({ stream: out, prefix: '>', labelWidth: 4 });
    progress.update('fire', 0, 2000);
    progress.update('fire', 2000, 2000);
    progress.update('fire', 2000, 2000); // repeated: no new line
    progress.update('fire', 2500, 3000); // extended run
    progress.update('fire', 3000, 3000);
    expect(out.chunks).toEqual(['> fire step    0/2000\n', '> fire step 2000/2000\n', '> fire step 2500/3000\n', '> fire step 3000/3000\n']);
  });
});

describe('progress on a TTY', () => {
  it('redraws one bar line in place, at most every intervalMs, and ends it with a newline', () => {
    const out = sink(true, 60);
    let t = 0;
    const progress = createProgress({ stream: out, barWidth: 10, intervalMs: 250, now: () => t });
    progress.update('accelerated', 0, 10, 'energy 1');
    t = 100;
    progress.update('accelerated', 5, 10, 'energy 0.5'); // within 250 ms: skipped
    t = 300;
    progress.update('accelerated', 5, 10, 'energy 0.5');
    t = 310;
    progress.update('accelerated', 10, 10, 'energy 0.1'); // the end is always drawn
    expect(out.chunks).toHaveLength(3);
    for (const c of out.chunks) expect(c.startsWith('\r')).toBe(true);
    expect(out.chunks[0]).toBe('\r[wgflow] accelerated  [..........]  0/10  energy 1\x1b[K');
    expect(out.chunks[1]).toContain('[#####.....]  5/10');
    expect(out.chunks[2]).toContain('[##########] 10/10');
    expect(out.chunks[2]!.endsWith('\x1b[K\n')).toBe(true);
    // Lines are cut to the terminal width so that \r redraws never wrap.
    for (const c of out.chunks) expect(c.replace(/^\r/, '').replace(/\x1b\[K\n?$/, '').length).toBeLessThanOrEqual(59);
  });

  it('closes an unfinished bar before the next task and on end()', () => {
    const out = sink(true);
    const progress = createProgress({ stream: out, now: () => 0 });
    progress.update('a', 3, 10);
    progress.update('b', 1, 10);
    progress.end();
    expect(out.chunks.filter((c) => c === '\n')).toHaveLength(2);
  });
});

describe('progress with the rate and the time left', () => {
  it('appends steps/s and the time left from the first progress on, not counting the start-up', () => {
    const out = sink(false);
    let t = 0;
    const progress = createProgress({ stream: out, rate: true, lines: 4, now: () => t });
    progress.update('fire', 0, 400, 'energy 1');
    t = 5000; // start-up (pipelines): not counted
    progress.update('fire', 100, 400, 'energy 0.5');
    t = 6000;
    progress.update('fire', 200, 400, 'energy 0.25');
    t = 7000;
    progress.update('fire', 400, 400, 'energy 0.1');
    expect(out.chunks).toEqual([
      '[wgflow] fire         step   0/400  energy 1\n',
      '[wgflow] fire         step 100/400  energy 0.5\n',
      '[wgflow] fire         step 200/400  energy 0.25  100 steps/s  left 2s\n',
      '[wgflow] fire         step 400/400  energy 0.1  150 steps/s  left 0s\n',
    ]);
  });

  it('formats durations as seconds, minutes or hours', async () => {
    const { formatDuration } = await import('../app/progress.js');
    expect([formatDuration(4.4), formatDuration(65), formatDuration(3 * 3600 + 7 * 60 + 20), formatDuration(NaN)]).toEqual(['4s', '1m05s', '3h07m', '?']);
  });
});
