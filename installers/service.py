"""Run the engine (or a relay, or a worker) as a service that starts at boot and restarts on
failure: a systemd unit on Linux, a launchd daemon on macOS, a scheduled task on Windows.

``dawbridge install service [--role engine|relay|worker] [options] [--print] [--uninstall]``
calls :func:`add_arguments` and :func:`run`. It writes one file and says the one or two
commands that enable it (it runs none of them: they need an administrator, and the admin
should see them). ``--print`` shows the file without writing it; ``--dest DIR`` writes it
somewhere else (packaging, tests).

- systemd: ``/etc/systemd/system/dawbridge-ROLE.service``; a dedicated user (``--user``,
  default ``dawbridge``), ``Restart=on-failure``, a hardened sandbox, logs to the journal.
- launchd: ``/Library/LaunchDaemons/org.dawbridge.ROLE.plist``; ``KeepAlive`` on failure.
- Windows: ``%PROGRAMDATA%\\DAWBridge\\dawbridge-ROLE.xml``, a Task Scheduler task run at
  boot as SYSTEM (or ``--user``) that restarts on failure (``schtasks /Create /XML``).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
from pathlib import Path
from xml.sax.saxutils import escape

ROLES = ("engine", "relay", "worker")
PLATFORMS = ("linux", "macos", "windows")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``dawbridge install service``."""
    parser.add_argument("--role", choices=ROLES, default="engine",
                        help="engine: the studio server; relay: on a DAW machine; worker: extra model machine")
    parser.add_argument("--platform", choices=("auto", *PLATFORMS), default="auto")
    parser.add_argument("--bind", help="engine/relay: address to listen on (engine default tcp://0.0.0.0:5555)")
    parser.add_argument("--server-key", metavar="FILE",
                        help="engine: its .key_secret; relay/worker: the server's public .key")
    parser.add_argument("--allowed-keys", metavar="DIR", help="engine: folder of client .key files")
    parser.add_argument("--client-key", metavar="FILE", help="relay/worker: this machine's .key_secret")
    parser.add_argument("--upstream", metavar="ADDRESS", help="relay: the studio server, tcp://HOST:5555")
    parser.add_argument("--connect", metavar="ADDRESS", help="worker: the engine's worker socket, tcp://HOST:5556")
    parser.add_argument("--worker-bind", metavar="ADDRESS", help="engine: accept workers here")
    parser.add_argument("--allowed-workers", metavar="DIR",
                        help="engine with --worker-bind: folder of worker .key files (not client keys)")
    parser.add_argument("--metrics", metavar="HOST:PORT", help="engine: Prometheus endpoint")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--weights", help="a trained model (default: the shipped weights)")
    parser.add_argument("--user", default=None, help="the account the service runs as (default dawbridge; "
                        "Windows: SYSTEM; a relay on macOS: none, a per-user agent)")
    parser.add_argument("--executable", default=None, help="the dawbridge command (default: found on PATH)")
    parser.add_argument("--dest", metavar="DIR", help="write the service file here instead of the system folder")
    parser.add_argument("--print", dest="print_only", action="store_true", help="show the file, write nothing")
    parser.add_argument("--uninstall", action="store_true", help="remove the service file")


def run(args: argparse.Namespace, out=None) -> int:
    """Write (or print, or remove) the service file; returns the exit status."""
    out = out or sys.stdout
    platform = _platform(args.platform)
    problem = _check(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    path = _target(args, platform)
    if args.uninstall:
        if path.exists():
            path.unlink()
            print(f"removed {path}", file=out)
            print(_after_uninstall(args, platform, path), file=out)
        else:
            print(f"nothing to remove: {path} does not exist", file=out)
        return 0
    text = render(args, platform)
    if args.print_only:
        print(text, file=out)
        return 0
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-16" if platform == "windows" else "utf-8")
    except PermissionError:
        print(f"error: cannot write {path}; run as administrator (sudo), or use --print / --dest",
              file=sys.stderr)
        return 1
    print(f"wrote {path}", file=out)
    print(_next_steps(args, platform, path), file=out)
    return 0


# --- the command line the service runs ------------------------------------------------------


def command(args: argparse.Namespace) -> list[str]:
    exe = args.executable or shutil.which("dawbridge") or str(Path(sys.executable).with_name("dawbridge"))
    if args.role == "worker":
        cmd = [exe, "worker", "--connect", args.connect]
        cmd += _opt("--server-key", args.server_key) + _opt("--client-key", args.client_key)
    elif args.role == "relay":
        cmd = [exe, "serve", "--upstream", args.upstream] + _opt("--bind", args.bind)
        cmd += _opt("--server-key", args.server_key) + _opt("--client-key", args.client_key)
        return cmd + ["--log-format", "json"]
    else:
        cmd = [exe, "serve", "--bind", args.bind or "tcp://0.0.0.0:5555"]
        cmd += _opt("--server-key", args.server_key) + _opt("--allowed-keys", args.allowed_keys)
        cmd += _opt("--worker-bind", args.worker_bind) + _opt("--allowed-workers", args.allowed_workers)
        cmd += _opt("--metrics", args.metrics)
    cmd += ["--device", args.device] + _opt("--weights", args.weights)
    return cmd + ["--log-format", "json"]


def _opt(flag: str, value: str | None) -> list[str]:
    is_path = flag.endswith(("key", "keys", "workers"))
    return [flag, str(Path(value).expanduser().resolve()) if is_path else value] if value else []


def _check(args: argparse.Namespace) -> str | None:
    if args.role == "relay" and not args.upstream:
        return "a relay needs --upstream tcp://STUDIO-SERVER:5555"
    if args.role == "worker" and not args.connect:
        return "a worker needs --connect tcp://ENGINE:5556"
    if args.role == "engine" and not args.uninstall and not args.server_key:
        return ("a studio engine service needs --server-key and --allowed-keys (make them with "
                "`dawbridge keys generate`)")
    if args.role == "engine" and bool(args.server_key) != bool(args.allowed_keys):
        return "give --server-key and --allowed-keys together"
    if args.role == "engine" and args.worker_bind and args.server_key and not args.allowed_workers:
        return "--worker-bind needs --allowed-workers DIR (the workers' .key files, a folder of their own)"
    return None


# --- the files ----------------------------------------------------------------------------


def render(args: argparse.Namespace, platform: str) -> str:
    cmd = command(args)
    if platform == "linux":
        return _systemd(args, cmd)
    if platform == "macos":
        return _launchd(args, cmd)
    return _task(args, cmd)


def _systemd(args: argparse.Namespace, cmd: list[str]) -> str:
    user = args.user or "dawbridge"
    return f"""[Unit]
Description=DAWBridge {args.role} (AI co-producer)
Documentation=https://github.com/dawbridge/dawbridge#studio-server
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User={user}
Group={user}
ExecStart={shlex.join(cmd)}
Restart=on-failure
RestartSec=3
TimeoutStopSec=15
KillSignal=SIGTERM
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=strict
ProtectHome=read-only
StateDirectory=dawbridge
Environment=PYTHONUNBUFFERED=1

[Install]
WantedBy=multi-user.target
"""


def _launchd(args: argparse.Namespace, cmd: list[str]) -> str:
    items = "\n".join(f"    <string>{escape(part)}</string>" for part in cmd)
    user = "" if _per_user(args) else f"  <key>UserName</key>\n  <string>{escape(args.user or 'dawbridge')}</string>\n"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>{_label(args)}</string>
  <key>ProgramArguments</key>
  <array>
{items}
  </array>
{user}  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>5</integer>
  <key>StandardOutPath</key>
  <string>/tmp/{_label(args)}.log</string>
  <key>StandardErrorPath</key>
  <string>/tmp/{_label(args)}.log</string>
</dict>
</plist>
"""


def _task(args: argparse.Namespace, cmd: list[str]) -> str:
    exe, arguments = cmd[0], " ".join(_win_quote(part) for part in cmd[1:])
    user = args.user or "S-1-5-18"  # LocalSystem
    return f"""<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo>
    <Description>DAWBridge {escape(args.role)} (AI co-producer)</Description>
  </RegistrationInfo>
  <Triggers>
    <BootTrigger><Enabled>true</Enabled></BootTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <UserId>{escape(user)}</UserId>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <RestartOnFailure>
      <Interval>PT1M</Interval>
      <Count>999</Count>
    </RestartOnFailure>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>{escape(exe)}</Command>
      <Arguments>{escape(arguments)}</Arguments>
    </Exec>
  </Actions>
</Task>
"""


def _win_quote(part: str) -> str:
    return f'"{part}"' if any(c in part for c in ' \t"') else part


# --- where, and what next -------------------------------------------------------------------


def _platform(choice: str) -> str:
    if choice != "auto":
        return choice
    return {"darwin": "macos", "win32": "windows"}.get(sys.platform, "linux")


def _per_user(args: argparse.Namespace) -> bool:
    return args.role == "relay" and args.user is None


def _label(args: argparse.Namespace) -> str:
    return f"org.dawbridge.{args.role}"


def _target(args: argparse.Namespace, platform: str) -> Path:
    if platform == "linux":
        name, folder = f"dawbridge-{args.role}.service", Path("/etc/systemd/system")
    elif platform == "macos":
        name = f"{_label(args)}.plist"
        folder = Path("~/Library/LaunchAgents").expanduser() if _per_user(args) else Path("/Library/LaunchDaemons")
    else:
        name = f"dawbridge-{args.role}.xml"
        folder = Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) / "DAWBridge"
    return Path(args.dest) / name if args.dest else folder / name


def _next_steps(args: argparse.Namespace, platform: str, path: Path) -> str:
    if platform == "linux":
        user = args.user or "dawbridge"
        return (f"next (as root):\n  id {user} || useradd --system --home /var/lib/dawbridge --shell /usr/sbin/nologin {user}\n"
                f"  systemctl daemon-reload && systemctl enable --now {path.stem}\n"
                f"  journalctl -u {path.stem} -f      # its logs (JSON lines)\n"
                f"the key files must be readable by {user}; the .key_secret by {user} only")
    if platform == "macos":
        domain = f"gui/{os.getuid()}" if _per_user(args) and hasattr(os, "getuid") else "system"
        sudo = "" if _per_user(args) else "sudo "
        return f"next:\n  {sudo}launchctl bootstrap {domain} {path}\n  {sudo}launchctl kickstart -k {domain}/{_label(args)}"
    return (f"next (an administrator's prompt):\n  schtasks /Create /TN DAWBridge\\{args.role} /XML \"{path}\"\n"
            f"  schtasks /Run /TN DAWBridge\\{args.role}")


def _after_uninstall(args: argparse.Namespace, platform: str, path: Path) -> str:
    if platform == "linux":
        return f"then: systemctl disable --now {path.stem} && systemctl daemon-reload"
    if platform == "macos":
        return f"then: launchctl bootout {'system' if not _per_user(args) else 'gui/$(id -u)'}/{_label(args)}"
    return f"then: schtasks /Delete /TN DAWBridge\\{args.role} /F"
