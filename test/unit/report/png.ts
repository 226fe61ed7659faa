/**
 * Just enough PNG for the browser test to look at a screenshot's pixels with node:zlib alone:
 * 8-bit RGB or RGBA, not interlaced (what Chromium and Firefox write). The encoder is only here
 * to test the decoder.
 */
import { deflateSync, inflateSync } from 'node:zlib';

export interface Image {
  width: number;
  height: number;
  /** 4 bytes per pixel, row after row. */
  rgba: Uint8Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function paeth(left: number, up: number, upLeft: number): number {
  const p = left + up - upLeft;
  const [pa, pb, pc] = [Math.abs(p - left), Math.abs(p - up), Math.abs(p - upLeft)];
  return pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
}

/** The value a filter predicts for byte i of a row, from the pixel to its left (bpp bytes back) and the row above. */
function predict(filter: number, row: Uint8Array, above: Uint8Array, i: number, bpp: number): number {
  const left = i >= bpp ? (row[i - bpp] as number) : 0;
  const up = above[i] as number;
  const upLeft = i >= bpp ? (above[i - bpp] as number) : 0;
  switch (filter) {
    case 0: return 0;
    case 1: return left;
    case 2: return up;
    case 3: return (left + up) >> 1;
    case 4: return paeth(left, up, upLeft);
    default: throw new Error(`PNG filter type ${filter} does not exist`);
  }
}

export function decodePng(file: Buffer): Image {
  if (!file.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG file');
  let offset = 8;
  let header: { width: number; height: number; depth: number; colorType: number; interlace: number } | undefined;
  const data: Buffer[] = [];
  while (offset < file.length) {
    const length = file.readUInt32BE(offset);
    const type = file.toString('latin1', offset + 4, offset + 8);
    const body = file.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') header = { width: body.readUInt32BE(0), height: body.readUInt32BE(4), depth: body[8] as number, colorType: body[9] as number, interlace: body[12] as number };
    if (type === 'IDAT') data.push(body);
    if (type === 'IEND') break;
    offset += 12 + length;
  }
  if (!header) throw new Error('PNG without IHDR');
  const { width, height, depth, colorType, interlace } = header;
  if (depth !== 8 || (colorType !== 2 && colorType !== 6) || interlace !== 0) throw new Error(`unsupported PNG: depth ${depth}, color type ${colorType}, interlace ${interlace}`);
  const bpp = colorType === 6 ? 4 : 3;
  const stride = width * bpp;
  const raw = inflateSync(Buffer.concat(data));
  const rgba = new Uint8Array(width * height * 4);
  let above = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const start = y * (stride + 1);
    const filter = raw[start] as number;
    const row = new Uint8Array(stride);
    for (let i = 0; i < stride; i++) row[i] = ((raw[start + 1 + i] as number) + predict(filter, row, above, i, bpp)) & 0xff;
    for (let x = 0; x < width; x++) {
      rgba.set(row.subarray(x * bpp, x * bpp + 3), (y * width + x) * 4);
      rgba[(y * width + x) * 4 + 3] = bpp === 4 ? (row[x * bpp + 3] as number) : 255;
    }
    above = row;
  }
  return { width, height, rgba };
}

function chunk(type: string, body: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, Buffer.from(type, 'latin1'), body, Buffer.alloc(4)]); // the decoder does not check CRCs
}

/** An RGBA (or, with `channels` 3, RGB) PNG whose row y uses filter type `filterOf(y)`. */
export function encodePng(image: Image, filterOf: (y: number) => number, channels: 3 | 4 = 4): Buffer {
  const { width, height, rgba } = image;
  const stride = width * channels;
  const raw = Buffer.alloc(height * (stride + 1));
  let above = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const row = new Uint8Array(stride);
    for (let x = 0; x < width; x++) row.set(rgba.subarray((y * width + x) * 4, (y * width + x) * 4 + channels), x * channels);
    const filter = filterOf(y);
    raw[y * (stride + 1)] = filter;
    for (let i = 0; i < stride; i++) raw[y * (stride + 1) + 1 + i] = ((row[i] as number) - predict(filter, row, above, i, channels)) & 0xff;
    above = row;
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = channels === 4 ? 6 : 2;
  return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** How many pixels are within `tolerance` of `hex` in each channel. */
export function pixelsNear(image: Image, hex: string, tolerance = 12): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
  let n = 0;
  for (let i = 0; i < image.rgba.length; i += 4) {
    if (Math.abs((image.rgba[i] as number) - r) <= tolerance && Math.abs((image.rgba[i + 1] as number) - g) <= tolerance && Math.abs((image.rgba[i + 2] as number) - b) <= tolerance) n++;
  }
  return n;
}
