// `npm run bench -- ring [options]`: the ring benchmark (bench/_ring-main.ts, options there), or
// with `--verify-rate R` the cost of verified compute (bench/_ring-verify.ts, docs/ring.md
// "Verified compute"): aggregate tok/s of 4 concurrent sessions with verification at rate R vs
// without, in one invocation.
if (process.argv.includes('--verify-rate')) await import('./_ring-verify.ts');
else await import('./_ring-main.ts');
export {};
