#!/usr/bin/env node
import('../dist/cli/index.js').then((m) => m.main(process.argv)).catch((err) => {
  console.error(err?.message ?? err);
  process.exit(1);
});
