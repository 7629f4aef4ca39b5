/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] },
  testMatch: ['<rootDir>/{bot,cards,services,sim,test}/**/*.test.ts'],
  moduleNameMapper: {
    '^adaptivecards$': '<rootDir>/node_modules/adaptivecards/dist/adaptivecards.js',
    // @microsoft/app-manifest (the Teams manifest schema check) requires strip-bom 5, an ES module.
    '^strip-bom$': '<rootDir>/test/support/strip-bom.cjs',
  },
  testTimeout: 60000,
  // The PIM tab's page (dist/tab), built once per run: the bot's /tab/ route and the browser tests serve it.
  globalSetup: '<rootDir>/test/support/tab-build-setup.ts',
  // `npm run test:postgres`: drops the per-test PostgreSQL schemas afterwards (no-op on SQLite).
  globalTeardown: '<rootDir>/test/support/pg-teardown.ts',
};
