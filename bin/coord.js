#!/usr/bin/env node
// Runs the TypeScript CLI straight from source: a clone works right after `npm ci`, no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
