#!/usr/bin/env node
// Runs the TypeScript CLI through tsx so no build step stands between a checkout and a peer.
import { register } from 'tsx/esm/api';
register();
await import('../node-peer/main.ts');
