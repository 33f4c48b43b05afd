"""The shared start of the Python tests: arguments, the shared folder, a fresh WORK."""
import os
import shutil
import sys


def setup(argv):
    """argv = [script, VITNT, SOURCE_DIR, WORK_DIR] -> (VITNT, SRC, WORK, LFW, MODEL).
    Exits 77 (skipped) with a message naming the folder when the LFW crops are missing."""
    vitnt_bin, src, work = argv[1:4]
    shared = os.environ.get("VITNT_SHARED", os.path.join(src, "..", "shared"))
    lfw = os.path.join(shared, "data", "lfw112", "images")
    model = os.path.join(src, "models", "vitnt-s16.safetensors")
    if not os.path.isdir(lfw):
        print(f"SKIP: {lfw} missing (set VITNT_SHARED to the shared folder)")
        sys.exit(77)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    return vitnt_bin, src, work, lfw, model
