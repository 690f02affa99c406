"""Resuming a run: which run folder (``resume=PATH`` or ``resume=auto``, the newest run with
``weights/last.pt``), and the refusal to resume when a key the user gave would change the result
(every key but :data:`~pixlearn.engine.config.RESULT_NEUTRAL_KEYS`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pixlearn._core.errors import ValueRangeError
from pixlearn.engine.config import RESULT_NEUTRAL_KEYS, RunConfig, build_config, load_yaml
from pixlearn.engine.runs import find_last_run, read_args, recover_file
from pixlearn.engine.task import Task

__all__ = ["resume_config", "user_keys"]


def user_keys(overrides: Mapping[str, Any], config: Any) -> dict[str, Any]:
    """The keys the user gave: the config file's (or mapping's), overridden by ``overrides``."""
    given = dict(load_yaml(config) if isinstance(config, (str, Path)) else dict(config or {}))
    given.update(overrides)
    return given


def resume_config(
    cls: type[Task], overrides: Mapping[str, Any], config: Any
) -> tuple[RunConfig, Path]:
    """The saved config of the run to resume, checked against what the user asked for."""
    given = user_keys(overrides, config)
    probe = build_config(cls.config_class, given)
    spec = str(probe.resume)
    if spec == "auto":
        found = find_last_run(probe.project, cls.name)
        if found is None:
            raise FileNotFoundError(f"resume=auto: no run with weights/last.pt in {probe.project}")
        run_dir = found
    else:
        p = Path(spec)
        run_dir = p.parent.parent if p.is_file() else p
    recover_file(run_dir / "weights" / "last.pt")  # a crash between removal and rename
    if not (run_dir / "weights" / "last.pt").is_file():
        raise FileNotFoundError(f"resume: no weights/last.pt in {run_dir}")
    saved = read_args(run_dir)
    saved_cfg = build_config(cls.config_class, saved)
    differ = []
    for key in given:
        if key in RESULT_NEUTRAL_KEYS:
            continue
        if getattr(probe, key) != getattr(saved_cfg, key):
            differ.append(f"{key} ({getattr(saved_cfg, key)!r} -> {getattr(probe, key)!r})")
    if differ:
        raise ValueRangeError(
            f"resume: refusing to resume {run_dir}: these keys would change the result: "
            + ", ".join(differ)
        )
    neutral = {k: v for k, v in given.items() if k in RESULT_NEUTRAL_KEYS}
    cfg = build_config(cls.config_class, {**saved, **neutral, "resume": str(run_dir)})
    return cfg, run_dir
