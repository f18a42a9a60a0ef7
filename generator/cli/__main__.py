"""``python -m generator.cli``: the same as the ``mmmtif`` command."""

from generator.cli import main

main()
