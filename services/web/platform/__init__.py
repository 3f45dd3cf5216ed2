"""The platform admin console: tenants, plans, usage and invoices, on the platform host only."""
