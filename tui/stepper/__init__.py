"""The generator stepper's widgets and screens, and ``mpscope gen`` (the stepper on its own)."""
