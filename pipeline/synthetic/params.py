"""Parameters of the synthetic micro-expression dataset."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pipeline.validation import require

OWNER = "SyntheticParams"

#: CASME II 5-class labels, in the order the generator cycles through them.
CLASSES: tuple[str, ...] = ("happiness", "surprise", "disgust", "repression", "others")


def _check_range(name: str, lo: float, hi: float, *, minimum: float, maximum: float | None = None) -> None:
    require(lo <= hi, OWNER, name, "must be (low, high) with low <= high", (lo, hi))
    bound = f">= {minimum}" if maximum is None else f"within [{minimum}, {maximum}]"
    require(lo >= minimum and (maximum is None or hi <= maximum), OWNER, name, f"must be {bound}", (lo, hi))


@dataclass(frozen=True)
class SyntheticParams:
    """Everything that shapes the synthetic dataset; the same values and seed give the same files.

    Lengths are in pixels of the written frames ("native resolution") and in frames.
    """

    subjects: int = 8
    clips_per_class: int = 2
    amplitude: float = 1.0
    """Peak displacement of the micro-expression at the apex frame, px."""
    amplitude_spread: float = 0.3
    """Per-clip amplitude is drawn uniformly in amplitude * [1 - spread, 1 + spread]."""
    frame_width: int = 320
    frame_height: int = 240
    face_width: tuple[float, float] = (105.0, 125.0)
    """Range of the subjects' face widths (dlib box width) at pose scale 1, px."""
    clip_length: tuple[int, int] = (24, 40)
    """Inclusive range of frames per clip (onset .. offset)."""
    apex_position: tuple[float, float] = (0.3, 0.6)
    """Range of the apex position as a fraction of the clip."""
    pose_scale: float = 0.06
    """Per-clip scale drawn in 1 +/- pose_scale."""
    pose_rotation: float = 6.0
    """Per-clip in-plane rotation drawn in +/- degrees."""
    pose_shift: tuple[float, float] = (20.0, 10.0)
    """Per-clip face position drawn in +/- (x, y) px about the frame centre."""
    drift: float = 0.8
    """Slow head drift over the clip: total translation, px (smooth ramp)."""
    jitter: float = 0.15
    """Per-frame translation jitter, uniform in +/- px."""
    noise: float = 1.5
    """Sensor noise, standard deviation in grey levels (0-255)."""
    blink_probability: float = 0.15
    blink_frames: int = 14
    f_suffix_probability: float = 0.3
    """Chance that a clip folder name ends in 'f' (as EP02_01f in CASME II)."""
    missing_apex_fraction: float = 0.05
    """Fraction of sheet rows whose apex is written '/' (at least one when > 0)."""
    onset_range: tuple[int, int] = (50, 3000)
    """Range of the first frame number of each clip."""
    jpeg_quality: int = 92
    verify_detection: bool = True
    """Redraw a clip's pose if dlib's frontal detector misses the face in its onset frame."""

    def __post_init__(self) -> None:
        def need(ok: bool, name: str, rule: str) -> None:
            require(ok, OWNER, name, rule, getattr(self, name))

        need(1 <= self.subjects <= 99, "subjects", "must be in 1..99")
        need(1 <= self.clips_per_class <= 40, "clips_per_class", "must be in 1..40")
        need(0.0 <= self.amplitude <= 10.0, "amplitude", "must be in [0, 10] px")
        need(0.0 <= self.amplitude_spread < 1.0, "amplitude_spread", "must be in [0, 1)")
        need(self.frame_width >= 160, "frame_width", "must be >= 160")
        need(self.frame_height >= 120, "frame_height", "must be >= 120")
        _check_range("face_width", *self.face_width, minimum=80.0)
        need(
            self.face_width[1] * 1.9 <= min(self.frame_width, self.frame_height * 1.4),
            "face_width",
            f"must fit a {self.frame_width}x{self.frame_height} frame (high <= "
            f"{min(self.frame_width, self.frame_height * 1.4) / 1.9:.0f} px)",
        )
        _check_range("clip_length", *self.clip_length, minimum=5)
        _check_range("apex_position", *self.apex_position, minimum=0.1, maximum=0.9)
        need(0.0 <= self.pose_scale <= 0.2, "pose_scale", "must be in [0, 0.2]")
        need(0.0 <= self.pose_rotation <= 15.0, "pose_rotation", "must be in [0, 15] degrees")
        need(min(self.pose_shift) >= 0, "pose_shift", "must be >= 0")
        for name in ("drift", "jitter", "noise"):
            need(getattr(self, name) >= 0, name, "must be >= 0")
        for name in ("blink_probability", "f_suffix_probability", "missing_apex_fraction"):
            need(0.0 <= getattr(self, name) <= 1.0, name, "must be in [0, 1]")
        need(
            3 <= self.blink_frames <= self.clip_length[0],
            "blink_frames",
            f"must be in 3..{self.clip_length[0]} (the shortest clip)",
        )
        _check_range("onset_range", *self.onset_range, minimum=1)
        need(1 <= self.jpeg_quality <= 100, "jpeg_quality", "must be in 1..100")

    @property
    def frame_shape(self) -> tuple[int, int]:
        """(H, W) of the written frames."""
        return self.frame_height, self.frame_width

    def to_dict(self) -> dict:
        """JSON-serialisable copy (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
