"""The reference ML workload: what every cloud's training pipeline runs, and what runs locally.

Modules (one concern each):
  features  the feature schema of the reference model (names, kinds, categories)
  data      synthetic tabular data with a seed and a `shift` knob (stdlib)
  prepare   read, clean and split a data set (stdlib)
  train     fit the scikit-learn pipeline (numpy / scikit-learn)
  evaluate  metrics and the quality gate (numpy / scikit-learn)
  baseline  per-feature baseline statistics written next to the model (stdlib)
  package   the model in each cloud's serving-container layout
  drift     the one drift engine (stdlib: runs in a bare Lambda / Function)
  capture   readers and writers of the clouds' real capture formats (stdlib)
  pipeline  prepare -> train -> evaluate -> baseline -> package, as one call

`python -m mlops_workload --help` runs it locally. A product team replaces it with its own package
that offers the same command line (see README, "Bring your own workload").
"""

__version__ = "1.0.0"
