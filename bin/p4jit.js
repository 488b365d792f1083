#!/usr/bin/env node
// The p4jit command-line tool (compiled from extension/cli/ by `npm run build`).
import { main } from '../out/extension/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
