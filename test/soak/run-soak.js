#!/usr/bin/env node
// npm run soak [-- --seconds N] [--workers N] [--seed N]: the chaos soak (test/soak/soak.ts) without
// vitest, against the built package in dist/ (npm run soak builds it first). Prints the one-screen report
// on stdout and exits 1 when a check failed.
//
// The soak and the peer helpers it shares with the test suite (test/push/...) are TypeScript: they are
// loaded through TypeScript's own transpiler (a devDependency), one file at a time, types stripped only.
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  module._compile(outputText, filename);
};

const USAGE = 'usage: node test/soak/run-soak.js [--seconds N (600)] [--workers N (8)] [--seed N]';

function parse(argv) {
  const options = { seconds: 600, workers: 8 };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '');
    const value = Number(argv[++i]);
    if (!['seconds', 'workers', 'seed'].includes(key) || !Number.isInteger(value) || value < (key === 'seed' ? 0 : 1)) {
      process.stderr.write(`${USAGE}\n`);
      process.exit(2);
    }
    options[key] = value;
  }
  if (options.seconds < 30) {
    process.stderr.write('--seconds: at least 30 (the master restart, the peer restarts and the settling need it)\n');
    process.exit(2);
  }
  return options;
}

const { runSoak } = require('./soak.ts');

runSoak(parse(process.argv.slice(2))).then(
  (report) => {
    process.stdout.write(`${report.text}\n`);
    process.exit(report.passed ? 0 : 1);
  },
  (error) => {
    process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  },
);
