/**
 * Hardware-accelerated decoding for `file` and `camera` sources: ffmpeg's `-hwaccel`. Frames are
 * decoded on the GPU / media engine and copied back to system memory, where the rest of the
 * decode graph (fps sampling, `decode_size` scaling, conversion to RGB) runs as without it, so the
 * frames vidflow receives have the same size and layout either way.
 *
 * - `none` (default): software decoding.
 * - `auto`: ffmpeg picks the first method that works on this machine and falls back to software
 *   decoding when none does (its failed device probes are logged at debug, not errors).
 * - `cuda` (NVIDIA NVDEC), `vaapi` (Intel / AMD on Linux; Intel Quick Sync is reached this way),
 *   `vdpau`: that method or an error: a source that cannot use it fails at start with ffmpeg's
 *   reason, naming the source.
 * `hwaccel_device` picks the device: a GPU index for `cuda` ("0"), a DRM render node for `vaapi`
 * (`/dev/dri/renderD128`).
 */
import { z } from 'zod';

export const HWACCEL_METHODS = ['none', 'auto', 'cuda', 'vaapi', 'vdpau'] as const;
export type Hwaccel = (typeof HWACCEL_METHODS)[number];

export const hwaccelFields = {
  hwaccel: z
    .enum(HWACCEL_METHODS)
    .default('none')
    .describe(
      'Hardware-accelerated decoding (ffmpeg `-hwaccel`): `none` (software), `auto` (the first method that works, ' +
        'else software), `cuda` (NVDEC), `vaapi` (Intel/AMD, Quick Sync), `vdpau`. Frames come out the same size ' +
        'and layout; an explicit method that is not available fails the source at start.',
    ),
  hwaccel_device: z
    .string()
    .min(1)
    .nullable()
    .default(null)
    .describe('Device for `hwaccel`: GPU index for `cuda` ("0"), DRM render node for `vaapi` (/dev/dri/renderD128).'),
};

export interface HwaccelOptions {
  hwaccel: Hwaccel;
  hwaccel_device: string | null;
}

/** ffmpeg input options for `h` (none: no options). */
export function hwaccelInputOptions(h: HwaccelOptions | null | undefined): string[] {
  if (!h || h.hwaccel === 'none') return [];
  return ['-hwaccel', h.hwaccel, ...(h.hwaccel_device ? ['-hwaccel_device', h.hwaccel_device] : [])];
}

/**
 * ffmpeg's messages while `-hwaccel auto` tries a method this machine lacks (it then tries the
 * next one, and falls back to software decoding).
 */
const AUTO_PROBE_RE = [
  /Device creation failed/,
  /Cannot load lib\S+/,
  /Could not dynamically load/,
  /Failed to (?:initialise|open|create) (?:VAAPI|VDPAU|a VDPAU|the VDPAU)/i,
  /No VA display found/,
  /AVHWDeviceContext/,
];

export function isHwaccelProbeMessage(line: string): boolean {
  return AUTO_PROBE_RE.some((re) => re.test(line));
}
