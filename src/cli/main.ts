import { readFileSync } from 'node:fs';
import { runCli } from './cli.ts';

/** `npm run cli -- <command>`: see cli.ts, or run it with --help. */
process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  readFile: (path) => readFileSync(path, 'utf8'),
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
});
