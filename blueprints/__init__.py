"""One blueprint per API surface; each view parses, calls a service, renders."""
