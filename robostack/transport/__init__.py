"""The transport of the process split: the control loop and the policy in two processes, over LCM.

In one Python process, inference competes with the 1 kHz loop for the interpreter. Split, the
control process (``robostack control``: robot, loop, safety monitor, recording) and the policy
server (``robostack policy-server``) talk over LCM on channels ``<prefix>_<NAME>``:

==============  ==================  =========================================================
channel         message             from -> to
==============  ==================  =========================================================
OBSERVATION     observation_t       control -> policy, at the policy rate (10 Hz), with the
                                    policy's camera frames (image_t, JPEG or raw)
CHUNK           trajectory_chunk_t  policy -> control, every Ta observations
POLICY_STATUS   policy_status_t     policy -> control, heartbeat (10 Hz): what it serves
STATUS          robot_status_t      control -> anyone, every `status_decimation` ticks
SAFETY          safety_event_t      control -> anyone, every safety event as it happens
STOP            operator_stop_t     anyone -> control (``robostack stop``): STOP
==============  ==================  =========================================================

Modules: `config` (URL, channels, limits, watchdogs), `lcmtypes` (written by lcm-gen from the
.lcm files beside them: `generate`), `codec` (checked decoding), `bus` (opening and handling
the LCM bus), `images` (camera frames in messages), `stats` (latency summaries). The ends
that use them live above: `robostack.runtime.control_link` and
`robostack.runtime.remote_source` (the control process), `robostack.sessions.policy_server`
(the policy process) and `robostack.launcher.supervisor` (both processes for ``robostack
launch --split``).
"""
