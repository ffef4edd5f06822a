import { CommanderError, type Command } from 'commander';
import { registerConvertCommand } from './convert-command.ts';
import { registerDemoModelCommand } from './demo-model-command.ts';
import { registerGenerateCommand } from './generate-command.ts';
import { registerStartCommand } from './start-command.ts';
import { registerStatusCommand } from './status-command.ts';

/** Exit code of a usage error (unknown or bad flag, missing argument); runtime errors exit 1. */
const USAGE_EXIT_CODE = 2;

/** Each subcommand file exports `register(program)`; add it here. */
export function registerCommands(program: Command): void {
  // Set before the subcommands are added so they inherit it: help/version exit 0, usage errors 2.
  program.exitOverride((err: CommanderError) => {
    const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version' || err.exitCode === 0;
    process.exit(ok ? 0 : USAGE_EXIT_CODE);
  });
  program.showHelpAfterError(`(see ${program.name()} --help)`);
  registerConvertCommand(program);
  registerDemoModelCommand(program);
  registerGenerateCommand(program);
  registerStartCommand(program);
  registerStatusCommand(program);
  for (const cmd of program.commands) {
    // A usage error is one line and a pointer, not the whole help (70 lines for `start`).
    cmd.showHelpAfterError(`(see ${program.name()} ${cmd.name()} --help)`);
    checkRequiredAfterUnknown(cmd);
  }
}

/**
 * Commander checks required options before unknown ones, so `start --bogus` complained about a
 * missing --signal instead of the flag it does not know: check them after, before the action.
 */
function checkRequiredAfterUnknown(cmd: Command): void {
  const required = cmd.options.filter((opt) => opt.mandatory);
  if (required.length === 0) return;
  for (const opt of required) opt.mandatory = false;
  cmd.hook('preAction', () => {
    const missing = required.find((opt) => cmd.getOptionValue(opt.attributeName()) === undefined);
    if (missing !== undefined)
      cmd.error(`error: required option '${missing.flags}' not specified`, { exitCode: USAGE_EXIT_CODE, code: 'commander.missingMandatoryOptionValue' });
  });
}
