"""`leadflow web`: the JSON API (docs/api.md), served by uvicorn; the workbench's pages
join it here. Every route calls the services, which check the permission table."""

from leadflow.web.app import create_app

__all__ = ["create_app"]
