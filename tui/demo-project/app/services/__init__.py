"""Service layer added in 2.x: notifications and message routing."""
