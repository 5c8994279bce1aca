# SPDX-License-Identifier: MIT
"""ami_check - the AMI baking documents of packaging/ami hold together (test_ami_documents.sh)

Usage:
  ami_check.py component FILE.yaml VERSION
      An EC2 Image Builder component document (AWSTOE, schemaVersion 1.0): its keys are the
      documented ones, phases are build/validate/test, every step has a unique name and a
      known action with the inputs that action takes, every {{ parameter }} is declared, the
      bash of every ExecuteBash step passes `bash -n`, the last build step is `mailinit clean`,
      and the Version parameter's default is VERSION.
  ami_check.py packer FILE.pkr.hcl VERSION
      The Packer template's shell provisioner: its inline commands (read as the JSON strings
      they are written as) pass `bash -n`, the last is `sudo mailinit clean`, and the
      mailinit_version variable's default is VERSION. (The HCL syntax is hclfmt's job.)
Prints one line per problem and exits 1 when there is one.
"""
import json
import re
import subprocess
import sys

import yaml

TOP_KEYS = {"name", "description", "schemaVersion", "parameters", "constants", "phases"}
PHASES = {"build", "validate", "test"}
STEP_KEYS = {"name", "action", "inputs", "timeoutSeconds", "onFailure", "maxAttempts", "if",
             "loop"}
# AWSTOE action modules (the ones a Linux component may use).
ACTIONS = {"ExecuteBash", "ExecuteBinary", "ExecuteDocument", "S3Download", "S3Upload",
           "WebDownload", "Reboot", "UpdateOS", "CreateFile", "AppendFile", "DeleteFile",
           "CopyFile", "MoveFile", "ReadFile", "SetFileEncoding", "SetFileOwner",
           "SetFolderOwner", "SetFilePermissions", "SetFolderPermissions", "CreateFolder",
           "DeleteFolder", "CopyFolder", "MoveFolder", "ListFiles", "Assert"}
PARAMETER = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")


def bash_syntax(script, label, problems):
    """bash -n on SCRIPT; a problem names LABEL"""
    proc = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    if proc.returncode != 0:
        problems.append(f"{label}: bash -n: {proc.stderr.strip()}")


def check_component(path, version, problems):
    doc = yaml.safe_load(open(path, encoding="utf-8"))
    if not isinstance(doc, dict):
        return problems.append("the document is not a YAML mapping")
    for key in set(doc) - TOP_KEYS:
        problems.append(f"unknown top-level key '{key}'")
    for key in ("name", "schemaVersion", "phases"):
        if key not in doc:
            problems.append(f"no '{key}'")
    if str(doc.get("schemaVersion")) != "1.0":
        problems.append(f"schemaVersion is {doc.get('schemaVersion')!r}, not 1.0")
    declared = {}
    for item in doc.get("parameters") or []:
        if not isinstance(item, dict) or len(item) != 1:
            problems.append(f"a parameter is not a one-key mapping: {item!r}")
            continue
        (pname, spec), = item.items()
        if not isinstance(spec, dict) or spec.get("type") != "string":
            problems.append(f"parameter {pname}: type must be string")
            continue
        declared[pname] = spec
    if str(declared.get("Version", {}).get("default")) != version:
        problems.append(f"parameter Version: default is not {version}")
    seen_phases = []
    for phase in doc.get("phases") or []:
        pname = phase.get("name")
        if pname not in PHASES or pname in seen_phases:
            problems.append(f"phase {pname!r}: not one of build/validate/test, or repeated")
        seen_phases.append(pname)
        names = set()
        steps = phase.get("steps") or []
        if not steps:
            problems.append(f"phase {pname}: no steps")
        for step in steps:
            sname = step.get("name", "")
            label = f"{pname}/{sname}"
            if not re.fullmatch(r"[A-Za-z0-9_]+", sname or "") or sname in names:
                problems.append(f"{label}: step name must be alphanumeric and unique")
            names.add(sname)
            for key in set(step) - STEP_KEYS:
                problems.append(f"{label}: unknown key '{key}'")
            action, inputs = step.get("action"), step.get("inputs")
            if action not in ACTIONS:
                problems.append(f"{label}: unknown action {action!r}")
            for ref in PARAMETER.findall(json.dumps(inputs)):
                if ref not in declared:
                    problems.append(f"{label}: {{{{ {ref} }}}} is not a declared parameter")
            if action == "ExecuteBash":
                commands = inputs.get("commands") if isinstance(inputs, dict) else None
                if not commands or not all(isinstance(c, str) for c in commands):
                    problems.append(f"{label}: ExecuteBash needs inputs.commands, a list of strings")
                    continue
                script = PARAMETER.sub("value", "\n".join(commands))
                bash_syntax(script, label, problems)
            elif action == "S3Download":
                if not isinstance(inputs, list) or not inputs:
                    problems.append(f"{label}: S3Download needs a list of source/destination")
                    continue
                for item in inputs:
                    if set(item) != {"source", "destination"} or \
                            not PARAMETER.sub("s3://bucket", item["source"]).startswith("s3://"):
                        problems.append(f"{label}: bad S3Download input {item!r}")
    if "build" not in seen_phases:
        problems.append("no build phase")
    else:
        build = next(p for p in doc["phases"] if p.get("name") == "build")
        last = build["steps"][-1]
        commands = (last.get("inputs") or {}).get("commands") or []
        if not commands or commands[-1].strip() != "mailinit clean":
            problems.append("the build phase does not end with `mailinit clean`")


def check_packer(path, version, problems):
    text = open(path, encoding="utf-8").read()
    blocks = re.findall(r"^\s*inline\s*=\s*\[(.*?)^\s*\]", text, re.S | re.M)
    if len(blocks) != 1:
        return problems.append(f"{len(blocks)} inline command lists, expected 1")
    commands = []
    for line in blocks[0].splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            commands.append(json.loads(line.rstrip(",")))
        except json.JSONDecodeError as e:
            problems.append(f"inline command {line!r}: not a plain string ({e})")
    bash_syntax("\n".join(commands), "shell provisioner", problems)
    if not commands or commands[-1] != "sudo mailinit clean":
        problems.append("the shell provisioner does not end with `sudo mailinit clean`")
    m = re.search(r'variable "mailinit_version" \{[^}]*default\s*=\s*"([^"]*)"', text)
    if not m or m.group(1) != version:
        problems.append(f"variable mailinit_version: default is not {version}")


def main():
    kind, path, version = sys.argv[1:4]
    problems = []
    if kind == "component":
        check_component(path, version, problems)
    elif kind == "packer":
        check_packer(path, version, problems)
    else:
        problems.append(f"unknown kind {kind}")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
