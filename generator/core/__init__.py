"""The checker core: text units, instruction types with their pure checkers, and answer checks.

Standard library only, and exactly what the released ``scoring.py`` embeds (with :mod:`generator.scoring` and the
parts of :mod:`generator.common` they import).
"""
