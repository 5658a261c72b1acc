// Intentionally empty: this target exists so that the core can import include/keybound_hints.h (static inline only).
