// The layers, checked in CI (`npm run deps`): the core knows nothing of its
// front ends, and no module imports itself round a circle.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-knows-no-front-end',
      comment:
        'src/core is the engine: Slack, Ink and the front ends depend on it, never the reverse.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: ['^src/(bot|tui|cli|server|client)/', '^node_modules/(@slack/|ink|react|ink-)'] },
    },
    {
      name: 'front-ends-apart',
      comment: 'The bot, deploy-tui and the CLI meet only in the core.',
      severity: 'error',
      from: { path: '^src/(bot|tui)/' },
      to: { path: '^src/(cli)/' },
    },
    {
      name: 'no-circular',
      comment: 'A circle of imports hides which module owns what.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve would fail at run time.',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    parser: 'swc',
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types'],
    },
  },
};
