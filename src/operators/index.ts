/** The stage components, listed explicitly. */
import type { StageSpec } from '../core/component.js';
import { classifySpec } from './classify.js';

export const stageSpecs: readonly StageSpec[] = [classifySpec];
