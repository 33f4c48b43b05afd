// vitnt serve's page: sends the photos a person picks, drops or captures to this server's
// public API (POST /v1/quality, POST /v1/best, GET /v1/model) and draws the answers. No
// framework and no inline code, so the server's strict Content-Security-Policy holds.
// Every text from a file name or an answer goes in through textContent, never as HTML.
'use strict';

const KEY_STORE = 'vitnt-api-key'; // sessionStorage: gone when the tab closes
const QUALITY_QUERY = '/v1/quality?detect=1&faces=all&patch_map=1&regions=1';

// The template's regions (README, "Where the face is bad"): left/right as seen in the
// image, which is the person's right/left.
const REGION_WORDS = {
  left_eye: 'left eye region (image left)',
  right_eye: 'right eye region (image right)',
  nose: 'nose region',
  mouth: 'mouth region',
  forehead: 'forehead region',
  left_cheek: 'left cheek region (image left)',
  right_cheek: 'right cheek region (image right)',
  chin: 'chin region',
};

const $ = (id) => document.getElementById(id);
let model = null; // GET /v1/model's answer once it came
let photos = []; // {id, name, file, bitmap, article, status}
let nextId = 0;
let queue = Promise.resolve(); // photos are scored one after the other
let camera = null; // the MediaStream while the camera runs
let captures = 0;

// An element with attributes and children (strings become text nodes).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  }
  for (const c of children) e.append(c);
  return e;
}

function apiHeaders() {
  const key = sessionStorage.getItem(KEY_STORE);
  return key ? { 'X-API-Key': key } : {};
}

// fetch on this origin with the key; {status, body} (body: the JSON, or null).
async function api(path, init) {
  const res = await fetch(path, {
    ...init,
    headers: apiHeaders(),
    cache: 'no-store',
    credentials: 'same-origin',
  });
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    body = null;
  }
  return { status: res.status, body };
}

// A failed request's answer in words.
function requestErrorText(status, body) {
  const message = body && body.error ? body.error.message : '';
  switch (status) {
    case 401:
      return 'Not authorised (401): the API key is missing or wrong. Enter the key the ' +
          'server was started with (--api-key-file) above.';
    case 413:
      return 'Too large (413): ' + (message || 'the server refused the file\'s size') + '.';
    case 415:
      return 'Not a file type the server takes (415): ' + message;
    case 503:
      return 'Server busy (503): ' + (message || 'try again') + '. Try again in a moment.';
    default:
      return 'Error ' + status + (message ? ': ' + message : '');
  }
}

// A failed image's error (from the answer's images[i].error) in words.
function imageErrorText(error) {
  switch (error.code) {
    case 'decode_failed':
      return 'Not an image the server can read: ' + error.message + '.';
    case 'no_face':
      return 'No face found: ' + error.message + '.';
    case 'too_large':
      return 'Too large: ' + error.message + '.';
    default:
      return error.code + ': ' + error.message;
  }
}

function calibrationFor() {
  const v = $('calibration').value;
  return v ? '&calibration_for=' + encodeURIComponent(v) : '';
}

// --- the server's model and calibration blocks
async function loadModel() {
  const status = $('server-status');
  let r;
  try {
    r = await api('/v1/model', { method: 'GET' });
  } catch (e) {
    status.textContent = 'Cannot reach the server: ' + e.message;
    return;
  }
  if (r.status !== 200 || !r.body) {
    model = null;
    status.dataset.state = 'error';
    status.textContent = requestErrorText(r.status, r.body);
    return;
  }
  model = r.body;
  const select = $('calibration');
  const keep = select.value;
  select.replaceChildren();
  for (const c of model.calibrations) {
    select.append(el('option', { value: c.name },
        c.fr_system + ' at FMR ' + c.fmr + ' (' + c.name + ')'));
  }
  if (model.calibrations.length === 0) {
    select.append(el('option', { value: '' }, 'no calibration in this model'));
    select.disabled = true;
  } else {
    select.disabled = false;
    select.value = keep || model.default_calibration;
  }
  status.dataset.state = 'ready';
  status.textContent = 'Model ' + model.name + '; ' +
      (model.detector ? 'face detector loaded.' :
                        'no face detector: this server cannot score photos (start it with ' +
               '--detector-model).');
}

// --- photos
function addFiles(files) {
  for (const file of files) {
    const p = { id: nextId++, name: file.name || 'photo', file, bitmap: null, status: 0 };
    p.article = el('article', { class: 'result', 'data-name': p.name, 'data-state': 'pending' },
        el('h3', {}, p.name), el('p', { class: 'state', role: 'status' }, 'Waiting…'));
    $('results').append(p.article);
    photos.push(p);
    enqueue(p);
  }
  updateButtons();
}

function enqueue(p) {
  queue = queue.then(() => score(p)).catch((e) => showError(p, 'Error: ' + e.message));
}

function updateButtons() {
  $('burst').disabled = photos.length < 2;
  $('clear').disabled = photos.length === 0;
}

function showError(p, text, code) {
  const state = p.article.querySelector('.state');
  state.className = 'state error';
  state.dataset.code = code || '';
  state.textContent = text;
  p.article.dataset.state = 'error';
}

async function score(p) {
  if (!photos.includes(p)) return; // cleared meanwhile
  const state = p.article.querySelector('.state');
  state.className = 'state';
  state.textContent = 'Scoring…';
  p.article.dataset.state = 'pending';
  p.article.querySelector('.photo-block')?.remove();
  // The server would refuse it (413) after reading it all; say so at once.
  const maxMb = model && model.settings ? model.settings.max_body_mb : 0;
  if (maxMb && p.file.size > maxMb * 1024 * 1024) {
    showError(p, 'Too large: ' + (p.file.size / 1048576).toFixed(1) + ' MB; this server ' +
        'takes at most ' + maxMb + ' MB per request (--max-body-mb).', 'too_large');
    return;
  }
  if (!p.bitmap) {
    // the browser's own decoding, for drawing only; the scores come from the server's
    p.bitmap = await createImageBitmap(p.file).catch(() => null);
  }
  const form = new FormData();
  form.append('f000', p.file, p.name);
  let r;
  try {
    r = await api(QUALITY_QUERY + calibrationFor(), { method: 'POST', body: form });
  } catch (e) {
    showError(p, 'Cannot reach the server: ' + e.message, 'network');
    return;
  }
  p.status = r.status;
  if (r.status !== 200 || !r.body) {
    const code = r.body && r.body.error ? r.body.error.code : String(r.status);
    showError(p, requestErrorText(r.status, r.body), code);
    return;
  }
  const image = r.body.images[0];
  if (image.error) {
    showError(p, imageErrorText(image.error), image.error.code);
    return;
  }
  state.textContent = image.faces.length === 1 ? '1 face.' : image.faces.length + ' faces.';
  p.article.dataset.state = 'done';
  p.article.dataset.scalarFor = r.body.model.scalar_for ? r.body.model.scalar_for.name : '';
  p.article.append(drawResult(p, image.faces, r.body.model.scalar_for));
}

// Q is small (about 0.003-0.01 for this model's faces): significant digits, not decimals.
const QUALITY_DIGITS = 3;

function faceLabel(f) {
  return 'Q ' + f.quality.toPrecision(QUALITY_DIGITS) + (f.scalar === null ? '' : ' · ' + f.scalar);
}

// The one-sentence meaning of a scalar (docs/calibration.md, "What the scalar promises").
function scalarMeaning(scalar, scalarFor) {
  if (scalar === null || !scalarFor) return 'This model has no calibration, so no scalar.';
  return 'Scalar ' + scalar + ': of faces like this, ' + scalar + ' % match a good photo of ' +
      'the same person with ' + scalarFor.fr_system + ' at FMR ' + scalarFor.fmr + '.';
}

// The photo with its boxes, and per face the numbers, the patch map and the weakest region.
function drawResult(p, faces, scalarFor) {
  const block = el('div', { class: 'photo-block' });
  if (p.bitmap) {
    // small photos drawn larger so that the labels stay readable, large ones smaller
    const long = Math.max(p.bitmap.width, p.bitmap.height);
    const scale = Math.min(1024 / long, Math.max(1, 560 / long));
    const canvas = el('canvas', {
      class: 'photo',
      width: Math.round(p.bitmap.width * scale),
      height: Math.round(p.bitmap.height * scale),
      role: 'img',
      'aria-label': p.name + ' with ' + faces.length + ' face box(es): ' +
          faces.map((f, i) => 'face ' + (i + 1) + ' ' + faceLabel(f)).join('; '),
    });
    const ctx = canvas.getContext('2d');
    ctx.drawImage(p.bitmap, 0, 0, canvas.width, canvas.height);
    const line = Math.max(2, canvas.width / 300);
    ctx.font = 'bold ' + Math.max(12, Math.round(canvas.width / 40)) + 'px system-ui, sans-serif';
    faces.forEach((f, i) => {
      const [x, y, w, h] = f.box.map((v) => v * scale);
      ctx.lineWidth = line;
      ctx.strokeStyle = '#f2b600';
      ctx.strokeRect(x, y, w, h);
      const label = (i + 1) + ': ' + faceLabel(f);
      const tw = ctx.measureText(label).width;
      const th = parseInt(ctx.font.match(/(\d+)px/)[1], 10);
      const ty = y > th + 4 ? y - th - 4 : y + h;
      ctx.fillStyle = 'rgba(0, 0, 0, 0.7)';
      ctx.fillRect(x, ty, tw + 8, th + 4);
      ctx.fillStyle = '#fff';
      ctx.textBaseline = 'top';
      ctx.fillText(label, x + 4, ty + 2);
    });
    block.append(canvas);
  } else {
    block.append(el('p', { class: 'help' }, 'This browser cannot draw this file; the ' +
        'server could read it.'));
  }
  const list = el('div', { class: 'faces' });
  faces.forEach((f, i) => list.append(faceEntry(p, f, i, scalarFor)));
  block.append(list);
  return block;
}

function faceEntry(p, f, i, scalarFor) {
  const weakest = weakestRegion(f.regions);
  const entry = el('div', {
    class: 'face',
    'data-index': i,
    'data-quality': f.quality,
    'data-scalar': f.scalar === null ? '' : f.scalar,
    'data-weakest': weakest ? weakest[0] : '',
  });
  const heat = el('canvas', {
    class: 'heatmap',
    role: 'img',
    'aria-label': 'Face ' + (i + 1) + ' aligned, with its patch-quality map',
  });
  if (p.bitmap) drawHeatmap(heat, p.bitmap, f);
  const text = el('div', {},
      el('p', {}, el('strong', {}, 'Face ' + (i + 1)), ': quality ',
          el('span', { class: 'quality' }, f.quality.toPrecision(QUALITY_DIGITS)), ', scalar ',
          el('span', { class: 'scalar' }, f.scalar === null ? 'none' : String(f.scalar))),
      el('p', { class: 'meaning' }, scalarMeaning(f.scalar, scalarFor)));
  if (weakest) {
    const words = REGION_WORDS[weakest[0]] || weakest[0];
    text.append(el('p', { class: 'weakest' },
        words.charAt(0).toUpperCase() + words.slice(1) +
            ' is the weakest: likely covered, blurred or dark.'));
    const all = Object.entries(f.regions).sort((a, b) => a[1] - b[1]);
    text.append(el('p', { class: 'regions' },
        'Regions, weakest first: ' +
            all.map(([k, v]) => k.replace('_', ' ') + ' ' + v.toPrecision(2)).join(', ')));
  }
  entry.append(heat, text);
  return entry;
}

function weakestRegion(regions) {
  if (!regions) return null;
  const all = Object.entries(regions);
  if (all.length === 0) return null;
  return all.reduce((a, b) => (b[1] < a[1] ? b : a));
}

// The aligned crop, rebuilt here from the landmarks with the server's transform (the
// least-squares similarity onto the 112-pixel ArcFace template, src/face/align.cpp): the
// API answers the crop's patch qualities, not its pixels. Interpolation may differ from the
// server's by a pixel's shade; the map drawn over it is the server's.
const TEMPLATE = [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
  [41.5493, 92.3655], [70.7299, 92.2041]];

function similarity(src, dst) {
  const n = src.length;
  const mean = (pts, k) => pts.reduce((s, q) => s + q[k], 0) / n;
  const msx = mean(src, 0), msy = mean(src, 1), mdx = mean(dst, 0), mdy = mean(dst, 1);
  let ss = 0, a = 0, b = 0;
  for (let i = 0; i < n; i++) {
    const sx = src[i][0] - msx, sy = src[i][1] - msy;
    const dx = dst[i][0] - mdx, dy = dst[i][1] - mdy;
    ss += sx * sx + sy * sy;
    a += sx * dx + sy * dy;
    b += sx * dy - sy * dx;
  }
  a /= ss;
  b /= ss;
  return [a, b, mdx - (a * msx - b * msy), mdy - (b * msx + a * msy)];
}

function drawHeatmap(canvas, bitmap, f) {
  const desc = model && model.description ? model.description : {};
  const size = desc.img_size || 112;
  const px = 2; // canvas pixels per crop pixel: shown larger than the crop, kept sharp
  canvas.width = size * px;
  canvas.height = size * px;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#000'; // the server's border colour outside the photo
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  if (f.landmarks) {
    const k = size / 112;
    const [a, b, tx, ty] = similarity(f.landmarks, TEMPLATE.map(([x, y]) => [x * k, y * k]));
    ctx.setTransform(px * a, px * b, -px * b, px * a, px * tx, px * ty);
    ctx.drawImage(bitmap, 0, 0);
  }
  ctx.setTransform(px, 0, 0, px, 0, 0);
  const q = f.patch_quality || [];
  const grid = Math.round(Math.sqrt(q.length));
  if (grid === 0 || grid * grid !== q.length) return;
  const lo = Math.min(...q), hi = Math.max(...q);
  const cell = size / grid;
  for (let r = 0; r < grid; r++) {
    for (let c = 0; c < grid; c++) {
      // red (this face's least usable patch) to green (its most usable), half transparent
      const t = hi > lo ? (q[r * grid + c] - lo) / (hi - lo) : 1;
      ctx.fillStyle = 'hsla(' + Math.round(120 * t) + ', 90%, 45%, 0.45)';
      ctx.fillRect(c * cell, r * cell, cell, cell);
    }
  }
}

// --- a burst: every photo the browser could draw, in the order added, to /v1/best
async function rankBurst() {
  const frames = photos.filter((p) => p.bitmap);
  const section = $('burst-section');
  const status = $('burst-status');
  const out = $('burst-results');
  section.hidden = false;
  out.replaceChildren();
  status.className = '';
  if (frames.length < 2) {
    status.textContent = 'A burst needs at least two photos this browser can show.';
    return;
  }
  status.textContent = 'Ranking ' + frames.length + ' photos…';
  const form = new FormData();
  // multipart fields are taken in the sorted order of their names: f000, f001, ...
  frames.forEach((p, i) => form.append('f' + String(i).padStart(3, '0'), p.file, p.name));
  const top = Math.min(100, frames.length);
  let r;
  try {
    r = await api('/v1/best?top=' + top + calibrationFor(), { method: 'POST', body: form });
  } catch (e) {
    status.textContent = 'Cannot reach the server: ' + e.message;
    status.className = 'error';
    return;
  }
  if (r.status !== 200 || !r.body) {
    status.textContent = requestErrorText(r.status, r.body);
    status.className = 'error';
    return;
  }
  const tracks = r.body.tracks.slice().sort((a, b) => b.faces - a.faces);
  status.textContent = tracks.length === 0 ? 'No face found in the burst.' :
      tracks.length === 1 ? 'One person, ranked by quality.' :
                            tracks.length + ' people (tracks), each ranked by quality.';
  if (r.body.error) status.textContent += ' Some frames were skipped: ' + r.body.error.message;
  tracks.forEach((t) => out.append(trackEntry(t, frames, r.body.frames, r.body.model.scalar_for)));
}

function trackEntry(t, frames, nFrames, scalarFor) {
  const div = el('div', { class: 'track', 'data-track': t.track },
      el('h3', {}, 'Person (track ' + t.track + '): face in ' + t.faces + ' of ' + nFrames +
          ' photos'));
  const list = el('ol', { class: 'ranked' });
  for (const b of t.best.slice().sort((x, y) => x.rank - y.rank)) {
    const p = frames[b.frame];
    const li = el('li', {
      class: b.rank === 1 ? 'best' : '',
      'data-rank': b.rank,
      'data-frame': b.frame,
      'data-name': p ? p.name : '',
      'data-quality': b.quality,
    });
    if (p) li.append(faceThumb(p.bitmap, b.box, p.name));
    li.append(el('p', {}, b.rank === 1 ? el('span', { class: 'badge' }, 'Best') : '#' + b.rank,
        ' ', p ? p.name : 'frame ' + b.frame));
    li.append(el('p', {}, faceLabel(b)));
    if (b.rank === 1) li.append(el('p', { class: 'help' }, scalarMeaning(b.scalar, scalarFor)));
    list.append(li);
  }
  div.append(list);
  return div;
}

// The face's box with some margin, as a thumbnail.
function faceThumb(bitmap, box, name) {
  const [x, y, w, h] = box;
  const m = 0.25 * Math.max(w, h);
  const sx = Math.max(0, x - m), sy = Math.max(0, y - m);
  const sw = Math.min(bitmap.width - sx, w + 2 * m), sh = Math.min(bitmap.height - sy, h + 2 * m);
  const canvas = el('canvas', { width: 128, height: Math.round((128 * sh) / sw), role: 'img',
    'aria-label': 'face in ' + name });
  canvas.getContext('2d').drawImage(bitmap, sx, sy, sw, sh, 0, 0, canvas.width, canvas.height);
  return canvas;
}

// --- camera: getUserMedia needs a secure context (https://, or http://localhost / 127.0.0.1)
function cameraMessage(text) {
  $('camera-status').textContent = text;
}

async function startCamera() {
  if (!window.isSecureContext) {
    cameraMessage('The camera needs a secure page: open this page as https://, or as ' +
        'http://127.0.0.1 or http://localhost on the machine running the server. Picking ' +
        'photos works anywhere.');
    return;
  }
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    cameraMessage('This browser offers no camera access; pick photos instead.');
    return;
  }
  try {
    camera = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 } },
      audio: false });
  } catch (e) {
    cameraMessage(e.name === 'NotAllowedError' ?
        'The camera was not allowed (browser permission); pick photos instead.' :
        e.name === 'NotFoundError' || e.name === 'OverconstrainedError' ?
        'No camera found; pick photos instead.' :
        'The camera could not be started: ' + e.message);
    camera = null;
    return;
  }
  const video = $('camera');
  video.srcObject = camera;
  video.hidden = false;
  await video.play().catch(() => {});
  $('camera-start').disabled = true;
  $('camera-capture').disabled = false;
  $('camera-stop').disabled = false;
  cameraMessage('Camera on: Capture adds a photo (several make a burst).');
}

function stopCamera() {
  if (camera) camera.getTracks().forEach((t) => t.stop());
  camera = null;
  const video = $('camera');
  video.srcObject = null;
  video.hidden = true;
  $('camera-start').disabled = false;
  $('camera-capture').disabled = true;
  $('camera-stop').disabled = true;
  cameraMessage('');
}

function capture() {
  const video = $('camera');
  if (!video.videoWidth) return;
  const canvas = el('canvas', { width: video.videoWidth, height: video.videoHeight });
  canvas.getContext('2d').drawImage(video, 0, 0);
  canvas.toBlob((blob) => {
    if (blob) {
      addFiles([new File([blob], 'camera-' + ++captures + '.jpg', { type: 'image/jpeg' })]);
    }
  }, 'image/jpeg', 0.95);
}

// --- wiring
function setUp() {
  const keyInput = $('api-key');
  keyInput.value = sessionStorage.getItem(KEY_STORE) || '';
  const applyKey = () => {
    const key = keyInput.value.trim();
    if (key) sessionStorage.setItem(KEY_STORE, key);
    else sessionStorage.removeItem(KEY_STORE);
    loadModel().then(() => photos.filter((p) => p.status === 401).forEach(enqueue));
  };
  $('api-key-apply').addEventListener('click', applyKey);
  keyInput.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') applyKey();
  });
  // a new calibration block changes every scalar's meaning: score again (a ranked burst
  // is ranked the same; it is cleared so that no old scalar stays on the page)
  $('calibration').addEventListener('change', () => {
    $('burst-results').replaceChildren();
    $('burst-section').hidden = true;
    photos.forEach(enqueue);
  });
  const input = $('files');
  input.addEventListener('change', () => {
    addFiles(Array.from(input.files));
    input.value = ''; // the same file can be picked again
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    addFiles(Array.from(e.dataTransfer.files));
  });
  // a file dropped beside the zone must not make the browser leave the page
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => e.preventDefault());
  $('camera-start').addEventListener('click', startCamera);
  $('camera-stop').addEventListener('click', stopCamera);
  $('camera-capture').addEventListener('click', capture);
  $('burst').addEventListener('click', rankBurst);
  $('clear').addEventListener('click', () => {
    photos = [];
    $('results').replaceChildren();
    $('burst-results').replaceChildren();
    $('burst-section').hidden = true;
    updateButtons();
  });
  loadModel();
}

setUp();
