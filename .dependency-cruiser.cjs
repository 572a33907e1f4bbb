// The layers, checked in CI (`npm run deps`): the core knows nothing of its
// front ends, front ends know the core only through its port, and no module
// imports itself round a circle.

/**
 * What a front end may import of the core: the port and the shapes it speaks
 * in. Everything else of src/core (the store, the queue, the engine, the
 * executors, auth, the config loader) stays behind the port.
 */
const PORT_MODULES = [
  // the port (DeployPort, the bot's LocalCore view, their types) and its HTTP client
  '^src/core/api/(port|types|http-client)[.]ts$',
  // refusals and errors
  '^src/core/errors[.]ts$',
  // the statuses, the decisions a status offers, the policy's pure checks, status filters
  '^src/core/lifecycle/(statuses|decisions|policy|status-filter)[.]ts$',
  // text every front end shows alike (plan counts, the system actor)
  '^src/core/text/',
  // a lock's target as people type it (a deployment, env:NAME, all)
  '^src/core/policy/lock-target[.]ts$',
  // typed `key=value` input: parsing, validation, where a value came from
  '^src/core/variables/(args|validate|sources)[.]ts$',
  // the config's shapes (a deployment's variables) and durations as people write them
  '^src/core/config/(schema|duration)[.]ts$',
  // the process's log and metric instruments
  '^src/core/logs/logger[.]ts$',
  '^src/core/metrics/instruments[.]ts$',
];

/**
 * The composition roots: the few modules that open a core in this process and
 * build the local port from it (and serve, the processes that own the embedded
 * PostgreSQL and the API server).
 */
const COMPOSITION_ROOTS = [
  // the CLI in local mode, serve/worker (and its metrics port), and the
  // administrator's commands that need the database or the config file
  // (token create, prune, policy check/test)
  '^src/cli/(main|serve|metrics-port|account|prune|policy)[.]ts$',
  // deploy-tui in local mode
  '^src/tui/main[.]ts$',
  // the bot's port over the core, and the start of the bot beside the API server
  '^src/bot/(local-port|start)[.]ts$',
];

const FRONT_ENDS = '^src/(bot|tui|cli|client)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'front-ends-use-the-port',
      comment:
        'A front end (the bot, deploy-tui, the CLI, the remote client) depends on the core port, not on the core inside (see PORT_MODULES); only the composition roots open a core.',
      severity: 'error',
      from: { path: FRONT_ENDS, pathNot: COMPOSITION_ROOTS },
      to: { path: ['^src/core/', '^src/server/'], pathNot: PORT_MODULES },
    },
    {
      name: 'front-ends-no-database',
      comment:
        "A front end reaches no database and no queue: the core's are behind the port; the bot's own tables only through src/bot/store (the bot's port gives their handle).",
      severity: 'error',
      from: { path: FRONT_ENDS, pathNot: [...COMPOSITION_ROOTS, '^src/bot/store/'] },
      to: { path: ['^src/db/', '^node_modules/(postgres|drizzle-orm|drizzle-kit|pg-boss)/'] },
    },
    {
      name: 'bot-store-is-the-bots',
      comment:
        "The bot's store holds the bot's tables: it may use the shared database toolkit (src/db), never the core's store.",
      severity: 'error',
      from: { path: '^src/bot/store/' },
      to: { path: '^src/core/' },
    },
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
