"""LeadFlow: the lifecycle of case leads (问题线索) in discipline supervision.

This package is the application shell — settings, the command line, schema
migrations. The domain and its storage live in :mod:`models`; orchestration in
:mod:`flows`.
"""
