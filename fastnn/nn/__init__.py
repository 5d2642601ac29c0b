"""The network's parts, built on :mod:`fastnn.ops`: activation functions,
initializers, losses, optimizers and layers. Users import them from the public
namespaces ``fastnn.activations``, ``fastnn.initializers``, ``fastnn.losses``,
``fastnn.optimizers`` and ``fastnn.layers``, which re-export these modules."""
