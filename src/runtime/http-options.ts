/** The `http:` schema lives in config (config/http-options.ts); re-exported for the runtime. */
export { httpSchema, type HttpOptions } from '../config/http-options.js';
