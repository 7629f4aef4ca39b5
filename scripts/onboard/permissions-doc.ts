/** Writes docs/permissions.md from services/onboarding/permissions.ts (a test fails when it is stale). */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderPermissionsMarkdown } from '../../services/onboarding/permissions';

const file = path.resolve(__dirname, '../../docs/permissions.md');
writeFileSync(file, renderPermissionsMarkdown());
process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
