/** The browser test reads its screenshot with test/unit/report/png.ts: that decoder must be right even where no browser runs it. */
import { describe, expect, it } from 'vitest';
import { decodePng, encodePng, pixelsNear, type Image } from './png.js';

/** A 7×10 image of varied pixels (a gradient with noise), so every filter predicts something different. */
function sample(): Image {
  const width = 7;
  const height = 10;
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < rgba.length; i++) rgba[i] = (i * 37 + ((i * i) % 11) * 13) & 0xff;
  return { width, height, rgba };
}

/**
 * A 24×12 PNG written by cairo (libpng chose filters Sub and Paeth), not by this file's encoder:
 * pixel (x, y) is (10x, 20y, 7xy + 3(x xor y)) mod 256.
 */
const CAIRO_PNG =
  'iVBORw0KGgoAAAANSUhEUgAAABgAAAAMCAIAAAD3UuoiAAAABmJLR0QA/wD/AP+gvaeTAAAA90lEQVQokaXQPU4CURTF8Z8BQ6INEAoaMljQEKCgoZgxNhbMdFTExsJENzBswMJa7dXWVbgCV+BeLCzGR17ko5Dk5Ob/zk1uzjtHOFE7XHWdGnWaB87qUJNjWvRo/Y/XiVq0SWgHDXdwudVfJ+qR0KBDQsIsQMJFxLHfIOGZ5E+iDn1G9Ekjjv1LVpt+3FH1tRFnjFkwDlzNq23+S8WbHfUZMyFlErSM+JpV9PxV3NGQGSkLUk7pMmBKGqmM+D3A955EXTJyMuZk3JJRsgrOnE9eyXZ1NGFAzjk5y4gfIn4k54u3PYmmIVHBkoKCO0o+uKfghqdq9QOD/C8qe+5Q2AAAAABJRU5ErkJggg==';

describe('decodePng', () => {
  it('reads a PNG another encoder wrote', () => {
    const image = decodePng(Buffer.from(CAIRO_PNG, 'base64'));
    expect([image.width, image.height]).toEqual([24, 12]);
    for (let y = 0; y < 12; y++) {
      for (let x = 0; x < 24; x++) {
        const at = (y * 24 + x) * 4;
        expect([...image.rgba.subarray(at, at + 4)], `pixel ${x},${y}`).toEqual([(x * 10) % 256, (y * 20) % 256, (x * y * 7 + (x ^ y) * 3) % 256, 255]);
      }
    }
  });

  it('reads back every filter type, for RGBA and RGB', () => {
    const image = sample();
    // Rows cycle through filter types 0 to 4, twice.
    expect(decodePng(encodePng(image, (y) => y % 5))).toEqual(image);
    const opaque = { ...image, rgba: image.rgba.map((v, i) => (i % 4 === 3 ? 255 : v)) };
    expect(decodePng(encodePng(opaque, (y) => (y * 3) % 5, 3))).toEqual(opaque);
  });

  it('counts pixels near a colour and refuses what is not a PNG', () => {
    const rgba = new Uint8Array(4 * 4 * 4);
    for (let i = 0; i < 16; i++) rgba.set(i < 5 ? [0x2e, 0x7d, 0x32, 255] : i < 7 ? [0x30, 0x80, 0x30, 255] : [255, 255, 255, 255], i * 4);
    const image = decodePng(encodePng({ width: 4, height: 4, rgba }, () => 1));
    expect(pixelsNear(image, '#2e7d32', 0)).toBe(5);
    expect(pixelsNear(image, '#2e7d32', 4)).toBe(7);
    expect(() => decodePng(Buffer.from('<!doctype html>'))).toThrow('not a PNG file');
  });
});
