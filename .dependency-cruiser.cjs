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
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
