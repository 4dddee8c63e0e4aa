"""Placeholder: the data stage is built in issue 2."""
