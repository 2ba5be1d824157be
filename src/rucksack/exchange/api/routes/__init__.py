"""Endpoint handlers, one module per resource. Each takes the service and parsed parameters
(private ones also the authenticated account id, and can only ever touch that account's data)
and returns JSON-able data or raises ApiError."""
