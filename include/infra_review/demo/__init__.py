"""The bundled sample quarter and the `make demo` walk-through."""
