"""Generation: configs and presets, the seeded plan, rendering of rows, image Q&A sources and the pipeline that
writes a dataset folder."""
