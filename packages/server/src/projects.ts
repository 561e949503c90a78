import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

export interface Project {
  apiKey: string;
  apiSecret: string;
}

const projectSchema = z.object({
  apiKey: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9_\-.~]+$/),
  apiSecret: z.string().min(16),
});
export const projectsSchema = z.array(projectSchema).min(1);

/** The projects (API key + secret) a server accepts. */
export class Projects {
  private readonly byKey: Map<string, string>;
  constructor(readonly list: readonly Project[]) {
    this.byKey = new Map(list.map((p) => [p.apiKey, p.apiSecret]));
  }
  secretFor(apiKey: string): string | undefined {
    return this.byKey.get(apiKey);
  }
}

/**
 * The development project, used when none is configured. It is kept in the data
 * directory so its key, secret, tokens and session ids stay valid across restarts.
 */
export function loadOrCreateDevProject(dataDir: string): { project: Project; created: boolean } {
  const file = join(dataDir, 'dev-project.json');
  try {
    return { project: projectSchema.parse(JSON.parse(readFileSync(file, 'utf8'))), created: false };
  } catch {
    const project = {
      apiKey: `dev-${randomBytes(4).toString('hex')}`,
      apiSecret: randomBytes(24).toString('base64url'),
    };
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, JSON.stringify(project, null, 2) + '\n', { mode: 0o600 });
    return { project, created: true };
  }
}
