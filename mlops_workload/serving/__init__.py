"""Entry-point scripts copied into the serving containers (they import only what those images have)."""
