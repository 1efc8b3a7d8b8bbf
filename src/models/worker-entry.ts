/**
 * The URL a worker thread starts from: the compiled `<name>.js` next to the calling module in
 * dist/, or, when the caller runs from src/ under tsx (tests, `node --import tsx`), a tiny
 * bootstrap that registers tsx inside the thread first (Node 20 does not pass tsx's hooks on to
 * worker threads) and then imports `<name>.ts`.
 */
export function workerEntryUrl(callerUrl: string, name: string): URL {
  const here = new URL(callerUrl);
  if (!here.pathname.endsWith('.ts')) return new URL(`./${name}.js`, here);
  const target = new URL(`./${name}.ts`, here).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(target)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}
