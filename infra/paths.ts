import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: infra/ sits right under it. */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
