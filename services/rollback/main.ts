// CLI: npm run rollback -- --to baseline|ml [--namespace N] [--context C] ... (see options.ts)
import { parseArgs, USAGE, UsageError } from './options';
import { rollback, RollbackError } from './rollback';

async function main(argv: readonly string[]): Promise<number> {
  let opts;
  try {
    opts = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`rollback: ${err.message}`);
      return 2;
    }
    throw err;
  }
  if (opts === 'help') {
    console.log(USAGE);
    return 0;
  }
  try {
    const result = await rollback(opts);
    if (!result.dryRun) {
      const what = result.patched ? `rolled ${result.from ?? '<unset>'} -> ${result.to}` : `already ${result.to}`;
      console.log(`done: ${what}; ${result.pods.length} pod(s) verified in ${(result.elapsedMs / 1000).toFixed(1)}s`);
    }
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`rollback: ${err.message}`);
      return 2;
    }
    if (err instanceof RollbackError) {
      console.error(`rollback: ${err.message}`);
      return err.exitCode;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error('rollback: unexpected error:', err);
    process.exitCode = 1;
  },
);
