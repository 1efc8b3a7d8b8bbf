/** The stage components, listed explicitly. */
import type { StageSpec } from '../core/component.js';
import { classifySpec } from './classify.js';
import { classifyClipSpec } from './classify-clip.js';
import { detectSpec } from './detect.js';
import { detectKeypointsSpec } from './detect-keypoints.js';
import { segmentSpec } from './segment.js';
import { segmentInstancesSpec } from './segment-instances.js';
import { trackSpec } from './track.js';

export const stageSpecs: readonly StageSpec[] = [
  classifySpec,
  detectSpec,
  segmentInstancesSpec,
  detectKeypointsSpec,
  segmentSpec,
  classifyClipSpec,
  trackSpec,
];
