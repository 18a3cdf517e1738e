"""LeadFlow's product code, in layers (docs/architecture.md): the rules as plain code
(:mod:`models.domain`), the use cases (:mod:`models.services`), the storage
(:mod:`models.store`), the audit trail (:mod:`models.audit`), the documents
(:mod:`models.documents`), what enters (:mod:`models.inputs`) and the configuration
(:mod:`models.config`). Nothing here imports the flows or the command line.
"""
