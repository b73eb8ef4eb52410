"""``robostack bench``: benchmarks that report ratios measured within one run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from robostack.cli.options import add_json, add_ray, add_runs_dir, ray_cluster
from robostack.controllers import CONTROLLER_NAMES
from robostack.core.paths import CHECKPOINTS, LAUNCH_FILES
from robostack.core.robots import ROBOTS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmarks (ratios measured within one run)")
    benches = p.add_subparsers(dest="bench", required=True, metavar="BENCH")
    control = benches.add_parser(
        "control",
        help="per-tick stack overhead against raw mj_step",
        description="Times raw mj_step and full control-loop ticks on the same MuJoCo model in "
        "one run and reports medians, p99s and the stack overhead (tick minus physics).",
    )
    control.add_argument("--robot", choices=sorted(ROBOTS), default="panda")
    control.add_argument("--controller", choices=CONTROLLER_NAMES, default="impedance", nargs="+")
    control.add_argument("--ticks", type=int, default=10_000)
    control.add_argument(
        "--record", action="store_true", help="also measure the ticks with the recorder on"
    )
    add_json(control)
    control.set_defaults(run=run_control)
    faults = benches.add_parser(
        "faults",
        help="inject faults into recorded sessions and time the safety reactions",
        description="Runs each fault scenario (NaN reference, reference jump, reference beyond "
        "a limit, torque spike, unstable gains, stale reference, backend read failure, operator "
        "stop, arm driven into the table) in a recorded MuJoCo session and reports the check "
        "that fired, its reaction and the ticks from fault to reaction.",
    )
    faults.add_argument("--robot", choices=sorted(ROBOTS), default="panda")
    add_runs_dir(faults)
    add_json(faults)
    faults.set_defaults(run=run_faults)
    policy = benches.add_parser(
        "policy",
        help="chunk latency at batch 1: DDPM-100, DDIM-10, DPM-Solver-5 and the MLP baseline",
        description="Times one chunk prediction at batch 1 with each sampler of a DiT "
        "checkpoint and with an MLP baseline checkpoint, on this CPU and on a CUDA GPU when "
        "one is available; prints medians, p99s and ratios to DDPM from the same run.",
    )
    policy.add_argument("--checkpoint", type=Path, default=CHECKPOINTS / "reach")
    policy.add_argument("--baseline", type=Path, default=CHECKPOINTS / "obstacle_mlp")
    policy.add_argument("--calls", type=int, default=50, help="timed chunks per sampler")
    policy.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    policy.add_argument(
        "--pixels",
        metavar="CAMERAS",
        help="instead: DDIM-10 of the checkpoint's DiT against the same DiT from these cameras "
        "(e.g. front,wrist; untrained), image encoding included",
    )
    policy.add_argument("--image-size", type=int, default=96, help="with --pixels: square, px")
    policy.add_argument(
        "--image-width",
        type=int,
        default=16,
        help="with --pixels: the image trunk's first-stage channels (default 16, the DiT's; "
        "64: ResNet-18)",
    )
    add_json(policy)
    policy.set_defaults(run=run_policy)
    hardware = benches.add_parser(
        "hardware",
        help="real-robot backends against their stand-ins in real time: tick timing, reactions",
        description="Connects the Franka and UR backends to their simulated stand-ins (one "
        "state per control period in wall time), runs a move paced by the robot and reports the "
        "tick period (median, p99, jitter; ratios to the nominal period), late ticks and lost "
        "packets; then injects a reflex / protective stop and reports the ticks to the STOP.",
    )
    hardware.add_argument("--seconds", type=float, default=3.0, help="length of each move")
    hardware.add_argument(
        "--virtual",
        action="store_true",
        help="drive virtual controllers (robostack virtual-robot, one process each) through "
        "the installed vendor clients instead of the stand-ins",
    )
    add_json(hardware)
    hardware.set_defaults(run=run_hardware)
    simulators = benches.add_parser(
        "simulators",
        help="MuJoCo and PyBullet side by side: gravity agreement, tracking per controller",
        description="Compares PyBullet's gravity torques with the MuJoCo model's at random "
        "configurations, then tracks the built-in references (sweep, IK circle) with each "
        "controller in both simulators, in one run: RMS / max joint error, outcome, events and "
        "the median physics step and tick of each.",
    )
    simulators.add_argument("--robot", choices=sorted(ROBOTS), default=["panda"], nargs="+")
    simulators.add_argument(
        "--controller", choices=CONTROLLER_NAMES, default=list(CONTROLLER_NAMES), nargs="+"
    )
    simulators.add_argument("--samples", type=int, default=200, help="gravity configurations")
    add_json(simulators)
    simulators.set_defaults(run=run_simulators)
    cameras = benches.add_parser(
        "cameras",
        help="cost of one camera frame per simulator and resolution",
        description="Renders the front, overhead and wrist cameras of a task's scene in MuJoCo "
        "(offscreen EGL) and PyBullet (TinyRenderer) at each resolution, in one run; prints "
        "the median and p99 per frame, the share of a policy period (100 ms) one frame of "
        "every camera takes, and PyBullet's time over MuJoCo's.",
    )
    cameras.add_argument("--task", default="push")
    cameras.add_argument("--size", type=int, nargs="+", default=[96, 224], help="square, px")
    cameras.add_argument("--frames", type=int, default=30, help="timed frames per camera")
    add_json(cameras)
    cameras.set_defaults(run=run_cameras)
    images = benches.add_parser(
        "images",
        help="camera frames over LCM: raw RGB against JPEG, bytes, time and pixel error",
        description="Renders the front and wrist cameras of a task's scene in MuJoCo through an "
        "expert episode at each size and sends every frame as a split session would (an "
        "image_t, encoded and decoded with its checks): raw RGB and JPEG at quality 50, 75, 90 "
        "and 95. Prints bytes per frame and per second per camera at 10 Hz, encode + decode "
        "time, and the decoded frame's error (mean absolute, PSNR).",
    )
    images.add_argument("--task", default="push")
    images.add_argument("--size", type=int, nargs="+", default=[96, 224], help="square, px")
    images.add_argument("--frames", type=int, default=10, help="frames per camera")
    images.add_argument(
        "--checkpoint",
        type=Path,
        help="also: this DiT from pixels' chunks from JPEG frames against those from the "
        "rendered ones, in --task's episode (default: none)",
    )
    add_json(images)
    images.set_defaults(run=run_images)
    rollout = benches.add_parser(
        "rollout",
        help="batched rollouts: episodes per minute at N = 1, 4, 16 episodes at once",
        description="Runs the same seeds of a task with a checkpoint's policy N episodes at a "
        "time (threads stepping their own MuJoCo simulations, one batched policy call per "
        "chunk) for each N, in one run; reports episodes per minute, the speed-up over N = 1 "
        "and whether outcomes match N = 1 seed for seed.",
    )
    rollout.add_argument("--checkpoint", type=Path, default=CHECKPOINTS / "obstacle")
    rollout.add_argument("--task", default="obstacle")
    rollout.add_argument("--episodes", type=int, default=32, help="per N (seeds 0 ..)")
    rollout.add_argument("--num-envs", type=int, nargs="+", default=[1, 4, 16])
    rollout.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    add_ray(rollout)
    add_json(rollout)
    rollout.set_defaults(run=run_rollout)
    ipc = benches.add_parser(
        "ipc",
        help="the policy inline, in a thread and in its own process: tick jitter and latency",
        description="Runs the same real-time MuJoCo session (episodes of GOAL's task for "
        "--seconds of robot time each) with the policy called inline by the loop, in a worker "
        "thread of the loop's process, and in a policy server over LCM; reports the loop's "
        "tick period (median, p99, max, jitter), late ticks and the observation-to-chunk "
        "latency of each, and their ratios to the separate process, in one run.",
    )
    ipc.add_argument("goal", nargs="?", default="reach the blue marker behind the wall")
    ipc.add_argument("--seconds", type=float, default=20.0, help="robot time per placement")
    ipc.add_argument("--launch", type=Path, default=LAUNCH_FILES / "panda_mujoco.toml")
    ipc.add_argument(
        "--images",
        type=Path,
        metavar="CHECKPOINT",
        help="add a row: this DiT from pixels (for GOAL's task) in a policy server, its cameras' "
        "frames sent with each observation as the launch file's [ipc] says (default: no such row)",
    )
    add_json(ipc)
    ipc.set_defaults(run=run_ipc)


def run_control(args: argparse.Namespace) -> int:
    from robostack.benchmarks.control import bench_control
    from robostack.core.errors import RobostackError

    if args.ticks < 100:
        raise RobostackError(f"--ticks must be at least 100, got {args.ticks}")
    names = args.controller if isinstance(args.controller, list) else [args.controller]
    results = [
        bench_control(robot=args.robot, controller=c, ticks=args.ticks, record=args.record)
        for c in names
    ]
    if args.json:
        print(json.dumps(results[0] if len(results) == 1 else {"results": results}))
        return 0
    print(f"robostack bench control: {args.robot}, {args.ticks} ticks per measurement")
    header = ("raw step", "tick", "overhead", "p99 ovh", "tick/raw")
    print(f"  {'controller':<17}" + "".join(f"{h:>10}" for h in header))
    for r in results:
        print(
            f"  {r['controller']:<17}{r['raw_step_us']['median']:>8.1f}us"
            f"{r['tick_us']['median']:>8.1f}us{r['overhead_us']['median']:>8.1f}us"
            f"{r['overhead_us']['p99']:>8.1f}us{r['tick_over_raw_median']:>9.1f}x"
        )
    print(
        f"  (medians unless marked; target: overhead <= {results[0]['overhead_target_us']:.0f} us)"
    )
    for r in results:
        if "recording" in r:
            rec = r["recording"]
            print(
                f"  recording, {r['controller']}: tick {rec['tick_us']['median']:.1f} us median "
                f"(+{rec['added_us_median']:.2f} us, target <= {rec['target_us']:.0f} us), "
                f"p99 {rec['tick_us']['p99']:.1f} us; .rrd {rec['rrd_bytes_per_s'] / 1e6:.2f} MB "
                "per second of robot time"
            )
    return 0


def run_faults(args: argparse.Namespace) -> int:
    from robostack.benchmarks.faults import SCENARIOS, run_fault

    results = [run_fault(name, runs_dir=args.runs_dir, robot=args.robot) for name in SCENARIOS]
    caught = all(r.event is not None for r in results)
    if args.json:
        rows = [{**r.__dict__, "run_dir": str(r.run_dir)} for r in results]
        print(json.dumps({"robot": args.robot, "all_caught": caught, "faults": rows}))
        return 0 if caught else 1
    print(f"robostack bench faults: {args.robot}, lockstep, recordings in {args.runs_dir}")
    print(f"  {'fault':<24}{'check':<24}{'reaction':<10}{'fault tick':>11}{'ticks to react':>16}")
    for r in results:
        reaction = r.event["reaction"] if r.event else "MISSED"
        ticks = "-" if r.reaction_ticks is None else str(r.reaction_ticks)
        print(f"  {r.name:<24}{r.check:<24}{reaction:<10}{r.fault_tick:>11}{ticks:>16}")
    return 0 if caught else 1


def run_policy(args: argparse.Namespace) -> int:
    import torch

    from robostack.benchmarks.policy import bench_policy
    from robostack.core.errors import RobostackError
    from robostack.policies.checkpoint import load_policy

    if args.calls < 5:
        raise RobostackError(f"--calls must be at least 5, got {args.calls}")
    torch.set_num_threads(args.threads)
    dit = load_policy(args.checkpoint)
    if dit.name != "dit":
        raise RobostackError(f"{args.checkpoint} holds a {dit.name} policy, not a DiT")
    if args.pixels:
        return _bench_pixels(args, dit)
    baseline = load_policy(args.baseline)
    rows = bench_policy(dit, baseline, calls=args.calls)
    if torch.cuda.is_available():
        rows += bench_policy(dit, baseline, calls=args.calls, device="cuda")
    if args.json:
        print(json.dumps({"ok": True, "threads": args.threads, "results": rows}))
        return 0
    print(f"robostack bench policy: chunk latency at batch 1 ({args.threads} CPU threads)")
    print(
        f"  {'policy':<8}{'sampler':<11}{'calls':>6}{'device':>8}{'median':>10}{'p99':>10}"
        f"{'vs ddpm':>9}"
    )
    for r in rows:
        print(
            f"  {r['policy']:<8}{r['sampler']:<11}{r['network_calls']:>6}{r['device']:>8}"
            f"{r['median_ms']:>8.2f}ms{r['p99_ms']:>8.2f}ms{r['vs_ddpm']:>9.3f}"
        )
    return 0


def _bench_pixels(args: argparse.Namespace, dit) -> int:
    from robostack.benchmarks.policy import bench_pixels, pixel_variant
    from robostack.sim.cameras import cameras_named

    cameras = tuple(c.name for c in cameras_named(args.pixels))
    pixel = pixel_variant(dit, cameras=cameras, size=args.image_size, image_width=args.image_width)
    rows = bench_pixels(dit, pixel, calls=args.calls)
    if args.json:
        print(json.dumps({"ok": True, "threads": args.threads, "results": rows}))
        return 0
    f = pixel.features
    print(
        f"robostack bench policy --pixels: DDIM-10 chunk at batch 1 ({args.threads} CPU "
        f"threads); {len(cameras)} camera(s) x {f.obs_horizon} steps of {args.image_size} px, "
        f"image trunk width {args.image_width}"
    )
    print(f"  {'policy':<19}{'median':>10}{'p99':>10}{'vs state':>10}{'encoding':>11}")
    for r in rows:
        encode = f"{r['encode_ms']:>8.2f}ms" if "encode_ms" in r else f"{'-':>10}"
        print(
            f"  {r['policy']:<19}{r['median_ms']:>8.2f}ms{r['p99_ms']:>8.2f}ms"
            f"{r['vs_state']:>9.2f}x {encode}"
        )
    return 0


def run_hardware(args: argparse.Namespace) -> int:
    from robostack.benchmarks.hardware import CASES, bench_case

    results = [bench_case(c[0], seconds=args.seconds, virtual=args.virtual) for c in CASES]
    caught = all(r.check is not None for r in results)
    if args.json:
        rows = [{**r.__dict__, "reaction_ms": r.reaction_ms} for r in results]
        print(json.dumps({"all_caught": caught, "cases": rows}))
        return 0 if caught else 1
    against = "virtual controllers, through the vendors' clients" if args.virtual else "stand-ins"
    print(f"robostack bench hardware: backends against their {against}, paced in real time")
    print(
        f"  {'case':<16}{'rate':>7}{'median':>10}{'p99':>10}{'jitter':>9}{'late':>6}"
        f"{'lost':>6}   {'stop':<16}{'ticks to STOP':>14}"
    )
    for r in results:
        p = r.timing["period_ms"]
        ticks = (
            "MISSED" if r.reaction_ticks is None else f"{r.reaction_ticks} ({r.reaction_ms:.0f} ms)"
        )
        print(
            f"  {r.name:<16}{r.rate_hz:>5.0f}Hz{p['median']:>7.3f} ms{p['p99']:>7.3f} ms"
            f"{p['jitter']:>6.3f} ms{r.timing['late_ticks']:>6}{r.timing['lost_packets']:>6}   "
            f"{r.stop:<16}{ticks:>14}"
        )
        print(f"  {'':<16}{'':>7}{r.median_ratio:>8.3f} x{r.p99_ratio:>8.3f} x  (of the period)")
    return 0 if caught else 1


def run_ipc(args: argparse.Namespace) -> int:
    from robostack.benchmarks.ipc import bench_ipc
    from robostack.core.errors import RobostackError
    from robostack.launcher.launch_file import load_launch_file
    from robostack.launcher.plan import make_plan

    if not args.seconds > 0:
        raise RobostackError(f"--seconds must be > 0, got {args.seconds}")
    launch = load_launch_file(args.launch)
    if launch.robot.real:
        raise RobostackError(f"bench ipc runs in simulation; {args.launch} drives a real robot")
    plan = make_plan(args.goal, launch, split=True)
    say = None if args.json else lambda p: print(f"  measuring: policy {p} ...", flush=True)
    report = bench_ipc(plan, seconds=args.seconds, progress=say, pixels=args.images)
    if args.json:
        print(json.dumps({"ok": True, **report}))
        return 0
    print(
        f"robostack bench ipc: {report['task']} in real time, {args.seconds:g} s of robot time "
        "per placement, torch on 1 thread"
    )
    print(
        f"  {'policy':<9}{'ticks':>7}{'median':>10}{'p99':>10}{'max':>10}{'jitter':>10}"
        f"{'late':>7}{'obs->chunk p50':>16}{'p99':>9}{'inference p50':>15}{'success':>9}"
    )
    for r in report["rows"]:
        p, lat, inf = r["period_ms"], r["latency_ms"], r["inference_ms"]
        print(
            f"  {r['placement']:<9}{r['ticks']:>7}{p['median']:>7.3f} ms{p['p99']:>7.3f} ms"
            f"{p['max']:>7.2f} ms{p['jitter']:>7.3f} ms{r['late_ticks']:>7}{lat['p50']:>13.1f} ms"
            f"{lat['p99']:>6.1f} ms{inf['p50']:>12.1f} ms{r['successes']:>5}/{r['episodes']}"
        )
    for r in report["rows"]:
        if r["transport_ms"] is not None:
            over = r["transport_ms"]
            print(
                f"  {r['placement']}: obs->chunk less the server's inference p50 "
                f"{over['p50']:.1f} ms, p99 {over['p99']:.1f} ms"
            )
        for name, rate in r["camera_bytes_per_s"].items():
            print(f"  {r['placement']}: camera {name} {rate / 1e3:.1f} kB/s")

    def times(ratio: float | None, digits: int) -> str:
        return "-" if ratio is None else f"{ratio:.{digits}f}x"

    for r in report["rows"]:
        if r["placement"] == "process":
            continue
        v = r["vs_process"]
        print(
            f"  {r['placement']} vs process: late ticks {times(v['late_ticks'], 1)}, jitter "
            f"{times(v['jitter'], 1)}, period p99 {times(v['period_p99'], 2)}"
        )
    return 0


def run_simulators(args: argparse.Namespace) -> int:
    from robostack.benchmarks.simulators import gravity_agreement, tracking_in_both
    from robostack.core.errors import RobostackError

    if args.samples < 1:
        raise RobostackError(f"--samples must be >= 1, got {args.samples}")
    gravity = [gravity_agreement(robot, samples=args.samples) for robot in args.robot]
    tracking = [tracking_in_both(r, c) for r in args.robot for c in args.controller]
    completed = all(
        t[s]["outcome"] == "completed" for t in tracking for s in ("mujoco", "pybullet")
    )
    if args.json:
        print(json.dumps({"ok": completed, "gravity": gravity, "tracking": tracking}))
        return 0 if completed else 1
    print("robostack bench simulators: PyBullet against MuJoCo, the same URDF")
    for g in gravity:
        print(
            f"  gravity, {g['robot']}: |g_pb - g_mj| / |g_mj| max {g['max']:.2e}, median "
            f"{g['median']:.2e} over {g['samples']} configurations"
        )
    print(
        f"  {'robot':<7}{'controller':<17}{'simulator':<10}{'rms':>10}{'max':>10}"
        f"{'physics':>10}{'tick':>10}  outcome"
    )
    for t in tracking:
        for simulator in ("mujoco", "pybullet"):
            r = t[simulator]
            print(
                f"  {t['robot']:<7}{t['controller']:<17}{simulator:<10}"
                f"{r['rms_error_rad'] * 1e3:>6.3f}mrad{r['max_error_rad'] * 1e3:>6.3f}mrad"
                f"{r['physics_us_median']:>8.1f}us{r['tick_us_median']:>8.1f}us  {r['outcome']}"
                + (f" ({', '.join(r['events'][:3])})" if r["events"] else "")
            )
    return 0 if completed else 1


def run_cameras(args: argparse.Namespace) -> int:
    from robostack.benchmarks.cameras import bench_cameras
    from robostack.core.errors import RobostackError

    if args.frames < 5 or min(args.size) < 8:
        raise RobostackError("--frames must be >= 5 and every --size >= 8")
    rows = bench_cameras(task=args.task, sizes=tuple(args.size), frames=args.frames)
    if args.json:
        print(json.dumps({"ok": True, "task": args.task, "rows": rows}))
        return 0
    print(f"robostack bench cameras: {args.task} scene, {args.frames} frames per camera")
    print(f"  {'simulator':<10}{'camera':<10}{'size':>9}{'median':>10}{'p99':>10}{'vs mujoco':>11}")
    for r in rows:
        share = f"  ({r['of_period']:.0%} of a policy period)" if "of_period" in r else ""
        print(
            f"  {r['simulator']:<10}{r['camera']:<10}{r['width']:>4}x{r['height']:<4}"
            f"{r['median_ms']:>8.2f}ms{r['p99_ms']:>8.2f}ms{r['vs_mujoco']:>10.2f}x{share}"
        )
    return 0


def run_images(args: argparse.Namespace) -> int:
    from robostack.benchmarks.images import bench_images
    from robostack.core.errors import RobostackError

    if args.frames < 1 or min(args.size) < 8:
        raise RobostackError("--frames must be >= 1 and every --size >= 8")
    rows = bench_images(task=args.task, sizes=tuple(args.size), frames=args.frames)
    effect = None
    if args.checkpoint is not None:
        from robostack.benchmarks.images import policy_effect
        from robostack.policies.checkpoint import load_policy

        policy = load_policy(args.checkpoint)
        if not policy.features.cameras:
            raise RobostackError(f"{args.checkpoint} sees no cameras: not a DiT from pixels")
        effect = policy_effect(policy, task=args.task, moments=args.frames)
    if args.json:
        print(json.dumps({"ok": True, "task": args.task, "rows": rows, "policy": effect}))
        return 0
    print(f"robostack bench images: {args.task} scene, front and wrist, {args.frames} frames each")
    print(f"  {'size':<9}{'encoding':<10}{'bytes':>9}{'per camera':>14}{'enc+dec':>10}{'error':>8}")
    for r in rows:
        kind = r["encoding"] + (f" {r['quality']}" if r["quality"] else "")
        print(
            f"  {r['width']:>3}x{r['height']:<5}{kind:<10}{r['bytes']:>9.0f}"
            f"{r['bytes_per_s'] / 1e3:>9.1f} kB/s{r['encode_decode_ms']:>7.2f} ms"
            f"{r['mean_abs_error']:>8.2f}  ({r['psnr_db']:.1f} dB)"
        )
    for r in effect or ():
        print(
            f"  {args.checkpoint}: chunk from JPEG {r['quality']} frames off by "
            f"{r['action_error_rad']:.2e} rad (largest joint, mean over {args.frames} moments)"
        )
    return 0


def run_rollout(args: argparse.Namespace) -> int:
    import torch

    from robostack.benchmarks.rollout import bench_rollout
    from robostack.core.errors import RobostackError
    from robostack.policies.checkpoint import load_policy, read_checkpoint_config

    if args.episodes < 1 or min(args.num_envs) < 1:
        raise RobostackError("--episodes and every --num-envs must be >= 1")
    torch.set_num_threads(args.threads)
    robot = read_checkpoint_config(args.checkpoint).get("data", {}).get("robot", "panda")
    policy = load_policy(args.checkpoint)
    say = None if args.json else lambda where: print(f"  measuring: {where} ...", flush=True)
    with ray_cluster(args) as cluster:
        rows = bench_rollout(
            policy,
            checkpoint=args.checkpoint.resolve(),
            task=args.task,
            robot=robot,
            episodes=args.episodes,
            sizes=tuple(args.num_envs),
            cluster=cluster,
            progress=say,
        )
    if args.json:
        print(json.dumps({"ok": True, "task": args.task, "rows": rows}))
        return 0
    print(
        f"robostack bench rollout: {args.task}, {args.episodes} episodes per N, "
        f"{args.threads} torch threads"
    )
    print(
        f"  {'where':<18}{'N':>4}{'wall':>10}{'episodes/min':>14}{'speed-up':>10}{'success':>9}"
        "  differing from N = 1"
    )
    for r in rows:
        print(
            f"  {r['where']:<18}{r['num_envs']:>4}{r['wall_s']:>8.1f} s"
            f"{r['episodes_per_minute']:>14.1f}{r['speedup']:>9.2f}x"
            f"{r['successes']:>5}/{r['episodes']}  {r['seeds_differing_from_n1'] or 'none'}"
        )
    return 0
