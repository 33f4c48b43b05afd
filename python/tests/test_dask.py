"""vitnt.dask on a LocalCluster of 2 worker processes (1 thread each), against the CLI:
the same numbers, bad images as rows with an error, the model loaded once per worker;
`python3 -m vitnt.dask`: shards written atomically, reruns resume, another job refused.

Usage: test_dask.py VITNT SOURCE_DIR WORK_DIR   (with `vitnt` importable)
Exit 77 (skipped) when the LFW crops of the shared folder are missing.
"""

import csv
import os
import subprocess
import sys

import numpy as np

import vitnt
import vitnt.dask as vd
from test_setup import setup


def check(cond, what):
    if not cond:
        print(f"FAIL: {what}")
        sys.exit(1)


def main():
    # Everything runs here: the spawned worker processes import this file as
    # __mp_main__, and must not run the test again.
    VITNT, SRC, WORK, LFW, MODEL = setup(sys.argv)

    # 100 real crops, three bad inputs among them (in partitions 0, 2 and 4 of 20 each)
    good = sorted(os.path.join(d, f) for d, _, fs in os.walk(LFW) for f in fs if f.endswith(".jpg"))
    good = good[::71][:100]
    with open(good[0], "rb") as f, open(os.path.join(WORK, "truncated.jpg"), "wb") as g:
        g.write(f.read(2500))
    with open(os.path.join(WORK, "notes.png"), "w") as f:
        f.write("not an image\n")
    inputs = list(good)
    inputs.insert(5, os.path.join(WORK, "truncated.jpg"))
    inputs.insert(45, os.path.join(WORK, "missing.jpg"))
    inputs.insert(85, os.path.join(WORK, "notes.png"))
    bad = {5, 45, 85}
    listfile = os.path.join(WORK, "list.txt")
    with open(listfile, "w") as f:
        f.write("# test inputs\n" + "\n".join(inputs) + "\n")

    # reference: the CLI on the readable ones
    subprocess.run([VITNT, "score", "--model", MODEL, "--threads", "1", "--embedding", "-o",
                    os.path.join(WORK, "ref.csv")] + good, check=True, stderr=subprocess.DEVNULL)
    ref = {}
    with open(os.path.join(WORK, "ref.csv")) as f:
        rows = list(csv.reader(f))
        assert rows[0][:4] == ["path", "quality", "scalar", "scalar_for"], rows[0][:4]
        for row in rows[1:]:  # quality, then the embedding; the scalar (column 2) apart
            ref[row[0]] = np.array([float(x) for x in row[1:2] + row[4:]], np.float32)
            ref[row[0] + "#scalar"] = float(row[2]) if row[2] else np.nan
            ref[row[0] + "#for"] = row[3] or None

    def compare(df, what):
        """df (pandas): rows in input order, good ones equal to the CLI, bad ones with errors."""
        check(list(df["path"]) == inputs, f"{what}: paths/order differ from the inputs")
        check(df["quality"].dtype == np.float32, f"{what}: quality dtype {df['quality'].dtype}")
        emb_cols = [c for c in df.columns if c.startswith("emb_")]
        check(len(emb_cols) == 512, f"{what}: {len(emb_cols)} embedding columns")
        q = df["quality"].to_numpy()
        e = df[emb_cols].to_numpy(np.float32)
        de = 0.0
        for i, p in enumerate(inputs):
            err = df["error"].iloc[i]
            if i in bad:
                check(isinstance(err, str) and err and np.isnan(q[i]) and np.isnan(e[i]).all(),
                      f"{what}: bad input {p} not reported: error={err!r} quality={q[i]}")
            else:
                check(err is None, f"{what}: error {err!r} on a good image {p}")
                check(q[i] == ref[p][0], f"{what}: {p}: quality {q[i]!r} vs CLI {ref[p][0]!r}")
                sc = df["scalar"].iloc[i]
                check(sc == ref[p + "#scalar"] or (np.isnan(sc) and np.isnan(ref[p + "#scalar"])),
                      f"{what}: {p}: scalar {sc!r} vs CLI {ref[p + '#scalar']!r}")
                check(df["scalar_for"].iloc[i] == ref[p + "#for"],
                      f"{what}: {p}: scalar_for {df['scalar_for'].iloc[i]!r} vs CLI {ref[p + '#for']!r}")
                de = max(de, float(np.abs(e[i] - ref[p][1:]).max()))
        # tasks score partitions of 20, the CLI batches of 32: results do not depend on it
        check(de <= 1e-6, f"{what}: embedding differs from the CLI by {de}")
        check("truncated" in df["error"].iloc[5] and "no such file" in df["error"].iloc[45],
              f"{what}: error texts {df['error'].iloc[5]!r}, {df['error'].iloc[45]!r}")
        return de


    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
    try:
        # 1. the API: shards + the frame read back, then the lazy frame
        out1 = os.path.join(WORK, "out1")
        df = vd.score_files(listfile, MODEL, out1, client=client, partition_size=20,
                            embedding=True, format="csv").compute()
        de = compare(df, "score_files(output)")
        lazy = vd.score_files(inputs, MODEL, partition_size=33, embedding=True)
        check(lazy.npartitions == 4, f"lazy frame has {lazy.npartitions} partitions")
        compare(lazy.compute().reset_index(drop=True), "score_files() lazy")
        # another calibration block: the same Q, that block's scalars, named in scalar_for
        blocks = [b["name"] for b in vitnt.Model(MODEL).config["calibrations"]]
        other = blocks[-1]
        good_paths = [p for i, p in enumerate(inputs) if i not in bad][:20]
        o = vd.score_files(good_paths, MODEL, partition_size=10, calibration_for=other).compute()
        want = vitnt.Model(MODEL, threads=1).score(good_paths, calibration_for=other)
        check(list(o["scalar_for"]) == [other] * len(good_paths) and
              np.array_equal(o["scalar"].to_numpy(), want.scalar.astype(np.float32)),
              f"calibration_for={other!r}: {list(o['scalar_for'])[:3]} {o['scalar'].to_numpy()[:3]}")
        try:
            vd.score_files(good_paths, MODEL, partition_size=10, calibration_for="arcface").compute()
            check(False, "an unknown calibration_for was accepted")
        except ValueError as e:
            check("'arcface'" in str(e), f"unknown calibration_for: {e}")
        loads = client.run(lambda: __import__("vitnt.dask").dask.load_count)
        print(f"models loaded per worker: {loads} (for 6 + 4 tasks); max |d emb| vs CLI {de:.1e}")
        check(all(n <= 1 for n in loads.values()) and sum(loads.values()) >= 1,
              f"model not loaded once per worker: {loads}")

        # bf16 through the cluster: what vitnt.Model(precision="bf16") gives in-process
        # (where the CPU runs bf16; elsewhere the refusal reaches the caller)
        try:
            want = vitnt.Model(MODEL, threads=1, precision="bf16").score(inputs,
                                                                          errors="report")
        except vitnt.UnsupportedError:
            want = None
        if want is not None:
            b = vd.score_files(inputs, MODEL, partition_size=50, precision="bf16").compute()
            bq = b["quality"].to_numpy()
            check(np.array_equal(np.isnan(bq), np.isnan(want.quality)) and
                  np.array_equal(bq[~np.isnan(bq)], want.quality[~np.isnan(want.quality)]),
                  "bf16 on the cluster differs from vitnt.Model(precision='bf16')")
        else:
            try:
                vd.score_files(inputs, MODEL, partition_size=50, precision="bf16").compute()
                check(False, "bf16 accepted on the cluster without CPU support")
            except ValueError as e:
                check("AVX512-BF16" in str(e), f"bf16 refusal message: {e}")
        try:
            vd.score_files(inputs, MODEL, partition_size=50, precision="fp16")
            check(False, "precision='fp16' accepted")
        except vitnt.Error as e:
            check("precision must be" in str(e), f"bad precision message: {e}")

        # 2. the command: connecting to a scheduler; then a resume on its own LocalCluster
        out2 = os.path.join(WORK, "out2")
        cmd = [sys.executable, "-m", "vitnt.dask", listfile, out2, "--model", MODEL,
               "--partition-size", "20", "--embedding"]
        r = subprocess.run(cmd + ["--scheduler", cluster.scheduler_address],
                           capture_output=True, text=True)
        print(r.stderr.strip().splitlines()[-1])
        check(r.returncode == 2, f"exit code {r.returncode} (expected 2: 3 bad images)\n{r.stderr}")
        shards = sorted(f for f in os.listdir(out2) if f.startswith("part-"))
        check(shards == [f"part-0000{i}.csv" for i in range(6)], f"shards {shards}")
        check(not [f for f in os.listdir(out2) if ".tmp" in f], "temporary files left behind")
        compare(vd.read_shards(out2).compute().reset_index(drop=True), "python3 -m vitnt.dask")

        p2 = os.path.join(out2, "part-00002.csv")
        before = open(p2).read()
        os.remove(p2)
        with open(os.path.join(out2, ".part-00002.csv.tmp-deadbeef"), "w") as f:
            f.write("half a shard")  # what an interrupted run leaves
        mtimes = {f: os.stat(os.path.join(out2, f)).st_mtime_ns
                  for f in shards if f != "part-00002.csv"}
        r = subprocess.run(cmd + ["--workers", "2", "--threads-per-worker", "1"],
                           capture_output=True, text=True)
        check(r.returncode == 2 and "1 of 6 partitions scored (5 already complete)" in r.stderr,
              f"resume: rc {r.returncode}\n{r.stderr}")
        check(open(p2).read() == before, "resumed shard differs from the first run's")
        check(all(os.stat(os.path.join(out2, f)).st_mtime_ns == t for f, t in mtimes.items()),
              "complete shards were rewritten")
        check(not [f for f in os.listdir(out2) if ".tmp" in f], "stale temporary file kept")
        r = subprocess.run(cmd, capture_output=True, text=True)
        check(r.returncode == 0 and "0 of 6 partitions scored" in r.stderr,
              f"complete job rerun: rc {r.returncode}\n{r.stderr}")
        r = subprocess.run(cmd[:-1] + ["--patch-map"], capture_output=True, text=True)
        check(r.returncode == 1 and "another job" in r.stderr and "settings" in r.stderr,
              f"other settings into the same folder: rc {r.returncode}\n{r.stderr}")
        out4 = os.path.join(WORK, "out4")
        r = subprocess.run(cmd[:4] + [out4, "--model", os.path.join(WORK, "nope.safetensors"),
                                      "--scheduler", cluster.scheduler_address],
                           capture_output=True, text=True)
        check(r.returncode == 1 and "nope.safetensors: cannot open" in r.stderr,
              f"missing model: rc {r.returncode}\n{r.stderr}")
        r = subprocess.run(cmd[:4] + [out4, "--model", MODEL, "--partition-size", "50",
                                      "--scheduler", cluster.scheduler_address],
                           capture_output=True, text=True)  # the folder of a failed start is reused
        check(r.returncode == 2 and "3 of 3 partitions scored" in r.stderr,
              f"after a failed start: rc {r.returncode}\n{r.stderr}")
        r = subprocess.run(cmd[:3] + [os.path.join(WORK, "nope", "*.jpg"), out2, "--model", MODEL],
                           capture_output=True, text=True)
        check(r.returncode == 1 and "matches no files" in r.stderr, f"empty glob: {r.stderr}")

        # 3. Parquet only with an engine; without one, a clear error
        if vd.parquet_available():
            dfp = vd.score_files(listfile, MODEL, os.path.join(WORK, "out3"), client=client,
                                 partition_size=50, embedding=True, format="parquet").compute()
            compare(dfp.reset_index(drop=True), "parquet shards")
        else:
            try:
                vd.score_files(listfile, MODEL, os.path.join(WORK, "out3"), format="parquet")
                check(False, "format='parquet' without an engine did not fail")
            except vitnt.Error as e:
                check("pyarrow" in str(e), f"parquet error message: {e}")
            print("no Parquet engine here: CSV shards tested, Parquet refused with a clear error")
    finally:
        client.close()
        cluster.close()
    print("python_dask: OK")


if __name__ == "__main__":
    main()
