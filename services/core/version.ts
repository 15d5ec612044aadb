import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** App version from package.json (read once) and the git revision the build was made from. */
export function appVersion(): { version: string; gitRevision: string } {
  let version = 'unknown';
  try {
    version = (JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { version?: string }).version ?? version;
  } catch {
    // Running outside the project root: the version stays "unknown" rather than failing start-up.
  }
  return { version, gitRevision: process.env.GIT_REVISION?.trim() || 'unknown' };
}
