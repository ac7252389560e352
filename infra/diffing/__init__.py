"""Parts of `mlops diff` (infra/diff.py): comparison, replacement rules, git and planning, rendering."""
