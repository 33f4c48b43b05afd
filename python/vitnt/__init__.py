"""ViTNT-FIQA face image quality from one forward pass of a face ViT.

The C++ core of the `vitnt` command, for Python:

    import vitnt
    model = vitnt.Model("models/vitnt-s16.safetensors")
    s = model.score(images)            # uint8 (N, 112, 112, 3), RGB
    s = model.score(["a.jpg", "b.jpg"], embedding=True)
    s.quality, s.embedding             # numpy float32 (N,), (N, E)

Best shots of videos and bursts: `vitnt.best_frames(video, model, detector, top=3)`.

Scoring many files on a Dask cluster: `vitnt.dask.score_files` or
`python3 -m vitnt.dask --help`.
"""

from ._vitnt import (Error, FaceDetector, Model, Scores, UnsupportedError, best_frames,
                     builtin_arch, builtin_arch_names, expand_inputs, region_names)

__version__ = "0.1.0"
__all__ = ["Error", "FaceDetector", "Model", "Scores", "UnsupportedError", "best_frames",
           "builtin_arch",
           "builtin_arch_names", "expand_inputs", "region_names"]
