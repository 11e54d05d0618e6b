#!/usr/bin/env node
// The CLI runs from its bundle in dist/cli (made by `npm install` through the `prepare` script:
// tsc, then scripts/bundle-cli.mjs).
import('../dist/cli/main.js').then(
  (m) => m.main(process.argv.slice(2)),
  (err) => {
    process.stderr.write(
      `bitstate: not built (${err.code ?? err.message}); run \`npm install\` or \`npm run build\`\n`,
    );
    process.exit(1);
  },
);
