"""The tasks of ``pixlearn <task> <mode>``; importing a task module registers it."""

from pixlearn.engine.tasks.classify import ClassifyConfig, ClassifyTask

__all__ = ["ClassifyConfig", "ClassifyTask"]
