/** The source components, listed explicitly. */
import type { SourceSpec } from '../core/component.js';
import { fileSourceSpec } from './file-source.js';
import { cameraSourceSpec } from './camera-source.js';
import { imagesSourceSpec } from './images-source.js';

export const sourceSpecs: readonly SourceSpec[] = [fileSourceSpec, cameraSourceSpec, imagesSourceSpec];
