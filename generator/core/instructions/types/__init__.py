"""Instruction types, one class each, grouped in modules by category (``case``, ``end``, ``formatting``...).

Every module here is imported by :mod:`generator.core.instructions.registry`; a class with an ``id`` registers
itself when it is defined. A new type is a class in one of these modules (or a new module) plus its wording file
``templates/instructions/<group>.<name>.j2``.
"""
