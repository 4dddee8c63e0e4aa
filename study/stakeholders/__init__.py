"""C7: stakeholder personas extracted from documents, judging and debating (STUDY.md,
"C7: stakeholder personas from documents")."""
