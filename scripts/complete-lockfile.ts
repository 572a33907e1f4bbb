// The npm registry reachable from our machines lacks some other platforms'
// builds of optional packages (Biome's darwin/win32/musl binaries), so npm
// leaves them out of package-lock.json and `npm ci` then calls the lock "out of
// sync". This adds the missing optional platform entries (never installed on
// a machine of another platform). Run it after `npm install` changes the lock.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

type Entry = {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  license?: string;
  optionalDependencies?: Record<string, string>;
  os?: string[];
  cpu?: string[];
  libc?: string[];
};

const file = path.resolve(import.meta.dirname, '..', 'package-lock.json');
const lock = JSON.parse(readFileSync(file, 'utf8')) as { packages: Record<string, Entry> };
const PLATFORM = /-(android|darwin|linux|win32|freebsd)-(arm64|x64|arm|ia32)(-musl|-gnu)?$/;
let added = 0;
for (const [key, entry] of Object.entries(lock.packages)) {
  for (const [dep, range] of Object.entries(entry.optionalDependencies ?? {})) {
    const depKey = `node_modules/${dep}`;
    if (lock.packages[depKey]) continue;
    const match = PLATFORM.exec(dep);
    if (!match) {
      console.error(
        `complete-lockfile: ${dep} (optional dependency of ${key}) is missing and is not a platform build`,
      );
      process.exitCode = 1;
      continue;
    }
    lock.packages[depKey] = {
      version: range,
      cpu: [match[2]!],
      ...(entry.dev ? { dev: true } : {}),
      ...(entry.license ? { license: entry.license } : {}),
      optional: true,
      os: [match[1]!],
      ...(match[3] === '-musl'
        ? { libc: ['musl'] }
        : match[3] === '-gnu'
          ? { libc: ['glibc'] }
          : {}),
    };
    added++;
  }
}
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(
  `complete-lockfile: added ${added} missing optional platform entr${added === 1 ? 'y' : 'ies'}`,
);
