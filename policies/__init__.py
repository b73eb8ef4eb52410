"""Policies that produce `robostack.types.TrajectoryChunk`: the DiT diffusion policy, baselines,
datasets, training and evaluation. Not built yet: the spine's built-in references
(`robostack.references`) stand in as the chunk source until the DiT policy lands."""
