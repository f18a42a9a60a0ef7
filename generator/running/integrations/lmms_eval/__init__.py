"""lmms-eval task files for MMMT-IF (per-turn mode). ``python -m generator.running.integrations.lmms_eval`` prints the
folder to pass as ``--include_path``."""

from pathlib import Path

TASK_DIR = Path(__file__).resolve().parent
