"""The learning engine: ``pixlearn <task> <mode>`` on Lightning, for every learned task.

A :class:`~pixlearn.engine.task.Task` (``classify``; later ``segment``, ``detect``, ``generate``,
``restore``) supplies data, model, loss, metrics, plots and a prediction writer; the engine
supplies the rest: configs (:mod:`~pixlearn.engine.config`), the LightningModule
(:mod:`~pixlearn.engine.module`), the Trainer and resume (:mod:`~pixlearn.engine.trainer`), run
folders (:mod:`~pixlearn.engine.runs`) and ONNX/TorchScript export (:mod:`~pixlearn.engine.export`).
"""

from pixlearn.engine.api import MODES, RunResult, export, predict, run, train, validate
from pixlearn.engine.config import RunConfig, build_config
from pixlearn.engine.task import TASK_NAMES, Task, get_task, implemented_tasks, register_task

__all__ = [
    "MODES",
    "TASK_NAMES",
    "RunConfig",
    "RunResult",
    "Task",
    "build_config",
    "export",
    "get_task",
    "implemented_tasks",
    "predict",
    "register_task",
    "run",
    "train",
    "validate",
]
