# Type hints of the vitnt package (the classes live in the compiled vitnt._vitnt).
import os
from typing import Literal, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

__version__: str

StrPath = Union[str, os.PathLike[str]]

class Error(RuntimeError):
    """A failure of the C++ core; the message names the file/tensor and the problem."""

class UnsupportedError(ValueError):
    """What this CPU cannot run (bf16 without AVX512-BF16 or AMX); names the missing feature."""

class Scores:
    """Result of Model.score; row i is input i."""

    @property
    def quality(self) -> npt.NDArray[np.float32]: ...  # (N,); NaN where the input failed
    @property
    def embedding(self) -> Optional[npt.NDArray[np.float32]]: ...  # (N, E) or None
    @property
    def patch_map(self) -> Optional[npt.NDArray[np.float32]]: ...  # (N, h, w) or None
    @property
    def scalar(self) -> npt.NDArray[np.int16]: ...  # (N,) 0..100; -1 uncalibrated / failed
    @property
    def regions(self) -> Optional[npt.NDArray[np.float32]]: ...  # (N, R) or None
    @property
    def errors(self) -> list[Optional[str]]: ...  # None, or why input i failed
    @property
    def scalar_for(self) -> Optional[str]: ...  # the calibration block of the scalars
    def __len__(self) -> int: ...

class Model:
    """A face ViT loaded for ViTNT quality scoring."""

    def __init__(
        self,
        path: StrPath,
        config: Union[dict, StrPath, None] = None,
        arch: Optional[str] = None,
        threads: Optional[int] = None,
        precision: Literal["fp32", "bf16"] = "fp32",
    ) -> None: ...
    @property
    def path(self) -> str: ...
    @property
    def config(self) -> dict: ...
    def score(
        self,
        images: Union[npt.NDArray[np.uint8], Sequence[StrPath]],
        *,
        blocks: Union[tuple[int, int], str, None] = None,
        scaling: Optional[float] = None,
        aggregation: Optional[Literal["attention-last", "attention-all", "uniform"]] = None,
        embedding: bool = False,
        patch_map: bool = False,
        regions: bool = False,
        channel_order: Literal["RGB", "BGR"] = "RGB",
        resize: bool = False,
        errors: Literal["raise", "report"] = "raise",
        batch_size: int = 32,
        calibration_for: Optional[str] = None,
    ) -> Scores: ...

class FaceDetector:
    """A YuNet face detector (5 landmarks)."""

    def __init__(
        self, path: Optional[StrPath] = None, score_threshold: float = 0.5, max_side: int = 640
    ) -> None: ...
    @property
    def path(self) -> str: ...

def best_frames(
    source: Union[StrPath, Sequence[StrPath]],
    model: Model,
    detector: Union[FaceDetector, StrPath, None] = None,
    *,
    top: int = 1,
    min_gap_s: float = 0.0,
    stride: int = 1,
    faces: Literal["all", "central", "largest"] = "all",
    max_faces: int = 0,
    fps: float = 30.0,
    blocks: Union[tuple[int, int], str, None] = None,
    scaling: Optional[float] = None,
    aggregation: Optional[Literal["attention-last", "attention-all", "uniform"]] = None,
    batch_size: int = 32,
    timeline: bool = False,
    channel_order: Literal["RGB", "BGR"] = "RGB",
    errors: Literal["raise", "warn"] = "raise",
    calibration_for: Optional[str] = None,
) -> list[dict]: ...
def builtin_arch(name: str) -> dict: ...
def builtin_arch_names() -> list[str]: ...
def region_names() -> list[str]: ...
def expand_inputs(inputs: Sequence[str]) -> list[str]: ...

__all__: list[str]
