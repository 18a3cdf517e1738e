"""What enters LeadFlow: the pydantic schemas of leads, the organisation file and the
units' returns (:mod:`models.inputs.schemas`), and the readers of JSON, JSON Lines, YAML
and CSV that turn a file into validated items or problems naming file, line and field
(:mod:`models.inputs.readers`). It imports only :mod:`models.domain`.
"""
