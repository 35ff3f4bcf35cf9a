#!/usr/bin/env node
// Runs the TypeScript CLI through tsx (the package ships its source), from any working directory.
import { tsImport } from "tsx/esm/api";

const { main } = await tsImport("../src/cli/main.ts", import.meta.url);
process.exitCode = await main(process.argv.slice(2));
