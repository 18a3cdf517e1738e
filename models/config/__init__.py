"""Configuration: the settings read from ``LEADFLOW_`` environment variables
(:mod:`models.config.settings`) and the default policy shipped as ``policy.yaml``, with
the reader of a commission's own policy file (:mod:`models.config.policy`). It imports
the policy's models from :mod:`models.domain` and the YAML reader from
:mod:`models.inputs`.
"""
