"""Print the folder holding the lmms-eval task files (for ``--include_path``)."""

from generator.running.integrations.lmms_eval import TASK_DIR

print(TASK_DIR)
