/**
 * wgflow for Node: everything of the browser-safe entry point (`wgflow`) plus what reads or
 * writes files: image decoding (PNG, JPEG) and image targets from a path, PNG/SVG/CSV output,
 * and the `picture` preset with its shipped emblem.
 *
 * @example
 * import { getDevice, createFlow, samplesFromImageFile, klToSamples } from 'wgflow/node';
 * const targets = await samplesFromImageFile('logo.png', { count: 20000 });
 */
export * from './index.js';
export { decodeImage, loadImage, samplesFromImageFile, sniffImageFormat, encodePng, writePng, type RgbaImage, type ImageFormat } from './io/image.js';
// The applications' output helpers and the picture preset (app/, which imports only the public API).
export { lineChartSvg, scatterPng, writeCsv } from '../app/plot.js';
export { picturePreset, pictureCommand, pictureSamples, emblemPath, PICTURE_N, PICTURE_M, PICTURE_STEPS, PICTURE_SNAPSHOTS } from '../app/emblem.js';
