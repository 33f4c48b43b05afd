// vitnt serve's page (src/serve/web) in Debian's chromium, driven by playwright-core, against
// real `vitnt serve` processes on loopback ports (run by tests/browser_test.sh, which makes
// the photos and the `vitnt best` reference). The numbers the page shows must be the JSON
// API's for the same bytes.
// Usage: node page_test.mjs VITNT SOURCE_DIR WORK_DIR DETECTOR CHROMIUM
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const [VITNT, SRC, WORK, DET, CHROMIUM] = process.argv.slice(2);
const QUERY = '/v1/quality?detect=1&faces=all&patch_map=1&regions=1';
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
    "connect-src 'self'; media-src 'self' blob:; object-src 'none'; base-uri 'none'; " +
    "form-action 'none'; frame-ancestors 'none'";
const work = (name) => path.join(WORK, name);

const servers = [];
let browser = null;
process.on('exit', () => servers.forEach((s) => s.kill('SIGKILL')));

async function fail(msg) {
  console.log('FAIL:', msg);
  if (browser) await browser.close().catch(() => {});
  process.exit(1);
}

function ok(msg) {
  console.log('ok:', msg);
}

// A server on an ephemeral port: resolves to its base URL once it prints "listening on".
function startServer(...args) {
  const proc = spawn(VITNT, ['serve', '--port', '0', '--detector-model', DET, ...args],
      { stdio: ['ignore', 'pipe', 'inherit'] });
  servers.push(proc);
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout });
    lines.once('line', (line) => {
      const m = line.match(/^listening on (http:\/\/\S+)$/);
      m ? resolve(m[1]) : reject(new Error('server did not start: ' + line));
    });
    proc.once('exit', (code) => reject(new Error('server exited ' + code)));
  });
}

// The JSON API's answer for the same bytes, posted as the page posts them (one multipart
// field f000). The body is built here: Node 18's FormData ends it with the closing boundary
// and no CRLF after it, which cpp-httplib 0.11 answers with 400 (browsers add the CRLF).
async function apiQuality(base, file, headers, extra = '') {
  const boundary = 'vitnt-browser-test';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="f000"; ` +
        `filename="${file}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    readFileSync(work(file)),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const res = await fetch(base + QUERY + extra, {
    method: 'POST',
    body,
    headers: { ...headers, 'Content-Type': `multipart/form-data; boundary=${boundary}` },
  });
  return { status: res.status, body: await res.json() };
}

// Waits until the page has `n` results, none of them still being scored.
async function settled(page, n) {
  await page.waitForFunction((n) => {
    const all = document.querySelectorAll('#results article');
    return all.length === n && [...all].every((a) => a.dataset.state !== 'pending');
  }, n, { timeout: 120000 });
}

// What the page shows for one photo: state, error text and code, faces with their numbers.
function shown(page, name) {
  return page.evaluate((name) => {
    const a = [...document.querySelectorAll('#results article')].find((x) => x.dataset.name === name);
    if (!a) return null;
    const state = a.querySelector('.state');
    return {
      state: a.dataset.state,
      text: state.textContent,
      code: state.dataset.code || '',
      faces: [...a.querySelectorAll('.face')].map((f) => ({
        quality: f.dataset.quality,
        scalar: f.dataset.scalar,
        weakest: f.dataset.weakest,
        qualityText: f.querySelector('.quality').textContent,
        scalarText: f.querySelector('.scalar').textContent,
        meaning: f.querySelector('.meaning').textContent,
        weakestText: f.querySelector('.weakest') ? f.querySelector('.weakest').textContent : '',
        // the heatmap canvas: pixels drawn (alpha > 0) and how many distinct colours
        heat: (() => {
          const c = f.querySelector('canvas.heatmap');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let drawn = 0;
          const colours = new Set();
          for (let i = 0; i < d.length; i += 4) {
            if (d[i + 3] > 0) drawn++;
            colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
          }
          return { drawn, pixels: d.length / 4, colours: colours.size };
        })(),
      })),
    };
  }, name);
}

const problems = []; // CSP violations and script errors, from any page
function watch(page) {
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push('console: ' + m.text());
  });
}

try {
  const base = await startServer();
  const keyed = await startServer('--api-key-file', work('keys.txt'));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // as root Chromium needs --no-sandbox; the fake camera shows a test pattern (no face)
    args: ['--no-sandbox', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
  });

  // --- 1. the page, its headers, labelled controls
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
  page.setDefaultTimeout(120000); // an ASan build scores slowly
  watch(page);
  const res = await page.goto(base + '/');
  const h = res.headers();
  if (res.status() !== 200 || h['content-security-policy'] !== CSP ||
      h['x-content-type-options'] !== 'nosniff' || h['referrer-policy'] !== 'no-referrer' ||
      'access-control-allow-origin' in h) {
    await fail('GET / status/headers: ' + res.status() + ' ' + JSON.stringify(h));
  }
  await page.waitForFunction(() => document.getElementById('server-status').dataset.state);
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input, select')].filter((e) => e.labels.length === 0)
        .map((e) => e.id));
  if (unlabelled.length) await fail('controls without a label: ' + unlabelled);
  ok('GET / with its CSP, nosniff, no-referrer, no CORS; every control labelled');

  // --- 2. a sharp and a blurred photo, and a text file: the numbers are the API's
  await page.setInputFiles('#files', [work('sharp.jpg'), work('blurred.jpg'), work('notes.txt')]);
  await settled(page, 3);
  const quality = {};
  for (const name of ['sharp.jpg', 'blurred.jpg']) {
    const got = await shown(page, name);
    const want = await apiQuality(base, name);
    if (want.status !== 200 || want.body.images[0].error) await fail(name + ': API ' + JSON.stringify(want.body));
    const faces = want.body.images[0].faces;
    if (got.state !== 'done' || got.faces.length !== faces.length) {
      await fail(`${name}: page shows ${JSON.stringify(got)}, the API ${faces.length} faces`);
    }
    const sf = want.body.model.scalar_for;
    for (const [i, w] of faces.entries()) {
      const g = got.faces[i];
      const weakest = Object.entries(w.regions).reduce((a, b) => (b[1] < a[1] ? b : a))[0];
      const meaning = `Scalar ${w.scalar}: of faces like this, ${w.scalar} % match a good photo ` +
          `of the same person with ${sf.fr_system} at FMR ${sf.fmr}.`;
      if (Number(g.quality) !== w.quality || g.qualityText !== w.quality.toPrecision(3) ||
          g.scalar !== String(w.scalar) || g.scalarText !== String(w.scalar) ||
          g.weakest !== weakest || g.meaning !== meaning ||
          !g.weakestText.toLowerCase().includes(weakest.replace('_', ' '))) {
        await fail(`${name} face ${i}: page ${JSON.stringify(g)} != API ${JSON.stringify(w)}`);
      }
      if (g.heat.drawn !== g.heat.pixels || g.heat.colours < 50) {
        await fail(`${name} face ${i}: heatmap not drawn: ${JSON.stringify(g.heat)}`);
      }
    }
    quality[name] = faces[0].quality;
  }
  if (!(quality['sharp.jpg'] > quality['blurred.jpg'])) {
    await fail('the blurred photo scores no lower than the sharp one: ' + JSON.stringify(quality));
  }
  const text = await shown(page, 'notes.txt');
  if (text.state !== 'error' || text.code !== 'decode_failed' ||
      !text.text.startsWith('Not an image the server can read')) {
    await fail('notes.txt: ' + JSON.stringify(text));
  }
  ok(`sharp/blurred photo: quality ${quality['sharp.jpg']} / ${quality['blurred.jpg']}, ` +
      'scalar, meaning and weakest region as the API; heatmaps drawn; the text file\'s error shown');

  // --- 2b. another calibration block: every photo scored again, its scalar and meaning
  const blocks = await page.$$eval('#calibration option', (os) => os.map((o) => o.value));
  const other = blocks.find((b) => b !== 'own');
  if (other) {
    await page.selectOption('#calibration', other);
    await page.waitForFunction((other) => [...document.querySelectorAll('#results article')]
        .every((a) => a.dataset.state === 'error' || a.dataset.scalarFor === other), other);
    const got = await shown(page, 'sharp.jpg');
    const want = await apiQuality(base, 'sharp.jpg', {}, '&calibration_for=' + other);
    const w = want.body.images[0].faces[0];
    const fr = want.body.model.scalar_for.fr_system;
    if (want.body.model.scalar_for.name !== other || got.faces[0].scalar !== String(w.scalar) ||
        !got.faces[0].meaning.includes(' with ' + fr + ' at FMR ')) {
      await fail(`calibration ${other}: page ${JSON.stringify(got.faces[0])}, API ${JSON.stringify(w)}`);
    }
    ok(`calibration_for=${other} picked on the page: scalar ${w.scalar} and its meaning (${fr})`);
  }

  // --- 3. the camera: Chromium's fake device (a test pattern) captured and sent
  await page.click('#camera-start');
  await page.waitForFunction(() => !document.getElementById('camera-capture').disabled,
      null, { timeout: 30000 }).catch(async () =>
    fail('camera did not start: ' + await page.textContent('#camera-status')));
  await page.waitForFunction(() => document.getElementById('camera').videoWidth > 0);
  await page.click('#camera-capture');
  await settled(page, 4);
  const cam = await shown(page, 'camera-1.jpg');
  if (!cam || cam.code !== 'no_face' || !cam.text.startsWith('No face found')) {
    await fail('camera capture: ' + JSON.stringify(cam));
  }
  await page.click('#camera-stop');
  ok('camera: a capture of the fake device is scored (no face in its test pattern)');

  // --- 4. a burst: the best frame is `vitnt best`'s
  await page.click('#clear');
  const frames = ['000.jpg', '001.jpg', '002.jpg', '003.jpg'].map((f) => path.join(WORK, 'burst', f));
  await page.setInputFiles('#files', frames);
  await settled(page, 4);
  await page.click('#burst');
  await page.waitForSelector('#burst-results li[data-rank="1"]', { timeout: 120000 });
  const ranked = await page.evaluate(() =>
    [...document.querySelectorAll('#burst-results .track')].map((t) => ({
      track: t.dataset.track,
      best: [...t.querySelectorAll('li')].map((li) => ({
        rank: Number(li.dataset.rank), frame: Number(li.dataset.frame),
        quality: Number(li.dataset.quality), marked: li.classList.contains('best'),
        badge: li.querySelector('.badge') ? li.querySelector('.badge').textContent : '',
      })),
    })));
  const csv = readFileSync(work('best_ref/best.csv'), 'utf8').trim().split('\n');
  const cols = csv[0].split(',');
  const want = csv.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
  const top = ranked.length ? ranked[0].best : [];
  if (want.length !== 1 || ranked.length !== 1 || top.length !== 4) {
    await fail(`burst: page ${JSON.stringify(ranked)}, vitnt best ${JSON.stringify(want)}`);
  }
  const best = top[0];
  if (best.rank !== 1 || best.frame !== Number(want[0].frame) || !best.marked ||
      best.badge !== 'Best' || top.slice(1).some((b) => b.marked) ||
      Math.fround(best.quality) !== Math.fround(Number(want[0].quality))) {
    await fail(`burst: best ${JSON.stringify(best)} != vitnt best ${JSON.stringify(want[0])}`);
  }
  ok(`burst of 4: frame ${best.frame} ranked best and marked, as vitnt best`);

  // --- 5. phone width: nothing wider than the screen
  await page.setViewportSize({ width: 360, height: 740 });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 360) await fail('at 360 px the page is ' + wide + ' px wide');
  ok('readable at 360 px: no horizontal scrolling');

  // --- the screenshot for the README, on request: the sharp and blurred photo, ranked burst
  if (process.env.VITNT_SCREENSHOT) {
    await page.setViewportSize({ width: 1000, height: 900 });
    await page.click('#clear');
    await page.setInputFiles('#files', [work('sharp.jpg'), work('blurred.jpg')]);
    await settled(page, 2);
    await page.click('#burst');
    await page.waitForSelector('#burst-results li[data-rank="1"]');
    const out = path.resolve(SRC, process.env.VITNT_SCREENSHOT);
    await page.screenshot({ path: out, fullPage: true });
    ok('screenshot ' + out);
  }

  // --- 6. --api-key-file: a wrong key shows the 401 message, the right one scores
  const kp = await browser.newPage();
  kp.setDefaultTimeout(120000);
  watch(kp);
  const kres = await kp.goto(keyed + '/');
  if (kres.status() !== 200) await fail('GET / with --api-key-file: ' + kres.status());
  await kp.waitForFunction(() => document.getElementById('server-status').dataset.state === 'error');
  await kp.fill('#api-key', 'wrong-key');
  await kp.click('#api-key-apply');
  await kp.setInputFiles('#files', [work('sharp.jpg')]);
  await kp.waitForFunction(() => document.querySelector('#results article')?.dataset.state === 'error');
  const denied = await shown(kp, 'sharp.jpg');
  if (denied.code !== 'unauthorized' || !denied.text.startsWith('Not authorised (401)') ||
      !(await kp.textContent('#server-status')).startsWith('Not authorised (401)')) {
    await fail('wrong key: ' + JSON.stringify(denied));
  }
  const direct = await apiQuality(keyed, 'sharp.jpg', { 'X-API-Key': 'wrong-key' });
  if (direct.status !== 401) await fail('the API took a wrong key: ' + direct.status);
  await kp.fill('#api-key', 'right-key');
  await kp.click('#api-key-apply');
  await kp.waitForFunction(() => document.querySelector('#results article')?.dataset.state === 'done');
  const stored = await kp.evaluate(() => [sessionStorage.getItem('vitnt-api-key'),
    localStorage.length, document.cookie]);
  if (stored[0] !== 'right-key' || stored[1] !== 0 || stored[2] !== '') {
    await fail('the key is kept elsewhere than sessionStorage: ' + JSON.stringify(stored));
  }
  ok('--api-key-file: the page loads without a key, a wrong key shows the 401 message, the ' +
      'right one (sessionStorage only) scores');

  if (problems.length) await fail('the page broke its CSP or threw: ' + problems.join('; '));
  ok('no CSP violation, no script error');
  await browser.close();
  browser = null;
  for (const s of servers) s.kill('SIGTERM');
  console.log('browser test passed');
} catch (e) {
  await fail(e.stack || String(e));
}
