"""Shared low-level utilities (errors, atomic writes, progress, resources, seeded RNG): standard library only.

Every other sub-package may import these; they import nothing else of the package.
"""
