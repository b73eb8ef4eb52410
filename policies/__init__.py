"""Policies that produce `robostack.types.TrajectoryChunk`s from observations.

- `policies.features`: the observation / action layout every policy shares;
- `policies.base`: the `Policy` base class (normalization, shape checks);
- `policies.dit`: the DiT diffusion policy; `policies.mlp`: the MLP regression baseline;
- `policies.registry`: policy names -> classes; `policies.checkpoint`: safetensors checkpoints;
- `policies.language`: task sentences -> embeddings (all-MiniLM-L6-v2, offline);
- `policies.datasets`: LeRobot v3.0 datasets; `policies.training`: training (no simulator).

Closed-loop use (the policy as the loop's chunk source, evaluation rollouts) lives above, in
`robostack.policy_source` and `robostack.evaluation`, because it needs the simulator.
"""
