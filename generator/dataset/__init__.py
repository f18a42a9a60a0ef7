"""The dataset contract: row features and schema, shard writing, folder assembly (card, stats, manifest, the
standalone scorer) and the checks that ``validate`` and ``publish`` run."""
