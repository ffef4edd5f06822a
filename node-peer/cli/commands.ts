import type { Command } from 'commander';

/** Each subcommand file exports `register(program)`; add it here. */
export function registerCommands(_program: Command): void {}
