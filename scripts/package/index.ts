/**
 * npm run package: builds the Teams app package (appPackage/build/pim-approvals-<version>.zip) from the
 * same variables the bot runs with (BOT_APP_ID, PUBLIC_BASE_URL, TEAMS_APP_MANIFEST_ID) plus the
 * listing details (TEAMS_APP_*). Exits 1 with what to fix when a variable is missing or wrong or the
 * package does not validate.
 */
import path from 'node:path';
import { buildAppPackage, PackageInvalidError } from './app-package';
import { loadPackageSettings, PackageConfigError } from './package-config';

async function main(): Promise<number> {
  try {
    const settings = loadPackageSettings(process.env);
    const { zipPath } = await buildAppPackage(settings);
    const rel = path.relative(process.cwd(), zipPath);
    console.log(`Wrote ${rel}: Teams app ${settings.manifestId} version ${settings.version}, bot ${settings.botAppId}, domain ${settings.botDomain}.`);
    if (settings.manifestIdDerived) {
      console.log(`TEAMS_APP_MANIFEST_ID was not set; the manifest id ${settings.manifestId} is derived from BOT_APP_ID and stays the same for every build.`);
      console.log(`Set TEAMS_APP_MANIFEST_ID=${settings.manifestId} in the bot's configuration so it can install the app for users (digests).`);
    }
    console.log('Upload it in the Teams admin center (Teams apps > Manage apps > Upload new app) to publish it to your org catalog.');
    return 0;
  } catch (err) {
    if (err instanceof PackageConfigError || err instanceof PackageInvalidError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
