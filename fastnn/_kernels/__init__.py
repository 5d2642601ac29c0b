"""Compiled kernels. Import them only through :mod:`fastnn.ops`, which validates inputs."""
