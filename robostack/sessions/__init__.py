"""Sessions built on the runtime: task episodes (`episodes`), reference tracking (`tracking`),
demonstration collection (`collect`), dataset replay (`replay`), policy evaluation
(`evaluation`), Gymnasium and dm_env environments (`envs`), the policy server of a split
session (`policy_server`) and episodes spread over Ray (`distributed`)."""
