import { CommanderError, type Command } from 'commander';
import { registerConvertCommand } from './convert-command.ts';
import { registerDemoModelCommand } from './demo-model-command.ts';
import { registerGenerateCommand } from './generate-command.ts';
import { registerStartCommand } from './start-command.ts';
import { registerStatusCommand } from './status-command.ts';

/** Exit code of a usage error (unknown or bad flag, missing argument); runtime errors exit 1. */
export const USAGE_EXIT_CODE = 2;

/** Each subcommand file exports `register(program)`; add it here. */
export function registerCommands(program: Command): void {
  // Set before the subcommands are added so they inherit it: help/version exit 0, usage errors 2.
  program.exitOverride((err: CommanderError) => {
    const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version' || err.exitCode === 0;
    process.exit(ok ? 0 : USAGE_EXIT_CODE);
  });
  registerConvertCommand(program);
  registerDemoModelCommand(program);
  registerGenerateCommand(program);
  registerStartCommand(program);
  registerStatusCommand(program);
}
