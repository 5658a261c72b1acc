// Intentionally empty: this target exists so that Swift can import include/keybound.h.
