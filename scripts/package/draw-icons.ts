/**
 * Draws the Teams app icons once; the PNGs are committed under appPackage/. Run again only to change
 * the artwork: `npx tsx scripts/package/draw-icons.ts`.
 *
 * - color.png, 192x192: a white shield with a keyhole on a solid accent-colour square (Teams rounds the
 *   corners itself; the colour icon must be full colour, not transparent).
 * - outline.png, 32x32: the same shield as a white outline with a white keyhole on transparency
 *   (Teams requires white and transparent only; it tints the outline itself).
 *
 * Shapes are signed-distance-free point tests, supersampled 4x4 for smooth edges.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';

export const ACCENT = { r: 0x2b, g: 0x4c, b: 0xc4 };
const SUPERSAMPLE = 4;

/** Shield in unit coordinates: u in [-1, 1] across, v in [0, 1] down. */
function inShield(u: number, v: number, inset = 0): boolean {
  const top = 0.1 + inset;
  const shoulder = 0.5;
  const tip = 0.95 - inset * 1.6;
  const halfWidth = 0.74 - inset;
  const corner = 0.12;
  if (v < top || v > tip || Math.abs(u) > halfWidth) return false;
  // Rounded top corners.
  const cu = halfWidth - corner;
  const cv = top + corner;
  if (Math.abs(u) > cu && v < cv && (Math.abs(u) - cu) ** 2 + (v - cv) ** 2 > corner * corner) return false;
  if (v <= shoulder) return true;
  // Below the shoulder the sides curve in to a point: smooth at the shoulder, an angle at the tip.
  const t = (v - shoulder) / (tip - shoulder);
  return Math.abs(u) <= halfWidth * (1 - t ** 1.6);
}

/** A keyhole: a round head and a tapering slot under it. */
function inKeyhole(u: number, v: number, scale = 1): boolean {
  const cx = 0;
  const cy = 0.43;
  const r = 0.15 * scale;
  if ((u - cx) ** 2 + (v - cy) ** 2 <= r * r) return true;
  const slotTop = cy + r * 0.4;
  const slotBottom = cy + 0.3 * scale;
  if (v < slotTop || v > slotBottom) return false;
  const t = (v - slotTop) / (slotBottom - slotTop);
  return Math.abs(u - cx) <= (0.06 + 0.05 * t) * scale;
}

type Paint = (u: number, v: number) => { r: number; g: number; b: number; a: number };

function render(size: number, paint: Paint): PNG {
  const png = new PNG({ width: size, height: size });
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let sy = 0; sy < SUPERSAMPLE; sy++) {
        for (let sx = 0; sx < SUPERSAMPLE; sx++) {
          const u = ((x + (sx + 0.5) / SUPERSAMPLE) / size) * 2 - 1;
          const v = (y + (sy + 0.5) / SUPERSAMPLE) / size;
          const c = paint(u, v);
          // Premultiplied so edges blend towards the right colour, not towards black.
          r += c.r * c.a;
          g += c.g * c.a;
          b += c.b * c.a;
          a += c.a;
        }
      }
      const i = (y * size + x) * 4;
      const n = SUPERSAMPLE * SUPERSAMPLE;
      png.data[i] = a ? Math.round(r / a) : 0;
      png.data[i + 1] = a ? Math.round(g / a) : 0;
      png.data[i + 2] = a ? Math.round(b / a) : 0;
      png.data[i + 3] = Math.round((a / n) * 255);
    }
  }
  return png;
}

const WHITE = { r: 255, g: 255, b: 255, a: 1 };
const CLEAR = { r: 255, g: 255, b: 255, a: 0 };

export function drawColorIcon(size = 192): PNG {
  const background = { ...ACCENT, a: 1 };
  // The shield fills about 70% of the square, centred.
  return render(size, (u, v) => {
    const su = u / 0.72;
    const sv = (v - 0.5) / 0.72 + 0.5;
    return inShield(su, sv) && !inKeyhole(su, sv) ? WHITE : background;
  });
}

export function drawOutlineIcon(size = 32): PNG {
  // At 32 px a stroke of about 2 px: the shield minus a smaller shield, plus a solid keyhole.
  return render(size, (u, v) => {
    const su = u / 0.92;
    const sv = (v - 0.5) / 0.92 + 0.5;
    const ring = inShield(su, sv) && !inShield(su, sv, 0.085);
    return ring || inKeyhole(su, sv, 0.9) ? WHITE : CLEAR;
  });
}

if (require.main === module) {
  const dir = path.join(__dirname, '../../appPackage');
  writeFileSync(path.join(dir, 'color.png'), PNG.sync.write(drawColorIcon()));
  writeFileSync(path.join(dir, 'outline.png'), PNG.sync.write(drawOutlineIcon()));
  console.log(`Wrote ${path.join(dir, 'color.png')} (192x192) and ${path.join(dir, 'outline.png')} (32x32).`);
}
