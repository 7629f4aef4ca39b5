/**
 * The layering rules of shared/DESIGN.md, checked by `npm run lint` (dependency-cruiser reads the imports;
 * type-only imports count: a type is a dependency too).
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle ties modules that should stand alone; the simulator (sim/) is exempt.',
      from: { pathNot: '^sim/' },
      to: { circular: true },
    },
    {
      name: 'services-not-to-bot-or-cards',
      severity: 'error',
      comment: 'services/ holds the flows and never imports the Teams/HTTP adapters (bot/) or card templates (cards/): renderers are injected.',
      from: { path: '^services/' },
      to: { path: '^(bot|cards)/' },
    },
    {
      name: 'cards-not-to-bot',
      severity: 'error',
      comment: 'Card templates render data; they do not reach into the adapters.',
      from: { path: '^cards/' },
      to: { path: '^bot/' },
    },
    {
      name: 'tab-web-browser-only',
      severity: 'error',
      comment:
        "bot/tab/web is the tab's browser code (bundled by scripts/build-tab.ts): it imports only itself and browser packages, never Node's modules or the server's code.",
      from: { path: '^bot/tab/web/' },
      to: { pathNot: '^(bot/tab/web/|node_modules/)' },
    },
    {
      name: 'tab-web-no-node-core',
      severity: 'error',
      comment: 'The tab runs in a browser: no Node core modules.',
      from: { path: '^bot/tab/web/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'server-not-to-tab-web',
      severity: 'error',
      comment: "The server and its tests never import the tab's browser modules (they need a DOM); the build takes them by path.",
      from: { pathNot: '^bot/tab/web/' },
      to: { path: '^bot/tab/web/' },
    },
    {
      name: 'production-not-to-tests',
      severity: 'error',
      comment: 'Production code never imports test support or test files.',
      from: { path: '^(bot|services|cards)/', pathNot: '\\.test\\.ts$' },
      to: { path: '(^test/|\\.test\\.ts$|test-support)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^node_modules|^dist|^\\.local)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Package `exports` with their conditions: the tab's browser packages (bot/tab/web) are reached by subpath exports.
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'], exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
