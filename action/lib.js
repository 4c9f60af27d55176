// What the kiln Action's two steps share: inputs, the runner's command
// files, downloads with checksums, and the GitHub Actions cache service.
//
// No dependencies: Node's own modules and `fetch` only, so what runs in a
// job is exactly the file in this repository.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

/** An input of the Action (`INPUT_<NAME>`, hyphens kept), trimmed. */
function input(name, fallback = '') {
  const v = process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`];
  return v === undefined || v.trim() === '' ? fallback : v.trim();
}

/** Appends `NAME=value` to one of the runner's command files. */
function appendTo(fileVar, name, value) {
  const file = process.env[fileVar];
  if (!file) return false;
  const delimiter = `kiln_${crypto.randomBytes(12).toString('hex')}`;
  fs.appendFileSync(file, `${name}<<${delimiter}\n${value}\n${delimiter}\n`);
  return true;
}

/** Sets a variable for this step and every later one. */
function exportVariable(name, value) {
  process.env[name] = value;
  appendTo('GITHUB_ENV', name, value);
}

/** Adds a directory to `PATH` for this step and every later one. */
function addPath(dir) {
  process.env.PATH = `${dir}${path.delimiter}${process.env.PATH || ''}`;
  if (process.env.GITHUB_PATH) fs.appendFileSync(process.env.GITHUB_PATH, `${dir}\n`);
}

/** Keeps a value for the post step. */
function saveState(name, value) {
  if (!appendTo('GITHUB_STATE', name, value)) process.env[`STATE_${name}`] = value;
}

function getState(name) {
  return process.env[`STATE_${name}`] || '';
}

/** A workflow command's data, escaped as the runner reads it. */
function escapeData(text) {
  return String(text).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Makes the runner hide `value` wherever a log would show it: each line. */
function mask(value) {
  if (!value) return;
  for (const line of new Set([value, ...String(value).split(/\r?\n/)])) {
    if (line.trim() !== '') process.stdout.write(`::add-mask::${escapeData(line)}\n`);
  }
}

function info(message) {
  process.stdout.write(`kiln: ${message}\n`);
}

function warn(message) {
  process.stdout.write(`::warning title=kiln::${escapeData(message)}\n`);
}

/** The workspace version of the kiln source this Action is part of. */
function ownVersion() {
  const manifest = fs.readFileSync(path.join(__dirname, '..', 'Cargo.toml'), 'utf8');
  const section = manifest.split('[workspace.package]')[1] || '';
  const m = section.match(/^version\s*=\s*"([^"]+)"/m);
  if (!m) throw new Error('no [workspace.package] version in Cargo.toml');
  return m[1];
}

/** The release target of this runner, or null when none is built. */
function releaseTarget() {
  const arch = { x64: 'x86_64', arm64: 'aarch64' }[process.arch];
  return process.platform === 'linux' && arch ? `${arch}-unknown-linux-gnu` : null;
}

/** Fetches `url` whole, refusing more than `limit` bytes as they come. */
async function download(url, limit) {
  const res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(120000) });
  if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
  if (Number(res.headers.get('content-length') || 0) > limit) {
    throw new Error(`more than ${limit} bytes`);
  }
  const parts = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += chunk.length;
    if (size > limit) throw new Error(`more than ${limit} bytes`);
    parts.push(Buffer.from(chunk));
  }
  return Buffer.concat(parts);
}

function sha256(buffer) {
  return crypto.createHash('sha256').update(buffer).digest('hex');
}

/** Runs a program, its output going to the log; its exit status. */
function run(program, args, options = {}) {
  const r = spawnSync(program, args, { stdio: 'inherit', ...options });
  if (r.error) return { status: 127, error: r.error };
  return { status: r.status === null ? 128 : r.status };
}

// The GitHub Actions cache service, for the kiln binary built from source
// when no release archive can be had. (Store snapshots are kiln's own
// business: `kiln ci restore` and `kiln ci save`.)

const CACHE_SERVICE = 'twirp/github.actions.results.api.v1.CacheService';

function cacheService() {
  const base = process.env.ACTIONS_RESULTS_URL;
  const token = process.env.ACTIONS_RUNTIME_TOKEN;
  return base && token ? { base: base.replace(/\/+$/, ''), token } : null;
}

async function twirp(service, method, body) {
  const res = await fetch(`${service.base}/${CACHE_SERVICE}/${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${service.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method}: ${res.status}`);
  return JSON.parse(text);
}

/** The cached file under exactly `key`, or null. */
async function cacheGet(key, version, limit) {
  const service = cacheService();
  if (!service) return null;
  const found = await twirp(service, 'GetCacheEntryDownloadURL', {
    key,
    restore_keys: [key],
    version,
  });
  if (!found.ok || found.matched_key !== key || !found.signed_download_url) return null;
  return download(found.signed_download_url, limit);
}

/** Stores `body` under `key` (entries cannot be replaced). */
async function cachePut(key, version, body) {
  const service = cacheService();
  if (!service) throw new Error('the cache service is out of reach');
  const created = await twirp(service, 'CreateCacheEntry', { key, version });
  if (!created.ok || !created.signed_upload_url) {
    throw new Error(`the cache service did not take it: ${created.message || 'no reason given'}`);
  }
  const res = await fetch(created.signed_upload_url, {
    method: 'PUT',
    headers: { 'x-ms-blob-type': 'BlockBlob', 'x-ms-version': '2020-04-08' },
    body,
    signal: AbortSignal.timeout(300000),
  });
  if (!res.ok) throw new Error(`upload: ${res.status}`);
  const done = await twirp(service, 'FinalizeCacheEntryUpload', {
    key,
    size_bytes: String(body.length),
    version,
  });
  if (!done.ok) throw new Error('the cache service did not keep it');
}

module.exports = {
  input,
  exportVariable,
  addPath,
  saveState,
  getState,
  mask,
  info,
  warn,
  ownVersion,
  releaseTarget,
  download,
  sha256,
  run,
  cacheGet,
  cachePut,
};
