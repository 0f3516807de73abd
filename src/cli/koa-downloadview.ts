#!/usr/bin/env node
/**
 * The `koa-downloadview` command (`npx koa-downloadview doctor --app … --public …`).
 *
 * @module koa-downloadview/cli
 */
import { main } from './main.ts';

process.exitCode = await main(process.argv.slice(2), process);
