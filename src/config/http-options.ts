/** The pipeline's `http:` field (the operators' endpoint, runtime/http-endpoint.ts); kept apart so loading a config
 * does not load prom-client. */
import { z } from 'zod';

export const httpSchema = z
  .object({
    host: z
      .string()
      .min(1)
      .default('127.0.0.1')
      .describe('Interface to listen on. Default `127.0.0.1` (this machine only); `0.0.0.0` for all (containers).'),
    port: z.number().int().min(0).max(65535).describe('TCP port (0: any free port; the bound URL is logged).'),
  })
  .strict();

export type HttpOptions = z.infer<typeof httpSchema>;
