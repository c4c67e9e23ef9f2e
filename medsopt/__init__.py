"""medsopt: medicines-optimisation decision support over dm+d codes."""

__version__ = "0.1.0"
