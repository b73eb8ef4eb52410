"""The language-goal launcher: a sentence and a launch file make a session.

`goals` turns the sentence into a task and its slots (or refuses it), `launch_file` reads and
validates the TOML launch file, `plan` joins both into a `LaunchPlan` checked before anything
moves, and `session` runs it.
"""
