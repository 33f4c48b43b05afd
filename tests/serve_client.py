"""`vitnt serve` end to end (run by tests/cli_serve_test.sh): stdlib client only.

Usage: serve_client.py VITNT SOURCE_DIR WORK_DIR DETECTOR
"""
import atexit, base64, csv, http.client, json, os, re, signal, socket, struct, subprocess, sys, threading
import time, zlib

import jsonschema
import yaml

VITNT, SRC, WORK, DET = sys.argv[1:5]
ASAN = "asan" in VITNT  # slower: longer timeouts
SLOW = 5 if ASAN else 1


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def f32(v):
    return struct.unpack("f", struct.pack("f", float(v)))[0]


# --- the API description: response schemas with $refs resolved, nullable as JSON Schema
SPEC = yaml.safe_load(open(os.path.join(SRC, "docs/openapi.yaml")))


def resolve(node):
    if isinstance(node, dict):
        if "$ref" in node:
            target = SPEC
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return resolve(target)
        out = {k: resolve(v) for k, v in node.items() if k != "nullable"}
        if node.get("nullable"):
            return {"anyOf": [out, {"type": "null"}]}
        return out
    if isinstance(node, list):
        return [resolve(v) for v in node]
    return node


def check_schema(method, path, status, body):
    op = SPEC["paths"][path][method.lower()]
    resp = resolve(op["responses"].get(str(status)) or op["responses"].get("default"))
    if resp is None:
        fail(f"{method} {path} {status}: not in docs/openapi.yaml")
    content = resp["content"]
    media = "application/json" if "application/json" in content else next(iter(content))
    if media != "application/json":
        return
    try:
        jsonschema.validate(body, resolve(content[media]["schema"]))
    except jsonschema.ValidationError as e:
        fail(f"{method} {path} {status} does not match docs/openapi.yaml: {e.message}")


# --- a server process; any left running when the test ends (a failure) is killed
SERVERS = []
atexit.register(lambda: [s.proc.kill() for s in SERVERS if s.proc.poll() is None])


class Server:
    def __init__(self, *args):
        SERVERS.append(self)
        self.proc = subprocess.Popen(
            [VITNT, "serve", "--port", "0", "--detector-model", DET, *args],
            stdout=subprocess.PIPE, stderr=open(os.path.join(WORK, "server.err"), "ab"),
            text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on http://"):
            fail(f"server did not start: {line!r} (see {WORK}/server.err)")
        self.host, port = line.strip()[len("listening on http://"):].rsplit(":", 1)
        self.port = int(port)

    def request(self, method, path, body=None, headers=None, timeout=60 * SLOW):
        c = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        ctype = r.getheader("Content-Type", "")
        parsed = json.loads(data) if ctype.startswith("application/json") else data.decode()
        if isinstance(parsed, dict):
            check_schema(method, path.split("?")[0], r.status, parsed)
        return r.status, parsed, r

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=60 * SLOW)
        if rc != 0:
            fail(f"server exited {rc} after SIGTERM")


def multipart(files, boundary="vitnt-test-boundary"):
    out = b""
    for i, data in enumerate(files):
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"f{i:02d}\"; "
                f"filename=\"f{i:02d}.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode()
        out += data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def expect_error(res, status, code=None):
    st, body, _ = res
    if st != status or not isinstance(body, dict) or "error" not in body:
        fail(f"expected {status} with a JSON error, got {st}: {str(body)[:200]}")
    if code and body["error"]["code"] != code:
        fail(f"expected error code {code}, got {body['error']}")


crops = open(os.path.join(WORK, "crops.txt")).read().split()
photos = open(os.path.join(WORK, "photos.txt")).read().split()
ref = {r["path"]: r for r in csv.DictReader(open(os.path.join(WORK, "ref.csv")))}
ref_det = [json.loads(l) for l in open(os.path.join(WORK, "ref_det.jsonl"))]
data = {p: open(p, "rb").read() for p in crops + photos}


def same(face, path):
    r = ref[path]
    if f32(face["quality"]) != f32(r["quality"]):
        fail(f"{path}: served quality {face['quality']!r} != vitnt score {r['quality']}")
    want = int(r["scalar"]) if r["scalar"] else None
    if face["scalar"] != want:
        fail(f"{path}: served scalar {face['scalar']} != vitnt score {r['scalar']!r}")


def score_one(srv, path):
    st, body, _ = srv.request("POST", "/v1/quality", data[path], {"Content-Type": "image/jpeg"})
    if st != 200:
        fail(f"single image: {st} {body}")
    return body


# ---------------------------------------------------------------------------------------
srv = Server("--max-body-mb", "2", "--timeout-s", str(3 * SLOW))
st, body, _ = srv.request("GET", "/v1/health")
if st != 200 or body != {"status": "ready"}:
    fail(f"health: {st} {body}")
st, body, _ = srv.request("GET", "/v1/model")
if st != 200 or "description" not in body:
    fail(f"model: {st} {body}")


def batches():
    text = srv.request("GET", "/metrics")[1]
    return int(float(re.search(r"\nvitnt_batch_size_count (\S+)\n", text).group(1)))


# The warm-up batch went through the engine thread (the only thread that runs the model: a
# second OpenMP team on a small machine makes libgomp stop spinning; a batch of 1 was 3x slower).
if batches() != 1:
    fail(f"before any request /metrics should count one batch (the warm-up on the engine "
         f"thread), not {batches()}")

# calibration blocks: listed; calibration_for picks one and the answer names it; the
# scalar is `vitnt score --calibration-for`'s; an unknown name is a 400
blocks = [b["name"] for b in body["calibrations"]]
if not blocks or body["default_calibration"] != blocks[0]:
    fail(f"/v1/model calibrations: {body['calibrations']} default {body['default_calibration']}")
first = crops[0]
for name in blocks:  # the server's model is the default one, as `vitnt score` without --model
    out = os.path.join(WORK, f"cal_{name}.csv")
    subprocess.run([VITNT, "score", "--calibration-for", name, "-o", out, first],
                   check=True, stderr=subprocess.DEVNULL)
    want = next(csv.DictReader(open(out)))
    st, b, _ = srv.request("POST", "/v1/quality?calibration_for=" + name, data[first],
                           {"Content-Type": "image/jpeg"})
    face = b["images"][0]["faces"][0] if st == 200 else {}
    if st != 200 or b["model"]["scalar_for"]["name"] != name or want["scalar_for"] != name or \
            face["scalar"] != int(want["scalar"]):
        fail(f"calibration_for={name}: {st} {b.get('model')} scalar {face.get('scalar')} vs CLI {want}")
st, b, _ = srv.request("POST", "/v1/quality", data[first], {"Content-Type": "image/jpeg"})
if st != 200 or b["model"]["scalar_for"]["name"] != blocks[0]:
    fail(f"default calibration: {st} {b.get('model')}")
expect_error(srv.request("POST", "/v1/quality?calibration_for=arcface", data[first],
                         {"Content-Type": "image/jpeg"}), 400, "unknown_calibration")
print(f"ok: calibration blocks {blocks}: calibration_for picks each, names it, as the CLI")

# 1. one JPEG body
body = score_one(srv, crops[0])
if len(body["images"]) != 1 or body["images"][0]["error"] is not None:
    fail(f"single image: {body}")
same(body["images"][0]["faces"][0], crops[0])
print("ok: single JPEG body")

# 2. multipart with 3 files (fields f00.. in order), with embedding, patch map and regions
mp, ctype = multipart([data[p] for p in crops[1:4]])
st, body, _ = srv.request("POST", "/v1/quality?embedding=1&patch_map=1&regions=1", mp,
                          {"Content-Type": ctype})
if st != 200 or len(body["images"]) != 3:
    fail(f"multipart: {st} {body}")
for im, p in zip(body["images"], crops[1:4]):
    same(im["faces"][0], p)
    f = im["faces"][0]
    if len(f["embedding"]) < 64 or len(f["patch_quality"]) < 4 or "nose" not in f["regions"]:
        fail(f"multipart extras missing: {list(f)}")
print("ok: multipart with 3 files")

# 3. base64 JSON
js = json.dumps({"images": [{"base64": base64.b64encode(data[p]).decode()} for p in crops[4:6]]})
st, body, _ = srv.request("POST", "/v1/quality", js, {"Content-Type": "application/json"})
if st != 200:
    fail(f"base64 JSON: {st} {body}")
for im, p in zip(body["images"], crops[4:6]):
    same(im["faces"][0], p)
print("ok: base64 JSON")

# 4. detect=1 on raw photos = vitnt score --detect
for p in photos:
    st, body, _ = srv.request("POST", "/v1/quality?detect=1", data[p], {"Content-Type": "image/jpeg"})
    if st != 200:
        fail(f"detect: {st} {body}")
    want = [r for r in ref_det if r["path"] == p]
    got = body["images"][0]["faces"]
    if len(got) != len(want) or not want:
        fail(f"detect {p}: {len(got)} faces, vitnt score --detect {len(want)}")
    for g, w in zip(got, want):
        if f32(g["quality"]) != f32(w["quality"]) or g["scalar"] != w["scalar"]:
            fail(f"detect {p}: {g['quality']} {g['scalar']} != {w['quality']} {w['scalar']}")
        if [f32(v) for v in g["box"]] != [f32(v) for v in w["box"]]:
            fail(f"detect {p}: box {g['box']} != {w['box']}")
        if len(g["landmarks"]) != 5:
            fail("detect: 5 landmarks expected")
print("ok: detect=1 equals vitnt score --detect")

# 4b. /v1/best: a burst as multipart (fields in frame order) = `vitnt best` on the files
burst_dir = os.path.join(WORK, "burst")
burst = [open(os.path.join(burst_dir, f), "rb").read() for f in sorted(os.listdir(burst_dir))]
mp, ctype = multipart(burst)

batches_before = batches()
st, body, _ = srv.request("POST", "/v1/best?top=2&fps=10", mp, {"Content-Type": ctype})
if batches() <= batches_before:
    fail("/v1/best: its crops were not scored by the engine thread (no batch in /metrics)")
if st != 200 or body["frames"] != 12 or body["error"] is not None:
    fail(f"best: {st} {str(body)[:300]}")
want = list(csv.DictReader(open(os.path.join(WORK, "best_ref", "best.csv"))))
got = [(t["track"], b) for t in body["tracks"] for b in t["best"]]
if len(got) != len(want) or len(body["tracks"]) != 2:
    fail(f"best: {len(got)} kept faces in {len(body['tracks'])} tracks, vitnt best {len(want)}")
for (track, b), w in zip(got, want):
    if (track, b["rank"], b["frame"]) != (int(w["track"]), int(w["rank"]), int(w["frame"])):
        fail(f"best: track/rank/frame {track, b['rank'], b['frame']} != {w}")
    if f32(b["quality"]) != f32(w["quality"]) or abs(b["box"][0] - float(w["box_x"])) > 0.006:
        fail(f"best: quality/box {b['quality']} {b['box']} != {w['quality']} {w['box_x']}")
if any(t["faces"] != 12 for t in body["tracks"]):
    fail(f"best: faces per track {[t['faces'] for t in body['tracks']]}, expected 12 each")
# a broken frame is reported, the others tracked; bad parameters are 400
mp, ctype = multipart(burst[:5] + [b"not an image"] + burst[6:])
st, body, _ = srv.request("POST", "/v1/best", mp, {"Content-Type": ctype})
if st != 200 or body["error"]["code"] != "bad_frames" or "frame 5" not in body["error"]["message"]:
    fail(f"best with a broken frame: {st} {str(body)[:300]}")
if sum(t["faces"] for t in body["tracks"]) != 22:
    fail("best with a broken frame: the 11 good frames' faces not all tracked")
for q in ("top=0", "top=1.5", "fps=-1", "stride=x", "faces=some", "min_gap_s="):
    expect_error(srv.request("POST", "/v1/best?" + q, mp, {"Content-Type": ctype}), 400, "bad_query")
print("ok: /v1/best equals vitnt best on the same frames")

# 5. per-image errors next to scored images
mp, ctype = multipart([data[crops[6]], b"not an image at all", data[photos[0]]])
st, body, _ = srv.request("POST", "/v1/quality", mp, {"Content-Type": ctype})
if st != 200:
    fail(f"mixed: {st} {body}")
same(body["images"][0]["faces"][0], crops[6])
codes = [im["error"] and im["error"]["code"] for im in body["images"]]
if codes != [None, "decode_failed", "bad_size"] or body["images"][1]["faces"]:
    fail(f"mixed errors: {codes}")
print("ok: per-image errors")


# 6. the bad-request corpus; the server keeps serving after each
def png_header(w, h):
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk +
            struct.pack(">I", zlib.crc32(chunk)) + b"\0" * 64)


def raw(payload, hold=False):
    s = socket.create_connection((srv.host, srv.port), timeout=30 * SLOW)
    s.sendall(payload)
    if not hold:
        s.shutdown(socket.SHUT_WR)
    reply = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
    except socket.timeout:
        fail("raw socket: no answer within the timeout")
    s.close()
    return reply


def still_serving():
    same(score_one(srv, crops[7])["images"][0]["faces"][0], crops[7])


jpg = data[crops[0]]
head = (f"POST /v1/quality HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
        f"Content-Length: {len(jpg)}\r\n\r\n").encode()
reply = raw(head + jpg[: len(jpg) // 2])  # truncated body, then the client closes
if reply and not reply.startswith(b"HTTP/1.1 400"):
    fail(f"truncated body: {reply[:80]!r}")
still_serving()
lie = (f"POST /v1/quality HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
       f"Content-Length: {len(jpg) + 5000}\r\n\r\n").encode()
reply = raw(lie + jpg, hold=True)  # Content-Length larger than what is sent; socket held open
if reply and not reply.startswith(b"HTTP/1.1 400"):
    fail(f"lying Content-Length: {reply[:80]!r}")
still_serving()
print("ok: truncated body, lying Content-Length (raw socket)")

mp, _ = multipart([jpg], boundary="one-boundary")
expect_error(srv.request("POST", "/v1/quality", mp,
                         {"Content-Type": "multipart/form-data; boundary=other-boundary"}), 400)
still_serving()
expect_error(srv.request("POST", "/v1/quality", json.dumps({"images": [{"base64": "@@not base64@@"}]}),
                         {"Content-Type": "application/json"}), 400, "bad_base64")
expect_error(srv.request("POST", "/v1/quality", b"", {"Content-Type": "image/jpeg"}), 400)
expect_error(srv.request("POST", "/v1/quality", png_header(20000, 20000),
                         {"Content-Type": "image/png"}), 413, "too_large")
expect_error(srv.request("POST", "/v1/quality", jpg, {"Content-Type": "text/plain"}), 415)
expect_error(srv.request("POST", "/v1/quality", "[" * 10000 + "]" * 10000,
                         {"Content-Type": "application/json"}), 400, "bad_json")
expect_error(srv.request("POST", "/v1/quality", "{" * 10000,
                         {"Content-Type": "application/json"}), 400, "bad_json")
expect_error(srv.request("POST", "/v1/quality", b"{\"images\": [" + b"1," * 1_500_000 + b"1]}",
                         {"Content-Type": "application/json"}), 413)
expect_error(srv.request("POST", "/v1/quality", "{not json", {"Content-Type": "application/json"}),
             400, "bad_json")
expect_error(srv.request("POST", "/v1/quality?detect=2", jpg, {"Content-Type": "image/jpeg"}),
             400, "bad_query")
expect_error(srv.request("POST", "/v1/quality?faces=some", jpg, {"Content-Type": "image/jpeg"}),
             400, "bad_query")
st, body, _ = srv.request("POST", "/v1/quality", photos and data[photos[0]],
                          {"Content-Type": "image/jpeg"})
if st != 200 or body["images"][0]["error"]["code"] != "bad_size":
    fail(f"a photo with detect=0: {st} {body}")
still_serving()
print("ok: bad-request corpus")

# 7. 16 parallel clients
results, errors = {}, []


def client(i):
    try:
        for k in range(3):
            p = crops[(i + k) % len(crops)]
            results[(i, k)] = (p, score_one(srv, p)["images"][0]["faces"][0])
    except BaseException as e:  # noqa: B036 (reported below)
        errors.append(repr(e))


threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if errors or len(results) != 48:
    fail(f"parallel clients: {errors[:3]}")
for p, face in results.values():
    same(face, p)
st, text, _ = srv.request("GET", "/metrics")
for needle in ['vitnt_requests_total{code="200"}', "vitnt_batch_size_bucket", "vitnt_queue_depth",
               "vitnt_request_duration_seconds_count", "vitnt_faces_total"]:
    if needle not in text:
        fail(f"/metrics lacks {needle}")
print("ok: 16 parallel clients, /metrics")

# 7b. connections: a client keeps its keep-alive connection (cpp-httplib's default closed it
# after 5 requests, so every client reconnected every 5 requests), and the listen backlog
# is the system's limit, not cpp-httplib's 5 (64 clients connecting at once overflowed it:
# each dropped handshake cost its client a 1-7 s SYN-ACK retransmission)
conn = http.client.HTTPConnection(srv.host, srv.port, timeout=60 * SLOW)
for k in range(12):
    conn.request("POST", "/v1/quality", body=open(crops[k % len(crops)], "rb").read(),
                 headers={"Content-Type": "image/jpeg"})
    r = conn.getresponse()
    r.read()
    if r.status != 200 or r.getheader("Connection", "").lower() == "close" or r.will_close:
        fail(f"keep-alive: request {k + 1} on one connection answered {r.status}, "
             f"Connection: {r.getheader('Connection')}")
conn.close()
ss = subprocess.run(["ss", "-ltnH", f"sport = :{srv.port}"], capture_output=True, text=True)
if ss.returncode != 0 or not ss.stdout.split():
    fail(f"ss (iproute2) could not list the listening socket: {ss.stderr}")
backlog = int(ss.stdout.split()[2])  # Send-Q of a listening socket: its backlog
if backlog < 128:
    fail(f"listen backlog {backlog}: 64 simultaneous clients would overflow it")
print(f"ok: 12 requests on one keep-alive connection, listen backlog {backlog}")

# 8. SIGTERM: the request in flight is answered, then the server exits 0
mp, ctype = multipart([data[p] for p in crops[:16]])
inflight = {}


def slow():
    try:
        inflight["res"] = srv.request("POST", "/v1/quality", mp, {"Content-Type": ctype})
    except BaseException as e:  # noqa: B036
        inflight["err"] = repr(e)


t = threading.Thread(target=slow)
t.start()
time.sleep(0.3 * SLOW)  # the request is sent and being decoded or scored
srv.stop()
t.join()
if "res" not in inflight or inflight["res"][0] != 200 or len(inflight["res"][1]["images"]) != 16:
    fail(f"in-flight request at SIGTERM: {inflight}")
try:
    socket.create_connection((srv.host, srv.port), timeout=2).close()
    fail("still accepting after SIGTERM")
except OSError:
    pass
print("ok: SIGTERM answers in-flight requests, exits 0")

# 9. API keys, queue bound
keyfile = os.path.join(WORK, "keys.txt")
open(keyfile, "w").write("# test keys\nsecret-key-1\n\nsecret-key-2\n")
srv = Server("--api-key-file", keyfile, "--queue", "2")
img = {"Content-Type": "image/jpeg"}
expect_error(srv.request("POST", "/v1/quality", jpg, img), 401, "unauthorized")
expect_error(srv.request("POST", "/v1/quality", jpg, {**img, "Authorization": "Bearer secret-key-"}),
             401)
res = srv.request("GET", "/v1/model")
expect_error(res, 401)
# the page's files are open without a key (the page must load to ask for it); every answer,
# the API's included, carries the page's security headers and no CORS header
for path, ctype in [("/", "text/html"), ("/app.js", "text/javascript"), ("/style.css", "text/css")]:
    st, text, r = srv.request("GET", path)
    if st != 200 or not r.getheader("Content-Type", "").startswith(ctype) or not text:
        fail(f"GET {path} without a key: {st} {r.getheader('Content-Type')}")
    check_schema("GET", path, st, text)
    if text != open(os.path.join(SRC, "src/serve/web", path.strip("/") or "index.html")).read():
        fail(f"GET {path}: not the bytes of src/serve/web")
    for r2 in (r, res[2]):
        if ("script-src 'self'" not in (r2.getheader("Content-Security-Policy") or "") or
                r2.getheader("X-Content-Type-Options") != "nosniff" or
                r2.getheader("Access-Control-Allow-Origin") is not None):
            fail(f"GET {path}: security headers {r2.getheaders()}")
st, body, _ = srv.request("POST", "/v1/quality", jpg, {**img, "Authorization": "Bearer secret-key-2"})
if st != 200:
    fail(f"right key (Bearer): {st}")
same(body["images"][0]["faces"][0], crops[0])
st, body, _ = srv.request("POST", "/v1/quality", jpg, {**img, "X-API-Key": "secret-key-1"})
if st != 200:
    fail(f"right key (X-API-Key): {st}")
mp, ctype = multipart([data[p] for p in crops[:3]])
res = srv.request("POST", "/v1/quality", mp, {"Content-Type": ctype, "X-API-Key": "secret-key-1"})
expect_error(res, 503, "queue_full")
if res[2].getheader("Retry-After") != "1":
    fail("503 without Retry-After: 1")
srv.stop()
print("ok: API keys (401 / 200; the page open, with its CSP), queue bound (503 + Retry-After)")

# 10. --engine-cpus: the model's threads on those CPUs, the request threads on the others,
# the same numbers; a CPU the process may not use is refused before anything is loaded
mine = sorted(os.sched_getaffinity(0))
if len(mine) >= 2:
    srv = Server("--engine-cpus", str(mine[0]))
    st, body, _ = srv.request("POST", "/v1/quality", jpg, {"Content-Type": "image/jpeg"})
    if st != 200:
        fail(f"--engine-cpus: {st}")
    same(body["images"][0]["faces"][0], crops[0])
    placed = {}
    for tid in os.listdir(f"/proc/{srv.proc.pid}/task"):
        comm = open(f"/proc/{srv.proc.pid}/task/{tid}/comm").read().strip()
        cpus = tuple(sorted(os.sched_getaffinity(int(tid))))
        placed.setdefault(comm == "vitnt-engine", set()).add(cpus)
    if placed.get(True) != {(mine[0],)}:
        fail(f"--engine-cpus {mine[0]}: engine threads on {placed.get(True)}")
    if placed.get(False) != {tuple(mine[1:])}:
        fail(f"--engine-cpus {mine[0]}: request threads on {placed.get(False)}, not {mine[1:]}")
    st, model, _ = srv.request("GET", "/v1/model")
    if model["settings"]["engine_cpus"] != [mine[0]] or model["settings"]["threads"] != 1:
        fail(f"--engine-cpus: settings {model['settings']}")
    srv.stop()
    print(f"ok: --engine-cpus {mine[0]}: engine threads there, request threads on {mine[1:]}")
else:
    print("skipped: --engine-cpus placement (this process may use one CPU only)")
p = subprocess.run([VITNT, "serve", "--port", "0", "--engine-cpus", "4096"], capture_output=True,
                   text=True, timeout=60)
if p.returncode != 1 or "--engine-cpus" not in p.stderr or "4096" not in p.stderr:
    fail(f"--engine-cpus 4096: rc {p.returncode}, {p.stderr!r}")
print("ok: --engine-cpus with a CPU the process may not use exits 1")

# 11. a non-loopback host without keys is refused before anything is loaded
p = subprocess.run([VITNT, "serve", "--host", "0.0.0.0", "--port", "0"], capture_output=True,
                   text=True, timeout=60)
if p.returncode != 1 or "api-key-file" not in p.stderr:
    fail(f"non-loopback host without key: rc {p.returncode}, {p.stderr!r}")
print("ok: non-loopback --host without --api-key-file exits 1")

# 12. bf16 where oneDNN cannot run it (forced with ONEDNN_MAX_CPU_ISA, any CPU): the server
# refuses at start, exit 1, naming the missing feature and fp32
p = subprocess.run([VITNT, "serve", "--port", "0", "--precision", "bf16"], capture_output=True,
                   text=True, timeout=60, env=dict(os.environ, ONEDNN_MAX_CPU_ISA="AVX2"))
if p.returncode != 1 or "AVX512-BF16" not in p.stderr or "fp32" not in p.stderr:
    fail(f"bf16 under ONEDNN_MAX_CPU_ISA=AVX2: rc {p.returncode}, {p.stderr!r}")
print("ok: serve --precision bf16 without CPU support exits 1:", p.stderr.strip()[:100])
print("all serve tests passed")
