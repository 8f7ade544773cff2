'use strict';
// Where benchmark regions live and how they are cleaned up. Every region file a benchmark process
// creates is named after that process's pid, so the runner can remove whatever a crashed child left.

const fs = require('node:fs');
const path = require('node:path');

const SHM_DIR = '/dev/shm';
const PREFIX = 'shmetrics-bench-';

/** `/dev/shm/shmetrics-bench-<pid>`, plus `-<tag>` when one process needs several regions. */
function regionPath(tag, pid = process.pid) {
  return path.join(SHM_DIR, `${PREFIX}${pid}${tag ? `-${tag}` : ''}`);
}

/** Removes every region file named after one of `pids`; returns the paths it removed. */
function removeRegionsOf(pids) {
  const wanted = new Set(pids.map(String));
  const removed = [];
  let names;
  try {
    names = fs.readdirSync(SHM_DIR);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith(PREFIX)) continue;
    const pid = name.slice(PREFIX.length).split('-')[0];
    if (!wanted.has(pid)) continue;
    const file = path.join(SHM_DIR, name);
    fs.rmSync(file, { force: true });
    removed.push(file);
  }
  return removed;
}

module.exports = { regionPath, removeRegionsOf };
