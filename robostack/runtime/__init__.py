"""What runs a robot for one session: the 1 kHz control loop (`loop`), the safety monitor
(`safety`), recordings (`recording`), the loop's assembly (`assembly`), robot backends by name
(`backends`), chunk sources (`policy_source`, `remote_source`, `control_link`), and a real
robot's preflight and start move (`preflight`, `start_move`)."""
