"""The API's handlers, one module per family of endpoints (API.md)."""
