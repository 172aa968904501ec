import { main } from './index.js';

/** Runs the CLI from the TypeScript sources (`node --import tsx src/cli/entry.ts …`), as tests do. */
await main(process.argv);
