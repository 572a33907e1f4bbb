#!/usr/bin/env -S node --max-semi-space-size=8 --max-old-space-size=128
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `deploy-tui needs Node.js 22.19 or newer (this is ${process.version}).\n` +
      'Run ". scripts/ensure-node.sh" in the project directory to install Node 24 for this shell.\n',
  );
  process.exit(1);
}
const { main } = await import('../src/tui/main.ts');
// Exit explicitly: a library's exit hook must not turn a refusal into success.
process.exit(await main(process.argv.slice(2)));
