"""heron.nn.modules: Module, containers and layers, one file per family as in torch.nn.modules.
The public names are exported from heron.nn."""
