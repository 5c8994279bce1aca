#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""fake_systemd - a stand-in for systemd's D-Bus manager on a private bus, for tests.

Run as a program, it starts a private dbus-daemon (its own configuration: a unix socket in
DIR, every user and message allowed, no activation) and python-dbusmock on that bus as the
system-bus service org.freedesktop.systemd1, with this file as the dbusmock template. It
writes the bus address to DIR/address when the manager answers, and stays in the foreground
until SIGTERM/SIGINT, then stops both children by PID (they also get SIGTERM if it dies).

    fake_systemd.py --dir DIR --config CONFIG.json

    DIR/address    the bus address (DBUS_SYSTEM_BUS_ADDRESS), written last (atomically)
    DIR/calls.log  dbusmock's call log: "<time> RestartUnit "postfix.service" "replace"",
                   "<time> emit /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager.JobRemoved
                   1 "/org/freedesktop/systemd1/job/1" "postfix.service" "done""
    DIR/pids       "dbus-daemon PID" and "dbusmock PID" lines
    DIR/bus.conf, DIR/bus_socket, DIR/dbus-daemon.log, DIR/dbusmock.log

Loaded by dbusmock as a template (`python3 -m dbusmock --system -t fake_systemd.py -p
'{"config_file": "CONFIG.json"}'`), it extends dbusmock's stock `systemd` template (which has
StartUnit, StopUnit, StartTransientUnit, GetUnit, AddMockUnit and the Version property, but no
RestartUnit, no Subscribe and no Job objects) with, on org.freedesktop.systemd1.Manager:

    Subscribe(), Unsubscribe()      recorded in the call log, nothing else
    RestartUnit(s name, s mode) -> o  a Job object /org/freedesktop/systemd1/job/<id>
                                    (org.freedesktop.systemd1.Job: Id, Unit, JobType, State),
                                    JobNew(id, job, name) at once and, delay_ms later,
                                    JobRemoved(id, job, name, result); the job object is removed
    GetUnit(s name) -> o            NoSuchUnit for units not configured (like the above)

The configuration (JSON object; every key optional):

    "results":   {"postfix.service": "done", "broken.service": "failed"}
                 the configured units and the job result RestartUnit's job ends with
    "no_signal": ["hang.service"]   units whose restart job never ends (no JobRemoved)
    "delay_ms":  50                 from the RestartUnit reply to JobRemoved (default 50)
    "delays":    {"slow.service": 400}  per-unit delay_ms
    "decoys":    ["postfix.service"]  before the real JobRemoved, emit one for another job
                 path of the same unit with result "failed" (callers must compare job paths)
    "errors":    {"masked.service": ["org.freedesktop.systemd1.UnitMasked", "Unit masked."]}
                 RestartUnit fails with this D-Bus error name and message
    "states":    {"postfix.service": "failed"}  the unit's ActiveState until a restart job ends
                 (default "active"); the unit must be in "results"
    "commands":  {"postfix.service": ["postfix", "-c", "/tmp/x/conf", "reload"]}
                 run this command (60 s at most) when the job ends, before JobRemoved: so a
                 test's private service really restarts; a non-zero exit makes the result
                 "failed". The unit must be in "results".

Any other unit gets org.freedesktop.systemd1.NoSuchUnit "Unit NAME not found.", as systemd
answers; a mode other than systemd's job modes gets org.freedesktop.DBus.Error.InvalidArgs.
Uses /usr/bin/python3 with Debian 12's python3-dbusmock (0.28), python3-dbus, python3-gi,
dbus-daemon and dbus-send (dbus-bin).
"""

import argparse
import ctypes
import json
import os
import signal
import subprocess
import sys
import time

# --- the dbusmock template ------------------------------------------------------------------

BUS_NAME = "org.freedesktop.systemd1"
MAIN_OBJ = "/org/freedesktop/systemd1"
MAIN_IFACE = "org.freedesktop.systemd1.Manager"
SYSTEM_BUS = True

JOB_IFACE = "org.freedesktop.systemd1.Job"
JOB_MODES = {"replace", "fail", "isolate", "ignore-dependencies", "ignore-requirements",
             "flush", "triggering", "restart-dependencies"}
CONFIG_KEYS = {"results", "no_signal", "delay_ms", "delays", "decoys", "errors", "commands",
               "states"}

if __name__ != "__main__":
    # Loaded by dbusmock as its template (the launcher needs none of this, and starts faster
    # without it).
    import dbus
    import dbus.exceptions
    from gi.repository import GLib

    from dbusmock.templates import systemd as stock

    # The stock template's methods, kept as they are (dbusmock adds every D-Bus method it
    # finds in the template module).
    StartUnit = stock.StartUnit
    StopUnit = stock.StopUnit
    StartTransientUnit = stock.StartTransientUnit
    AddMockUnit = stock.AddMockUnit


class ConfigError(Exception):
    pass


def read_config(path):
    """Load and check the configuration file; returns a dict with every key set."""
    try:
        with open(path, encoding="utf-8") as f:
            config = json.load(f)
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: {e}") from e
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: not a JSON object")
    unknown = set(config) - CONFIG_KEYS
    if unknown:
        raise ConfigError(f"{path}: unknown keys {sorted(unknown)}")
    results = config.get("results", {})
    if not isinstance(results, dict) or not all(
            isinstance(v, str) and v for v in results.values()):
        raise ConfigError(f"{path}: \"results\" must map unit names to result strings")
    for key in ("no_signal", "decoys"):
        value = config.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{path}: \"{key}\" must be a list of unit names")
    errors = config.get("errors", {})
    if not isinstance(errors, dict) or not all(
            isinstance(v, list) and len(v) == 2 and all(isinstance(x, str) for x in v)
            for v in errors.values()):
        raise ConfigError(f"{path}: \"errors\" must map unit names to [name, message]")
    delay_ms = config.get("delay_ms", 50)
    if not isinstance(delay_ms, int) or delay_ms < 0:
        raise ConfigError(f"{path}: \"delay_ms\" must be a non-negative integer")
    commands = config.get("commands", {})
    if not isinstance(commands, dict) or not all(
            isinstance(v, list) and v and all(isinstance(x, str) for x in v) and k in results
            for k, v in commands.items()):
        raise ConfigError(f"{path}: \"commands\" must map units of \"results\" to argv lists")
    delays = config.get("delays", {})
    if not isinstance(delays, dict) or not all(
            isinstance(v, int) and v >= 0 for v in delays.values()):
        raise ConfigError(f"{path}: \"delays\" must map unit names to milliseconds")
    states = config.get("states", {})
    if not isinstance(states, dict) or not all(
            isinstance(v, str) and v and k in results for k, v in states.items()):
        raise ConfigError(f"{path}: \"states\" must map units of \"results\" to ActiveState values")
    return {
        "results": results,
        "no_signal": set(config.get("no_signal", [])),
        "delay_ms": delay_ms,
        "delays": delays,
        "decoys": set(config.get("decoys", [])),
        "errors": errors,
        "commands": commands,
        "states": states,
    }


def unit_object_path(name):
    return f"{stock.PATH_PREFIX}/unit/{stock.escape_unit_name(name)}"


def no_such_unit(name):
    return dbus.exceptions.DBusException(f"Unit {name} not found.",
                                         name="org.freedesktop.systemd1.NoSuchUnit")


def add_unit(mock, name, state="active"):
    """What the stock AddMockUnit does, without going through the call log."""
    path = unit_object_path(name)
    mock.units[name] = path
    mock.AddObject(path, stock.UNIT_IFACE,
                   {"Id": name, "Names": [name], "LoadState": "loaded",
                    "ActiveState": state}, [])


def emit_job_removed(mock, job_id, job_path, name, result):
    mock.EmitSignal(MAIN_IFACE, "JobRemoved", "uoss", [job_id, job_path, name, result])


def emit_job_new(mock, job_id, job_path, name):
    mock.EmitSignal(MAIN_IFACE, "JobNew", "uos", [job_id, job_path, name])
    return False  # GLib: do not repeat


def finish_job(mock, job_id, job_path, name):
    """The restart job ends: decoy signal (if configured), the unit's state, JobRemoved."""
    config = mock.fake_config
    result = config["results"][name]
    if name in config["commands"]:
        try:
            done = subprocess.run(config["commands"][name], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  timeout=60, check=False)
            if done.returncode != 0:
                result = "failed"
        except (OSError, subprocess.TimeoutExpired):
            result = "failed"
    if name in config["decoys"]:
        decoy = mock.next_job_id
        mock.next_job_id += 1
        emit_job_removed(mock, decoy, f"{stock.PATH_PREFIX}/job/{decoy}", name, "failed")
    unit = mock.units.get(name)
    if unit:
        state = "active" if result == "done" else "failed"
        stock.mockobject.objects[unit].UpdateProperties(stock.UNIT_IFACE,
                                                         {"ActiveState": state})
    mock.RemoveObject(job_path)
    emit_job_removed(mock, job_id, job_path, name, result)
    return False  # GLib: do not repeat


def restart_unit(mock, name, mode):
    name, mode = str(name), str(mode)
    config = mock.fake_config
    if name in config["errors"]:
        error_name, message = config["errors"][name]
        raise dbus.exceptions.DBusException(message, name=error_name)
    if mode not in JOB_MODES:
        raise dbus.exceptions.DBusException(f"Job mode {mode} invalid.",
                                            name="org.freedesktop.DBus.Error.InvalidArgs")
    if name not in config["results"] and name not in config["no_signal"]:
        raise no_such_unit(name)
    job_id = mock.next_job_id
    mock.next_job_id += 1
    job_path = f"{stock.PATH_PREFIX}/job/{job_id}"
    mock.AddObject(job_path, JOB_IFACE,
                   {"Id": dbus.UInt32(job_id),
                    "Unit": dbus.Struct((name, dbus.ObjectPath(mock.units[name])), signature="so"),
                    "JobType": "restart", "State": "running"}, [])
    # Signals go out after the method reply, from the main loop, as systemd's do.
    GLib.idle_add(emit_job_new, mock, job_id, job_path, name)
    if name not in config["no_signal"]:
        delay_ms = config["delays"].get(name, config["delay_ms"])
        GLib.timeout_add(delay_ms, finish_job, mock, job_id, job_path, name)
    return dbus.ObjectPath(job_path)


def get_unit(mock, name):
    name = str(name)
    if name not in mock.units:
        raise no_such_unit(name)
    return dbus.ObjectPath(mock.units[name])


def subscribe(mock):
    mock.subscribers += 1


def unsubscribe(mock):
    mock.subscribers = max(0, mock.subscribers - 1)


def load(mock, parameters):
    """dbusmock template entry: the stock template, then our configuration and methods."""
    stock.load(mock, {})
    path = parameters.get("config_file")
    mock.fake_config = read_config(path) if path else read_config_default()
    mock.subscribers = 0
    for name in list(mock.fake_config["results"]) + sorted(mock.fake_config["no_signal"]):
        if name not in mock.units:
            add_unit(mock, name, mock.fake_config["states"].get(name, "active"))
    # AddMethod with a Python function: called as code(mock, *args), logged like any method.
    mock.AddMethod(MAIN_IFACE, "RestartUnit", "ss", "o", restart_unit)
    mock.AddMethod(MAIN_IFACE, "GetUnit", "s", "o", get_unit)
    mock.AddMethod(MAIN_IFACE, "Subscribe", "", "", subscribe)
    mock.AddMethod(MAIN_IFACE, "Unsubscribe", "", "", unsubscribe)


def read_config_default():
    return {"results": {}, "no_signal": set(), "delay_ms": 50, "delays": {}, "decoys": set(),
            "errors": {}, "commands": {}, "states": {}}


# --- the launcher ---------------------------------------------------------------------------

BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- A private bus for tests (fake_systemd.py): everything is allowed, nothing is activated. -->
<busconfig>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"""
SOCKET_PATH_MAX = 107  # sizeof(sun_path) - 1 on Linux
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 3.0
PR_SET_PDEATHSIG = 1


def die_with_parent():
    """preexec_fn: SIGTERM when the launcher dies, so that no child outlives a SIGKILL."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def stop(children):
    """Stop the children by PID: SIGTERM, then SIGKILL after STOP_TIMEOUT_S."""
    for proc in children:
        if proc.poll() is None:
            proc.terminate()
    for proc in children:
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_bus(directory):
    sock = os.path.join(directory, "bus_socket")
    if len(sock) > SOCKET_PATH_MAX:
        raise RuntimeError(f"socket path too long for AF_UNIX ({len(sock)} bytes): {sock}")
    conf = os.path.join(directory, "bus.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(BUS_CONF.format(socket=sock))
    with open(os.path.join(directory, "dbus-daemon.log"), "wb") as log:
        proc = subprocess.Popen(
            ["dbus-daemon", f"--config-file={conf}", "--nofork", "--nopidfile",
             "--print-address=1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
            preexec_fn=die_with_parent)
    # dbus-daemon prints the address once it listens.
    address = proc.stdout.readline().decode().strip()
    proc.stdout.close()
    if not address:
        proc.wait(STOP_TIMEOUT_S)
        raise RuntimeError(f"dbus-daemon exited ({proc.returncode}) without an address; "
                           f"see {directory}/dbus-daemon.log")
    return proc, address


def start_mock(directory, address, config):
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    params = json.dumps({"config_file": os.path.abspath(config)})
    with open(os.path.join(directory, "dbusmock.log"), "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "dbusmock", "--system", "-t", os.path.abspath(__file__),
             "-l", os.path.join(directory, "calls.log"), "-p", params],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
            preexec_fn=die_with_parent)


def wait_manager(address, mock, directory):
    """Until the manager answers (the template is loaded), bounded by START_TIMEOUT_S."""
    # org.freedesktop.DBus.Peer.Ping is answered by libdbus once dbusmock's main loop runs,
    # i.e. after the template loaded; unlike a property read it stays out of the call log.
    ping = ["dbus-send", f"--bus={address}", "--print-reply", "--reply-timeout=1000",
            f"--dest={BUS_NAME}", MAIN_OBJ, "org.freedesktop.DBus.Peer.Ping"]
    end = time.monotonic() + START_TIMEOUT_S
    while True:
        if mock.poll() is not None:
            raise RuntimeError(f"dbusmock exited ({mock.returncode}); "
                               f"see {directory}/dbusmock.log")
        if subprocess.run(ping, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, check=False).returncode == 0:
            return
        if time.monotonic() > end:
            raise RuntimeError(f"the manager did not answer within {START_TIMEOUT_S} s")
        time.sleep(0.05)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dir", required=True, help="private directory (socket, logs, address)")
    parser.add_argument("--config", required=True, help="JSON configuration file")
    args = parser.parse_args()

    try:
        read_config(args.config)
    except ConfigError as e:
        print(f"fake_systemd: {e}", file=sys.stderr)
        return 2
    directory = os.path.abspath(args.dir)
    os.makedirs(directory, exist_ok=True)

    stopping = []

    def on_signal(signum, _frame):
        stopping.append(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    children = []
    try:
        bus_proc, address = start_bus(directory)
        children.append(bus_proc)
        mock = start_mock(directory, address, args.config)
        children.insert(0, mock)  # stopped first, while its bus still runs
        with open(os.path.join(directory, "pids"), "w", encoding="utf-8") as f:
            f.write(f"dbus-daemon {bus_proc.pid}\ndbusmock {mock.pid}\n")
        wait_manager(address, mock, directory)
        tmp = os.path.join(directory, "address.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(address + "\n")
        os.rename(tmp, os.path.join(directory, "address"))
        print(f"fake_systemd: {address} (dbus-daemon {bus_proc.pid}, dbusmock {mock.pid})",
              flush=True)
        while not stopping:
            if any(proc.poll() is not None for proc in children):
                print("fake_systemd: a child exited; stopping", file=sys.stderr)
                return 1
            time.sleep(0.1)
        return 0
    except (OSError, RuntimeError) as e:
        print(f"fake_systemd: {e}", file=sys.stderr)
        return 1
    finally:
        stop(children)


if __name__ == "__main__":
    sys.exit(main())
