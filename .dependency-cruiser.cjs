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
      name: 'tables-only-in-the-store',
      comment:
        'SQL, tables and the driver belong to the store modules: the lifecycle, the engine, the core API, the views and the shared text read and write through them (engine steps store plans and artifacts through store/plans.ts).',
      severity: 'error',
      from: { path: '^src/core/(api|engine|executors|lifecycle|text|views)/' },
      to: {
        path: [
          '^src/core/store/(orm|schema|rows|prepared)\\.ts$',
          '^node_modules/(drizzle-orm|postgres)/',
        ],
      },
    },
    {
      name: 'views-move-nothing',
      comment:
        "A view reads runs and masks them; moving a run is store/transition.ts's job, and its jobs are the queue's.",
      severity: 'error',
      from: { path: '^src/core/views/' },
      to: { path: ['^src/core/store/transition\\.ts$', '^src/core/(queue|engine|executors)/'] },
    },
    {
      name: 'lifecycle-is-data',
      comment:
        'The lifecycle (statuses, transition effects, decisions, policy, recovery) is data and pure decisions: no database, queue, engine or process.',
      severity: 'error',
      from: { path: '^src/core/lifecycle/' },
      to: {
        path: [
          '^src/core/(store|queue|engine|executors|metrics|views)/',
          '^src/core/api/(?!types\\.ts$)',
          '^node_modules/(drizzle-orm|postgres|pg-boss)/',
        ],
      },
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
