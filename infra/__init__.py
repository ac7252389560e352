"""MLOps platform: one stack spec, three reference architectures, offline plans and policies."""
