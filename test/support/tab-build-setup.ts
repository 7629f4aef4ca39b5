import { buildTab } from '../../scripts/build-tab';

/**
 * jest globalSetup: the PIM tab's production bundle in dist/tab (about a second), so the bot's /tab/ route
 * serves the page in every test run, `npx jest <path>` included, without a separate build step.
 */
export default async function buildTabForTests(): Promise<void> {
  await buildTab({ minify: true });
}
