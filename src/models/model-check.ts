/**
 * Checks a loaded model against its manifest before anything runs, so a mismatch is a clear
 * start-up error ("expected 1000 classes, model outputs 91") rather than garbage results.
 */
import { VidflowError } from '../core/errors.js';
import type { LoadedManifest } from './manifest.js';
import type { ModelRunner } from './runner.js';

const RANK: Record<string, number> = { NCHW: 4, NHWC: 4, NCTHW: 5, CHW: 3 };

/** Expands `{i}` templates for fixed-batch exports. */
export function outputName(template: string, i: number): string {
  return template.replaceAll('{i}', String(i));
}

export function checkModelAgainstManifest(loaded: LoadedManifest, runner: ModelRunner, where: string): void {
  const { manifest, manifestPath } = loaded;
  const problems: string[] = [];
  const inputNames = runner.inputs.map((i) => i.name);
  for (const name of manifest.input.names) {
    if (!inputNames.includes(name))
      problems.push(`input \`${name}\` not in model (model inputs: ${inputNames.join(', ')})`);
  }
  const outNames = runner.outputs.map((o) => o.name);
  const batch = typeof manifest.input.batch === 'number' ? manifest.input.batch : 1;
  for (const [role, template] of Object.entries(manifest.outputs)) {
    const n = template.includes('{i}') ? batch : 1;
    for (let i = 0; i < n; i++) {
      const name = outputName(template, i);
      if (!outNames.includes(name))
        problems.push(`output \`${name}\` (role ${role}) not in model (model outputs: ${outNames.join(', ')})`);
    }
  }
  const first = runner.inputs.find((i) => i.name === manifest.input.names[0]);
  const shape = first?.shape;
  if (shape) {
    const rank = RANK[manifest.input.layout];
    if (rank !== undefined && shape.length !== rank)
      problems.push(
        `input \`${first!.name}\` has rank ${shape.length}, manifest layout ${manifest.input.layout} needs rank ` +
          `${rank}`,
      );
    else {
      const layout = manifest.input.layout;
      const dims: Record<string, number | string | null | undefined> =
        layout === 'NCHW'
          ? { N: shape[0], C: shape[1], H: shape[2], W: shape[3] }
          : layout === 'NHWC'
            ? { N: shape[0], H: shape[1], W: shape[2], C: shape[3] }
            : layout === 'NCTHW'
              ? { N: shape[0], C: shape[1], T: shape[2], H: shape[3], W: shape[4] }
              : { C: shape[0], H: shape[1], W: shape[2] };
      if (typeof dims.C === 'number' && dims.C !== 3)
        problems.push(`input \`${first!.name}\` has ${dims.C} channels, expected 3`);
      const target =
        manifest.input.crop ??
        (manifest.input.resize.mode === 'exact' || manifest.input.resize.mode === 'letterbox'
          ? manifest.input.resize
          : null);
      if (target) {
        if (typeof dims.H === 'number' && dims.H !== target.height)
          problems.push(`input height is ${dims.H} in the model, manifest gives ${target.height}`);
        if (typeof dims.W === 'number' && dims.W !== target.width)
          problems.push(`input width is ${dims.W} in the model, manifest gives ${target.width}`);
      }
      if (
        typeof dims.T === 'number' &&
        manifest.input.clip_length !== undefined &&
        dims.T !== manifest.input.clip_length
      )
        problems.push(`clip length is ${dims.T} in the model, manifest gives ${manifest.input.clip_length}`);
      if (typeof dims.N === 'number' && manifest.input.batch === 'dynamic' && dims.N !== 1)
        problems.push(`model has a fixed batch of ${dims.N}, manifest says dynamic`);
      if (typeof dims.N === 'number' && typeof manifest.input.batch === 'number' && dims.N !== manifest.input.batch)
        problems.push(`model batch is ${dims.N}, manifest gives ${manifest.input.batch}`);
    }
  }
  if (
    manifest.task === 'classification' ||
    manifest.task === 'video_classification' ||
    manifest.task === 'semantic_segmentation'
  ) {
    const role = manifest.task === 'semantic_segmentation' ? 'out' : 'logits';
    const outName = manifest.outputs[role];
    const out = runner.outputs.find((o) => o.name === outName);
    const classAxis =
      manifest.task === 'semantic_segmentation'
        ? manifest.decoder.output_layout === 'NHWC'
          ? 3
          : 1
        : (out?.shape?.length ?? 1) - 1;
    const classes = out?.shape ? out.shape[classAxis] : undefined;
    if (typeof classes === 'number' && classes !== manifest.labels.count)
      problems.push(`expected ${manifest.labels.count} classes (labels.count), model outputs ${classes}`);
  }
  if (problems.length > 0) {
    throw new VidflowError(
      'MODEL_MISMATCH',
      `${where}: model ${loaded.modelPath} does not match its manifest ${manifestPath}: ${problems.join('; ')}`,
      { where },
    );
  }
}
