"""The replication targets' own statistics (STUDY.md, "Replication targets"), computed
exactly as their papers define them, so that the package's numbers compare like with like."""
