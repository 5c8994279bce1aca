# SPDX-License-Identifier: MIT
"""manpage_check - does mailinit(8) agree with the binary's --help? (test_manpage_help.sh)

Usage: manpage_check.py CHECK MAN_PAGE MAILINIT [SOURCE_DIR]
CHECK is one of:
  commands  every command `mailinit --help` lists has a ".SS mailinit COMMAND" section, and
            every such section is a command --help lists (or is marked pending, see below)
  options   every option `mailinit --help` and `mailinit COMMAND --help` print appears in
            the page (a command's own options in that command's section)
  environ   every environment variable --help names is in ENVIRONMENT
  exits     every exit code --help names is in EXIT STATUS
  keys      every key of common/settings.c's table and of packaging/mailinit.conf is a key
            of the page's "Keys" list
  version   the page's .TH names the version `mailinit --version` prints
Prints one line per disagreement and exits 1 when there is one.

A command that another change adds may be documented before the binary has it, with a line
'.\\" pending-command: NAME (why)'; the check fails once the binary lists NAME, so that the
marker is removed and the command is checked both ways.
"""
import re
import subprocess
import sys

OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][A-Za-z0-9-]*)")


def plain(troff):
    """troff source -> text: escapes resolved, font changes dropped"""
    text = troff.replace("\\-", "-").replace("\\~", " ").replace("\\e", "\\")
    text = re.sub(r"\\f[BIRP]|\\f\(..", "", text)
    text = text.replace("\\(dq", '"').replace("\\(aq", "'")
    text = text.replace("\\(lq", '"').replace("\\(rq", '"')
    return text


def sections(text, macro):
    """{title: body} of every .SH (macro 'SH') or .SS (macro 'SS') section"""
    result, title, body = {}, None, []
    for line in text.splitlines():
        if line.startswith(".SH ") or line.startswith(".SS "):
            if title is not None:
                result[title] = "\n".join(body)
            title, body = None, []
            if line.startswith("." + macro + " "):
                title = line[4:].strip().strip('"')
            continue
        body.append(line)
    if title is not None:
        result[title] = "\n".join(body)
    return result


def run(binary, *args):
    """stdout and stderr of the binary (any exit status: help may go either way)"""
    proc = subprocess.run([binary, *args], capture_output=True, text=True, timeout=30)
    return proc.stdout + proc.stderr


def help_commands(help_text):
    """the commands of `mailinit --help`: lines '  mailinit COMMAND ...'"""
    found = []
    for line in help_text.splitlines():
        m = re.match(r"\s+mailinit\s+([a-z][a-z-]*)\b", line)
        if m and m.group(1) not in found:
            found.append(m.group(1))
    return found


def has_option(text, option):
    return re.search(r"(?<![\w-])" + re.escape(option) + r"(?![\w-])", text) is not None


def main():
    check, page_path, binary = sys.argv[1:4]
    source = sys.argv[4] if len(sys.argv) > 4 else "."
    page = plain(open(page_path, encoding="utf-8").read())
    top = sections(page, "SH")
    subs = sections(page, "SS")
    help_text = run(binary, "--help")
    commands = help_commands(help_text)
    problems = []

    if check == "commands":
        pending = dict(re.findall(r'^\.\\" pending-command: ([a-z-]+) (.*)$', page, re.M))
        if not commands:
            problems.append("mailinit --help lists no command")
        for cmd in commands:
            if "mailinit " + cmd not in subs:
                problems.append(f"--help lists '{cmd}': the page has no '.SS mailinit {cmd}'")
        for title in subs:
            m = re.fullmatch(r"mailinit ([a-z][a-z-]*)", title)
            if not m:
                continue
            cmd = m.group(1)
            if cmd in pending:
                if cmd in commands:
                    problems.append(f"'{cmd}' is in --help now: remove its pending-command line")
            elif cmd not in commands:
                problems.append(f"the page documents 'mailinit {cmd}', which --help does not list")
        for cmd in pending:
            if "mailinit " + cmd not in subs:
                problems.append(f"pending command '{cmd}' has no section")

    elif check == "options":
        for option in OPTION.findall(help_text):
            if not has_option(page, option):
                problems.append(f"mailinit --help: option {option} is not in the page")
        for cmd in commands:
            body = subs.get("mailinit " + cmd, "")
            for option in OPTION.findall(run(binary, cmd, "--help")):
                if not has_option(body, option):
                    problems.append(f"mailinit {cmd} --help: option {option} is not in "
                                    f"the page's section 'mailinit {cmd}'")

    elif check == "environ":
        body = top.get("ENVIRONMENT", "")
        for var in re.findall(r"\b([A-Z][A-Z0-9]*_[A-Z0-9_]+)\b", help_text):
            if not re.search(r"\b" + var + r"\b", body):
                problems.append(f"--help names {var}: not in ENVIRONMENT")

    elif check == "exits":
        body = top.get("EXIT STATUS", "")
        status = re.search(r"Exit status:(.*?)(?:\n[A-Z][a-z]+:|\Z)", help_text, re.S)
        codes = re.findall(r"\b(\d+) [a-z]", status.group(1)) if status else []
        if not codes:
            problems.append("--help names no exit status")
        for code in codes:
            if not re.search(r"^\.B " + code + r"$", body, re.M):
                problems.append(f"--help names exit status {code}: not in EXIT STATUS")

    elif check == "keys":
        body = subs.get("Keys", "")
        page_keys = set()
        for line in body.splitlines():
            if line.startswith(".B ") or line.startswith(".BR "):
                page_keys.update(re.findall(r"\b([a-z][a-z0-9_]*_[a-z0-9_]*|[a-z]+)\b",
                                            line.split(" ", 1)[1]))
        table = open(source + "/common/settings.c", encoding="utf-8").read()
        keys = re.findall(r'^\s*\[SETTING_[A-Z0-9_]+\]\s*=\s*\{"([a-z0-9_]+)"', table, re.M)
        if not keys:
            problems.append("no keys found in common/settings.c")
        conf = open(source + "/packaging/mailinit.conf", encoding="utf-8").read()
        conf_keys = re.findall(r"^#?([a-z][a-z0-9_]*) =", conf, re.M)
        for key in keys:
            if key not in page_keys:
                problems.append(f"key {key} (common/settings.c) is not in the page's Keys")
        for key in conf_keys:
            if key not in page_keys:
                problems.append(f"key {key} (packaging/mailinit.conf) is not in the page's Keys")
            if key not in keys:
                problems.append(f"packaging/mailinit.conf names {key}, which is no key")

    elif check == "version":
        version = run(binary, "--version").split()
        th = re.search(r'^\.TH MAILINIT 8 "[^"]*" "mailinit ([^"]+)"', page, re.M)
        if len(version) != 2 or not th or th.group(1) != version[1]:
            problems.append(f".TH says {th.group(1) if th else '?'}, --version says "
                            f"{' '.join(version)}")
    else:
        problems.append(f"unknown check {check}")

    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
