// The kiln Action's end of the job: the report into the step summary, the
// store snapshot into the GitHub Actions cache (`kiln ci finish`), and a
// kiln built from source kept for the next job. Never fails the job.
'use strict';

const fs = require('node:fs');
const lib = require('./lib.js');

async function post() {
  const exe = lib.getState('kiln');
  if (!exe) return;
  if (lib.getState('cache') === '1') {
    const args = ['ci', 'finish'];
    if (lib.getState('snapshot') !== '1') args.push('--no-save');
    lib.run(exe, args);
  }
  const built = lib.getState('built');
  if (built) {
    try {
      await lib.cachePut(lib.getState('built_key'), lib.getState('built_version'), fs.readFileSync(built));
      lib.info('kept the kiln binary built from source for later jobs');
    } catch (e) {
      lib.info(`the kiln binary built from source was not kept (${e.message})`);
    }
  }
}

post().catch((e) => lib.warn(`the kiln Action's end failed: ${e.message}`));
