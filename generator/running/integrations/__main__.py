"""Print where the harness task files are, for commands run outside a checkout.

``python -m generator.running.integrations`` -> the inspect-ai task spec and the lmms-eval ``--include_path``.
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent

print(f"inspect-ai task:         {HERE / 'inspect_task.py'}@mmmt_if")
print(f"lmms-eval --include_path {HERE / 'lmms_eval'}")
