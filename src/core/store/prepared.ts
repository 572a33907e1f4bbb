// drizzle runs every statement through postgres.js's `unsafe()`, which does not
// prepare statements. An unprepared statement with parameters costs two round
// trips (postgres.js first asks the server for the parameter types) and a fresh
// parse and plan on the server each time. The same statement prepared once per
// connection costs one round trip and no parse. So drizzle is handed a client
// whose `unsafe()` (also inside transactions and savepoints) asks to prepare.
//
// The connection's own setting still decides: `?prepare=false` in the
// DATABASE_URL (e.g. behind PgBouncer in transaction mode) turns it off.

import type postgres from 'postgres';

type Sql = postgres.Sql;
type Unsafe = Sql['unsafe'];
type Callback = (client: Sql) => unknown;

const WRAPPED = new WeakMap<object, object>();

/** `client`, with `unsafe()` preparing its statements; the rest passes through. */
export function preparingStatements<T extends Sql>(client: T): T {
  const known = WRAPPED.get(client);
  if (known !== undefined) return known as T;
  const unsafe: Unsafe = (query, parameters, options) =>
    client.unsafe(query, parameters, { ...options, prepare: true });
  // begin([mode,] fn) and savepoint([name,] fn): the callback gets the wrapped client.
  const wrapLastCallback =
    (method: 'begin' | 'savepoint') =>
    (...args: unknown[]) => {
      const last = args.length - 1;
      const callback = args[last];
      if (typeof callback === 'function') {
        args[last] = (inner: Sql) => (callback as Callback)(preparingStatements(inner));
      }
      const target = (client as unknown as Record<string, (...a: unknown[]) => unknown>)[method];
      if (typeof target !== 'function') throw new TypeError(`this client has no ${method}()`);
      return target.apply(client, args);
    };
  const wrapped = new Proxy(client, {
    get(target, key) {
      if (key === 'unsafe') return unsafe;
      if (key === 'begin' || key === 'savepoint') return wrapLastCallback(key);
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  WRAPPED.set(client, wrapped);
  return wrapped;
}
