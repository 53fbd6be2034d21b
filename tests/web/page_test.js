#!/usr/bin/env node
// The browser half of tests/integration/test_web.py: headless Chromium (Debian's, at
// ROSTER_CHROMIUM or /usr/bin/chromium), driven with puppeteer-core, on rosterd's page.
//
// The Python test owns the cluster and the assertions; this script owns the browser. They talk in
// JSON lines: one request on stdin ({"op": ..., ...}), one answer on stdout ({"ok": true, ...} or
// {"ok": false, "error": "..."}). Diagnostics go to stderr. Requests:
//   launch                      start Chromium; answers its pid (the harness's last-resort kill)
//   open {url}                  load the page and start the recorder (below)
//   wait {what, timeout_ms, ...} poll the page until a condition holds (see `conditions`)
//   snapshot                    what the page shows: #conn, #banner, rows, voters, leader, timeline
//   log                         the recorder's entries so far: every change of a row's presence or
//                               data-state and of #conn's data-state, with the page's Date.now()
//   screenshot {path}           a PNG of the whole page
//   errors                      uncaught exceptions and console errors of the page so far
//   close                       close Chromium and exit
// End of stdin closes Chromium too, so that the browser never outlives its test.
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');
const puppeteer = require('puppeteer-core');

const chromium = process.env.ROSTER_CHROMIUM || '/usr/bin/chromium';
let browser = null;
let page = null;
const pageErrors = [];
const consoleErrors = [];

function log(...args) {
  process.stderr.write(`[page_test ${new Date().toISOString()}] ${args.join(' ')}\n`);
}

// Runs in the page: records, with Date.now(), each change of what the test measures. A
// MutationObserver callback runs right after the DOM change that caused it, before the next
// paint, so the times are those of the page's own updates (whether it edits rows in place or
// rebuilds the table: a batch is compared as a whole with the state before it).
function installRecorder() {
  if (window.__rosterRecorder) {
    return;
  }
  const entries = [];
  let rows = new Map(); // member id -> data-state
  let conn = null;
  const read = () => {
    const now = new Map();
    for (const tr of document.querySelectorAll('#members tbody tr[data-member-id]')) {
      now.set(tr.dataset.memberId, tr.dataset.state || '');
    }
    return now;
  };
  const check = () => {
    const t = Date.now();
    const now = read();
    for (const [id, state] of now) {
      if (!rows.has(id)) {
        entries.push({t, kind: 'row', id, event: 'added', state});
      } else if (rows.get(id) !== state) {
        entries.push({t, kind: 'row', id, event: 'state', state});
      }
    }
    for (const id of rows.keys()) {
      if (!now.has(id)) {
        entries.push({t, kind: 'row', id, event: 'gone'});
      }
    }
    rows = now;
    const el = document.getElementById('conn');
    const c = el ? el.dataset.state || '' : null;
    if (c !== conn) {
      entries.push({t, kind: 'conn', state: c});
      conn = c;
    }
  };
  window.__rosterRecorder = {entries};
  const start = () => {
    check();
    new MutationObserver(check).observe(document.documentElement, {
      subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'],
    });
  };
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}

// Runs in the page: what it shows, as plain data.
function readPage() {
  const text = (el) => (el ? el.textContent.replace(/\s+/g, ' ').trim() : null);
  const visible = (el) => {
    if (!el || el.hidden) {
      return false;
    }
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    return style.display !== 'none' && style.visibility !== 'hidden' && box.width > 0 && box.height > 0;
  };
  const cell = (tr, cls) => text(tr.querySelector('.' + cls));
  const conn = document.getElementById('conn');
  const banner = document.getElementById('banner');
  return {
    conn: conn ? conn.dataset.state || '' : null,
    connText: text(conn),
    banner: {present: !!banner, visible: visible(banner), text: text(banner)},
    viewId: document.body.dataset.viewId || null,
    viewIdText: text(document.getElementById('view-id')),
    rows: [...document.querySelectorAll('#members tbody tr[data-member-id]')].map((tr) => {
      const bar = tr.querySelector('.phi .bar');
      return {
        id: tr.dataset.memberId, state: tr.dataset.state || '',
        name: cell(tr, 'name'), address: cell(tr, 'address'), tags: cell(tr, 'tags'),
        incarnation: cell(tr, 'incarnation'), age: cell(tr, 'age'), phi: cell(tr, 'phi'),
        bar: bar ? {present: true, width: bar.style.width || getComputedStyle(bar).width} : {present: false},
      };
    }),
    voters: [...document.querySelectorAll('#voters tr[data-voter-id]')].map((tr) => ({
      id: tr.dataset.voterId, role: tr.dataset.role || '', text: text(tr),
    })),
    leader: text(document.getElementById('leader')),
    timeline: [...document.querySelectorAll('#timeline li[data-view-id]')].map((li) => ({
      viewId: li.dataset.viewId, text: text(li),
    })),
  };
}

// Conditions the test waits for, evaluated in the page (each gets the request's `args`).
const conditions = {
  // #conn says `state`; with banner: true, #banner's visibility must match (shown when unreachable).
  conn: (args) => {
    const el = document.getElementById('conn');
    if (!el || el.dataset.state !== args.state) {
      return false;
    }
    if (args.banner === undefined) {
      return true;
    }
    const b = document.getElementById('banner');
    const shown = !!b && !b.hidden && getComputedStyle(b).display !== 'none' &&
      getComputedStyle(b).visibility !== 'hidden' && b.getBoundingClientRect().height > 0;
    return shown === args.banner;
  },
  // Exactly (exact: true) or at least these member ids have a row.
  rows: (args) => {
    const ids = new Set([...document.querySelectorAll('#members tbody tr[data-member-id]')]
      .map((tr) => tr.dataset.memberId));
    const want = args.ids.map(String);
    return want.every((id) => ids.has(id)) && (!args.exact || ids.size === want.length);
  },
  // The row of member `id` is gone.
  row_gone: (args) => !document.querySelector(`#members tbody tr[data-member-id="${args.id}"]`),
  // The row of member `id` has one of `states`.
  row_state: (args) => {
    const tr = document.querySelector(`#members tbody tr[data-member-id="${args.id}"]`);
    return !!tr && args.states.includes(tr.dataset.state);
  },
  // Every row but those of `except` (the page's own voter, which watches no heartbeats of its
  // own) has a data-state other than `unknown`: the detector's data arrived.
  rows_known: (args) => {
    const except = (args.except || []).map(String);
    const rows = [...document.querySelectorAll('#members tbody tr[data-member-id]')]
      .filter((tr) => !except.includes(tr.dataset.memberId));
    return rows.length > 0 && rows.every((tr) => tr.dataset.state && tr.dataset.state !== 'unknown');
  },
  // The page applied view `id` or a later one.
  view: (args) => Number(document.body.dataset.viewId || -1) >= args.id,
  // #voters has a row per id, and voter `leader` (if given) has data-role "leader".
  voters: (args) => {
    const rows = new Map([...document.querySelectorAll('#voters tr[data-voter-id]')]
      .map((tr) => [tr.dataset.voterId, tr.dataset.role]));
    return args.ids.every((id) => rows.has(String(id))) &&
      (args.leader === undefined || rows.get(String(args.leader)) === 'leader');
  },
};

async function launch() {
  if (!fs.existsSync(chromium)) {
    throw new Error(`no Chromium at ${chromium} (scripts/bootstrap installs Debian's chromium)`);
  }
  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true, // Chromium's new headless mode
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
      '--no-default-browser-check', '--disable-background-networking'],
    defaultViewport: {width: 1280, height: 900},
  });
  const proc = browser.process();
  return {pid: proc ? proc.pid : null, version: await browser.version()};
}

async function open(req) {
  page = await browser.newPage();
  page.on('pageerror', (e) => {
    pageErrors.push({t: Date.now(), message: String(e && e.message || e)});
    log('page error:', e && e.message || e);
  });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') {
      consoleErrors.push({t: Date.now(), type: m.type(), text: m.text()});
    }
  });
  await page.evaluateOnNewDocument(installRecorder);
  // The page's CSS transitions (a row's colour, the phi bar) run 50 times faster, so that a
  // screenshot taken right after a change shows the new state, not a blend of the two.
  const cdp = await page.createCDPSession();
  await cdp.send('Animation.enable');
  await cdp.send('Animation.setPlaybackRate', {playbackRate: 50});
  const response = await page.goto(req.url, {waitUntil: 'domcontentloaded', timeout: req.timeout_ms || 10000});
  await page.evaluate(installRecorder); // if the document was there before the script was
  return {
    status: response ? response.status() : null,
    headers: response ? response.headers() : {},
  };
}

async function wait(req) {
  const check = conditions[req.what];
  if (!check) {
    throw new Error(`unknown condition ${req.what}`);
  }
  const started = Date.now();
  try {
    await page.waitForFunction(`(${check})(${JSON.stringify(req.args || {})})`,
      {polling: req.polling_ms || 20, timeout: req.timeout_ms || 10000});
  } catch (e) {
    const shown = await page.evaluate(readPage).catch(() => null);
    throw new Error(`timed out after ${req.timeout_ms || 10000} ms waiting for ${req.what} ` +
      `${JSON.stringify(req.args || {})}; the page shows ${JSON.stringify(shown)}`);
  }
  return {t: Date.now(), waited_ms: Date.now() - started};
}

async function handle(req) {
  switch (req.op) {
    case 'launch': return launch();
    case 'open': return open(req);
    case 'wait': return wait(req);
    case 'snapshot': return {page: await page.evaluate(readPage)};
    case 'log': return {entries: await page.evaluate(() => window.__rosterRecorder.entries)};
    case 'screenshot':
      fs.mkdirSync(path.dirname(req.path), {recursive: true});
      // Two frames: what the last DOM change did is painted.
      await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
      await page.screenshot({path: req.path, fullPage: true});
      return {path: req.path};
    case 'errors': return {page_errors: pageErrors, console: consoleErrors};
    case 'close': await shutdown(0); return {};
    default: throw new Error(`unknown op ${req.op}`);
  }
}

let closing = false;
async function shutdown(code) {
  if (closing) {
    return;
  }
  closing = true;
  if (browser) {
    await browser.close().catch((e) => log('closing Chromium:', e.message));
  }
  process.exit(code);
}

async function main() {
  const lines = readline.createInterface({input: process.stdin, terminal: false});
  lines.on('close', () => shutdown(0));
  // One request at a time, in order.
  let queue = Promise.resolve();
  lines.on('line', (line) => {
    queue = queue.then(async () => {
      let answer;
      try {
        const req = JSON.parse(line);
        answer = Object.assign({ok: true}, await handle(req));
      } catch (e) {
        answer = {ok: false, error: String(e && e.message || e)};
      }
      process.stdout.write(JSON.stringify(answer) + '\n');
    });
  });
}

for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(sig, () => shutdown(1));
}
main();
