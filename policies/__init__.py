"""Policies that produce `robostack.core.types.TrajectoryChunk`s from observations.

- `robostack.policies.features`: the observation / action layout every policy shares;
- `robostack.policies.base`: the `Policy` base class (normalization, shape checks);
- `robostack.policies.dit`: the DiT diffusion policy; `robostack.policies.mlp`: the MLP regression
  baseline;
- `robostack.policies.registry`: policy names -> classes; `robostack.policies.checkpoint`:
  safetensors checkpoints;
- `robostack.policies.language`: task sentences -> embeddings (all-MiniLM-L6-v2, offline);
- `robostack.policies.datasets`: LeRobot v3.0 datasets; `robostack.policies.training`: training (no
  simulator).

Closed-loop use (the policy as the loop's chunk source, evaluation rollouts) lives above, in
`robostack.runtime.policy_source` and `robostack.sessions.evaluation`, because it needs the
simulator.
"""
