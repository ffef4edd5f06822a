import { Command } from 'commander';
import { registerCommands } from './cli/commands.ts';
import { tuneGarbageCollector } from './gc-tuning.ts';

// Entry point of the `node-peer` CLI; each subcommand lives in its own file under cli/.
tuneGarbageCollector();
const program = new Command('node-peer').description('ringmesh peer for Node: run a share of a large language model with other machines');
registerCommands(program);
await program.parseAsync(process.argv);
