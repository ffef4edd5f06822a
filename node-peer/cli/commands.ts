import type { Command } from 'commander';
import { registerConvertCommand } from './convert-command.ts';
import { registerDemoModelCommand } from './demo-model-command.ts';
import { registerGenerateCommand } from './generate-command.ts';
import { registerStartCommand } from './start-command.ts';

/** Each subcommand file exports `register(program)`; add it here. */
export function registerCommands(program: Command): void {
  registerConvertCommand(program);
  registerDemoModelCommand(program);
  registerGenerateCommand(program);
  registerStartCommand(program);
}
