"""The public API v1 (`/api/v1` on a tenant's host, `/t/<slug>/api/v1` in path mode), its tokens,
its OpenAPI document and signed webhooks."""
