"""Code that runs in AWS (Lambda handlers); packaged file by file, not as this package."""
