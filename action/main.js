// The kiln Action's main step: install kiln, make it the job's compiler
// wrapper, restore the store snapshot. A failure here never fails the job:
// it warns and the job builds without the cache.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const lib = require('./lib.js');

const MAX_ARCHIVE = 256 << 20;
/** Namespace of cached kiln binaries in the cache service. */
const BINARY_CACHE_VERSION = lib.sha256('kiln binary built from source, 1');

/** Whether `exe` is kiln at `version`. */
function works(exe, version) {
  const r = spawnSync(exe, ['--version'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() === `kiln ${version}`;
}

function place(exe, bytes) {
  fs.mkdirSync(path.dirname(exe), { recursive: true });
  const tmp = `${exe}.part`;
  fs.writeFileSync(tmp, bytes, { mode: 0o755 });
  fs.renameSync(tmp, exe);
}

/** The release archive for `target`, checked against its SHA-256. */
async function fromRelease(version, target, exe) {
  const name = `kiln-${version}-${target}`;
  const url = `${lib.input('release-url').replace(/\/+$/, '')}/v${version}/${name}.tar.gz`;
  const archive = await lib.download(url, MAX_ARCHIVE);
  const sums = (await lib.download(`${url}.sha256`, 4096)).toString('utf8');
  const expected = (sums.trim().split(/\s+/)[0] || '').toLowerCase();
  if (lib.sha256(archive) !== expected) {
    throw new Error(`\`${name}.tar.gz\` does not match its SHA-256; not installed`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-'));
  try {
    const file = path.join(dir, `${name}.tar.gz`);
    fs.writeFileSync(file, archive);
    if (lib.run('tar', ['-xzf', file, '-C', dir]).status !== 0) throw new Error('cannot unpack it');
    place(exe, fs.readFileSync(path.join(dir, name, 'kiln')));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** kiln built from source: this Action's own, or the tag of `version`. */
function fromSource(version, root) {
  const args = ['install', '--locked', '--root', root];
  if (version === lib.ownVersion()) {
    args.push('--path', path.join(__dirname, '..', 'crates', 'kiln'));
  } else {
    args.push('--git', 'https://github.com/kiln-rs/kiln', '--tag', `v${version}`, 'kiln');
  }
  // Build scripts of kiln's dependencies run here: they get neither a
  // wrapper nor the cache service's credentials.
  const env = { ...process.env, RUSTC_WRAPPER: '' };
  for (const name of ['ACTIONS_RUNTIME_TOKEN', 'ACTIONS_RESULTS_URL', 'ACTIONS_CACHE_URL', 'INPUT_SIGNING-KEY']) {
    delete env[name];
  }
  return lib.run('cargo', args, { env }).status === 0;
}

/** Installs kiln; its path, or throws. */
async function install(version) {
  const target = lib.releaseTarget();
  const platform = target || `${process.platform}-${process.arch}`;
  const base = process.env.RUNNER_TOOL_CACHE || process.env.RUNNER_TEMP || os.tmpdir();
  const root = path.join(base, 'kiln', version, platform);
  const exe = path.join(root, 'bin', 'kiln');
  if (works(exe, version)) return exe;
  if (target) {
    try {
      await fromRelease(version, target, exe);
      if (works(exe, version)) return exe;
    } catch (e) {
      lib.info(`no release archive for ${platform} (${e.message})`);
    }
  }
  const key = `kiln-bin-${version}-${platform}`;
  try {
    const cached = await lib.cacheGet(key, BINARY_CACHE_VERSION, MAX_ARCHIVE);
    if (cached) {
      place(exe, cached);
      if (works(exe, version)) {
        lib.info('installed the kiln binary built by an earlier job (GitHub Actions cache)');
        return exe;
      }
    }
  } catch (e) {
    lib.info(`no cached kiln binary (${e.message})`);
  }
  lib.info(`building kiln ${version} from source`);
  if (fromSource(version, root) && works(exe, version)) {
    lib.saveState('built', exe);
    lib.saveState('built_key', key);
    lib.saveState('built_version', BINARY_CACHE_VERSION);
    return exe;
  }
  throw new Error(`kiln ${version} could not be installed`);
}

/**
 * Events whose code is the repository's own, on its branches: only these
 * write the shared cache under `read-only: auto`. Pull requests (from forks
 * or not), comments and runs started by other workflows read only.
 */
const TRUSTED_EVENTS = ['push', 'schedule', 'workflow_dispatch', 'merge_group', 'release'];

function readOnly() {
  const v = lib.input('read-only', 'auto').toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  // A read-only setting of the job or workflow stands.
  const set = (process.env.KILN_REMOTE_READ_ONLY || '').toLowerCase();
  if (set === '1' || set === 'true') return true;
  // The repository's cache mode (`read`, `none`) says no writing too.
  const mode = (process.env.ACTIONS_CACHE_MODE || '').toLowerCase();
  if (mode === 'read' || mode === 'none') return true;
  return !TRUSTED_EVENTS.includes(process.env.GITHUB_EVENT_NAME || '');
}

/**
 * One run id per job: the job's units are one run of the history. Jobs of
 * a matrix share their name, so a random part tells them apart.
 */
function runId() {
  const job = (process.env.GITHUB_JOB || 'job').replace(/[^A-Za-z0-9_-]/g, '_');
  const run = `${process.env.GITHUB_RUN_ID || '0'}-${process.env.GITHUB_RUN_ATTEMPT || '1'}`;
  return `gh-${run}-${job}-${require('node:crypto').randomBytes(3).toString('hex')}`;
}

function configure(exe) {
  const secret = lib.input('signing-key');
  lib.mask(secret);
  lib.exportVariable('RUSTC_WRAPPER', exe);
  lib.exportVariable('CARGO_INCREMENTAL', '0');
  lib.exportVariable('KILN_RUN_ID', runId());
  const remote = lib.input('remote');
  if (remote) lib.exportVariable('KILN_REMOTE', remote);
  if (secret) lib.exportVariable('KILN_SIGNING_KEY', secret);
  const size = lib.input('cache-size');
  if (size) lib.exportVariable('KILN_CACHE_SIZE', size);
  const key = lib.input('key');
  if (key) lib.exportVariable('KILN_CI_CACHE_KEY', key);
  const ro = readOnly();
  lib.exportVariable('KILN_REMOTE_READ_ONLY', ro ? '1' : '0');
  if (ro) lib.info('read-only: this job reads the shared cache and writes nothing to it');
  const snapshot = lib.input('snapshot', 'auto').toLowerCase();
  // `write-only`: the repository asks not to restore.
  if ((process.env.ACTIONS_CACHE_MODE || '').toLowerCase() === 'write-only') return false;
  return snapshot === 'true' || (snapshot === 'auto' && !remote);
}

async function main() {
  const version = lib.input('version') || lib.ownVersion();
  let exe;
  try {
    exe = await install(version);
  } catch (e) {
    lib.warn(`${e.message}; this job builds without the cache`);
    return;
  }
  lib.addPath(path.dirname(exe));
  lib.saveState('kiln', exe);
  lib.info(`kiln ${version} at ${exe}`);
  if (lib.input('cache', 'true').toLowerCase() === 'false') return;
  const snapshot = configure(exe);
  lib.saveState('cache', '1');
  if (snapshot) {
    lib.saveState('snapshot', '1');
    lib.run(exe, ['ci', 'restore']);
  }
}

main().catch((e) => lib.warn(`the kiln Action failed: ${e.message}`));
