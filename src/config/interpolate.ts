/** Environment interpolation lives in core (core/interpolate.ts): models read it too. Re-exported for config. */
export { interpolate, type InterpolationProblem } from '../core/interpolate.js';
