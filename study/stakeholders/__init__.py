"""C7: stakeholder personas extracted from documents, judging human responses and debating."""
